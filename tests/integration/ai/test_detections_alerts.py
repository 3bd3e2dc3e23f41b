"""record_detection end to end against real PostgreSQL, RabbitMQ, Redis and the object
store, its events delivered through the outbox (the app's in-process relay, or relays run
here): a rolled-back detection announces nothing, a broker outage delays its events but
loses none; detection search (exact, prefix, pg_trgm similarity); alerts listed and
acknowledged."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import aio_pika
import cv2
import httpx
import numpy as np
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared_kernel import bus
from shared_kernel.events import AlertRaised, EventEnvelope, EventPayload, parse_event
from shared_kernel.outbox_relay import BrokerUnavailable
from shared_kernel.plates import PlateNumber
from streaming_service.application.ai.detections import DetectionRecorder, NewDetection
from streaming_service.domain.ai.ports import LIVE_FEED
from streaming_service.infrastructure.db.models import OutboxEvent
from streaming_service.infrastructure.db.models.ai import (
    Alert,
    Detection,
    Watchlist,
    WatchlistEntry,
)
from streaming_service.infrastructure.db.session import create_engine, create_sessionmaker
from streaming_service.infrastructure.live_feed import RedisLiveFeed
from streaming_service.infrastructure.outbox import SqlOutbox
from streaming_service.settings import StreamingSettings
from streaming_service.workers.outbox_relay import build_relays

from .conftest import Server, migrated_database

UNREACHABLE_AMQP = "amqp://guest:guest@127.0.0.1:1/"


class Inbox:
    """Messages of one queue, collected as parsed events with their routing keys."""

    def __init__(self) -> None:
        self.items: list[tuple[str, EventEnvelope]] = []

    async def on_message(self, message: aio_pika.abc.AbstractIncomingMessage) -> None:
        async with message.process():
            self.items.append((message.routing_key or "", parse_event(message.body)))

    async def wait_for(
        self, predicate: Any, timeout: float = 5.0
    ) -> list[tuple[str, EventEnvelope]]:
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            found = [item for item in self.items if predicate(item[1])]
            if found or asyncio.get_running_loop().time() > deadline:
                return found
            await asyncio.sleep(0.05)


@pytest.fixture(scope="module")
async def inboxes(amqp_url: str) -> AsyncIterator[dict[str, Inbox]]:
    connection = await bus.connect(amqp_url)
    channel = await connection.channel()
    spec = bus.domain_events_queue("test-ai")
    queues = await bus.declare_topology(channel, extra_queues=(spec,))
    result: dict[str, Inbox] = {}
    for name in (spec.name, "notifications.email", "notifications.sms"):
        inbox = Inbox()
        await queues[name].consume(inbox.on_message)
        result[name.replace("test-ai.", "")] = inbox
    yield result
    await connection.close()


def _jpeg() -> bytes:
    image = np.full((40, 120, 3), 255, np.uint8)
    cv2.putText(image, "ABC1C34", (5, 28), cv2.FONT_HERSHEY_SIMPLEX, 0.8, (0, 0, 0), 2)
    ok, data = cv2.imencode(".jpg", image)
    assert ok
    return data.tobytes()


async def test_watchlisted_plate_is_stored_published_alerted_and_acknowledged(
    server: Server, http: httpx.AsyncClient, make_caller: Any, inboxes: dict[str, Inbox],
    sessions: async_sessionmaker[AsyncSession], object_store: Any,
) -> None:
    operator = make_caller("operator")
    viewer = make_caller("viewer", tenant_id=operator.tenant_id)
    wl = (await http.post("/api/ai/watchlists/", headers=operator.headers,
                          json={"name": "Stolen"})).json()
    # Listed in the old layout; the camera reads the Mercosul plate of the same car.
    entry = (await http.post(f"/api/ai/watchlists/{wl['id']}/entries/", headers=operator.headers,
                             json={"plate": "ABC1234", "reason": "stolen 2024-11",
                                   "severity": "high"})).json()
    camera_id = uuid.uuid4()
    recorded = await server.app.state.services.recorder.record(NewDetection(
        tenant_id=operator.tenant_id, camera_id=camera_id, plate=PlateNumber("ABC1C34"),
        confidence=0.93, detected_at=datetime.now(UTC), crop_jpeg=_jpeg(),
        bbox=[10.0, 20.0, 130.0, 60.0], track_id="t1", reads=5,
    ))
    detection_id = recorded.detection.id

    async with sessions() as session:
        row = (await session.execute(select(Detection).where(Detection.id == detection_id))
               ).scalar_one()
        assert row.plate == "ABC1C34" and row.plate_style == "mercosul"
        alert = (await session.execute(select(Alert).where(Alert.detection_id == detection_id))
                 ).scalar_one()
        assert alert.watchlist_entry_id == uuid.UUID(entry["id"]) and alert.status == "new"
    assert await object_store.get_bytes("lpr-images", row.crop_key) == _jpeg()

    domain = inboxes["domain.events"]
    detected = await domain.wait_for(lambda e: e.type == "PlateDetected"
                                     and e.payload["detection_id"] == str(detection_id))
    raised = await domain.wait_for(lambda e: e.type == "AlertRaised"
                                   and e.payload["detection_id"] == str(detection_id))
    assert detected and raised
    assert detected[0][1].payload["crop_url"] == f"/api/ai/detections/{detection_id}/crop"
    assert raised[0][1].payload["severity"] == "high"
    email = await inboxes["notifications.email"].wait_for(
        lambda e: e.payload.get("detection_id") == str(detection_id))
    sms = await inboxes["notifications.sms"].wait_for(
        lambda e: e.payload.get("detection_id") == str(detection_id))
    assert email[0][0] == f"alerts.{operator.tenant_id}.high"
    assert sms, "high alerts go to SMS too"

    crop = await http.get(f"/api/ai/detections/{detection_id}/crop", headers=viewer.headers)
    assert crop.status_code == 200 and crop.headers["content-type"] == "image/jpeg"

    alerts = await http.get("/api/ai/alerts/?status=new", headers=viewer.headers)
    assert [a["id"] for a in alerts.json()["results"]] == [str(alert.id)]
    # Filtered by the camera: this one's alert, none of another camera's.
    for camera, expected in ((camera_id, [str(alert.id)]), (uuid.uuid4(), [])):
        by_camera = await http.get(f"/api/ai/alerts/?camera_id={camera}&status=new",
                                   headers=viewer.headers)
        assert [a["id"] for a in by_camera.json()["results"]] == expected
    forbidden = await http.post(f"/api/ai/alerts/{alert.id}/ack", headers=viewer.headers)
    assert forbidden.status_code == 403
    stranger = make_caller("operator")
    hidden = await http.post(f"/api/ai/alerts/{alert.id}/ack", headers=stranger.headers)
    assert hidden.status_code == 404

    first = await http.post(f"/api/ai/alerts/{alert.id}/ack", headers=operator.headers)
    assert first.status_code == 200, first.text
    assert first.json()["status"] == "acknowledged"
    assert first.json()["acknowledged_by"] == str(operator.user_id)
    second = await http.post(f"/api/ai/alerts/{alert.id}/ack", headers=operator.headers)
    assert second.status_code == 200
    assert second.json()["acknowledged_at"] == first.json()["acknowledged_at"]
    acks = await domain.wait_for(lambda e: e.type == "AlertAcknowledged"
                                 and e.payload["alert_id"] == str(alert.id))
    await asyncio.sleep(0.3)
    acks = [a for a in domain.items if a[1].type == "AlertAcknowledged"
            and a[1].payload["alert_id"] == str(alert.id)]
    assert len(acks) == 1, "a repeated acknowledgement is not audited twice"
    assert acks[0][1].payload["user_id"] == str(operator.user_id)
    # The audit log records the change with the client's address (version 2).
    assert acks[0][1].version == 2 and acks[0][1].payload["ip"] == "127.0.0.1"
    assert (await http.get("/api/ai/alerts/?status=new", headers=viewer.headers)
            ).json()["count"] == 0


async def _watch(sessions: async_sessionmaker[AsyncSession], tenant_id: uuid.UUID,
                 plate: str, severity: str = "high") -> None:
    async with sessions() as session, session.begin():
        watchlist = Watchlist(id=uuid.uuid4(), tenant_id=tenant_id, name=f"wl-{plate}")
        session.add(watchlist)
        await session.flush()
        session.add(WatchlistEntry(id=uuid.uuid4(), watchlist_id=watchlist.id,
                                   tenant_id=tenant_id, plate_pattern=plate, is_exact=True,
                                   reason="stolen", severity=severity))


def _about(detection_id: uuid.UUID) -> Any:
    return lambda e: e.payload.get("detection_id") == str(detection_id)


async def _outbox_rows(sessions: async_sessionmaker[AsyncSession],
                       detection_id: uuid.UUID) -> list[OutboxEvent]:
    async with sessions() as session:
        rows = (await session.execute(select(OutboxEvent))).scalars().all()
    return [r for r in rows
            if r.envelope["payload"].get("detection_id") == str(detection_id)]


class FailsAfterTheAlert(SqlOutbox):
    """The change fails once every event of the detection is in the transaction."""

    async def add(self, session: AsyncSession, payload: EventPayload, **kwargs: Any
                  ) -> EventEnvelope:
        envelope = await super().add(session, payload, **kwargs)
        if isinstance(payload, AlertRaised):
            raise RuntimeError("the transaction fails after its events were written")
        return envelope


async def test_a_rolled_back_detection_publishes_and_shows_nothing(
    server: Server, make_caller: Any, inboxes: dict[str, Inbox],
    sessions: async_sessionmaker[AsyncSession], object_store: Any,
) -> None:
    caller = make_caller("viewer")
    await _watch(sessions, caller.tenant_id, "RBK1A23")
    live = server.app.state.services.live
    recorder = DetectionRecorder(sessions=sessions, store=object_store,
                                 outbox=FailsAfterTheAlert())
    new = NewDetection(tenant_id=caller.tenant_id, camera_id=uuid.uuid4(),
                       plate=PlateNumber("RBK1A23"), confidence=0.9,
                       detected_at=datetime.now(UTC))
    with pytest.raises(RuntimeError):
        await recorder.record(new)

    async with sessions() as session:
        assert (await session.execute(select(Detection).where(
            Detection.id == new.detection_id))).first() is None
        assert (await session.execute(select(Alert).where(
            Alert.detection_id == new.detection_id))).first() is None
    assert await _outbox_rows(sessions, new.detection_id) == []
    # The app's relay is running: give it time to (not) deliver anything.
    await asyncio.sleep(1.0)
    assert await live.last_id(caller.tenant_id) == "0-0", "nothing on the live feed"
    for inbox in inboxes.values():
        assert [e for _, e in inbox.items if _about(new.detection_id)(e)] == []


@pytest.fixture(scope="module")
async def isolated(streaming_settings: StreamingSettings) -> AsyncIterator[
        tuple[StreamingSettings, async_sessionmaker[AsyncSession]]]:
    """A database no running relay drains: this module's relays are the only ones."""
    with migrated_database() as name:
        settings = streaming_settings.model_copy(update={"streaming_db_name": name})
        engine = create_engine(settings)
        try:
            yield settings, create_sessionmaker(engine)
        finally:
            await engine.dispose()


async def test_with_the_broker_down_a_detection_commits_and_is_delivered_when_it_returns(
    isolated: tuple[StreamingSettings, async_sessionmaker[AsyncSession]], make_caller: Any,
    inboxes: dict[str, Inbox], object_store: Any, redis_client: Any,
) -> None:
    settings, db = isolated
    caller = make_caller("operator")
    await _watch(db, caller.tenant_id, "OUT4G55", severity="critical")
    live = RedisLiveFeed(redis_client, prefix=settings.redis_prefix)
    recorded = await DetectionRecorder(sessions=db, store=object_store,
                                       outbox=SqlOutbox()).record(NewDetection(
        tenant_id=caller.tenant_id, camera_id=uuid.uuid4(), plate=PlateNumber("OUT4G55"),
        confidence=0.9, detected_at=datetime.now(UTC)))
    detection_id = recorded.detection.id
    assert [e.type for e in recorded.events] == ["PlateDetected", "AlertRaised"]
    destinations = sorted((r.exchange, r.routing_key, r.event_type)
                          for r in await _outbox_rows(db, detection_id))
    assert destinations == sorted([
        (bus.DOMAIN_EVENTS, "", "PlateDetected"), (LIVE_FEED, "", "PlateDetected"),
        (bus.DOMAIN_EVENTS, "", "AlertRaised"), (LIVE_FEED, "", "AlertRaised"),
        (bus.NOTIFICATIONS, f"alerts.{caller.tenant_id}.critical", "AlertRaised")])

    # RabbitMQ is unreachable: the broker lane fails, every broker row stays pending...
    broker, live_lane = build_relays(settings.model_copy(update={"amqp_url": UNREACHABLE_AMQP}),
                                     db, live)
    try:
        with pytest.raises(BrokerUnavailable):
            await broker.drain_once()
        # ...while the live lane still shows the detection and its alert to operators.
        assert await live_lane.drain_once() == 2
    finally:
        await broker.close()
        await live_lane.close()
    async with db() as session:
        assert (await session.execute(select(Detection).where(
            Detection.id == detection_id))).first() is not None
    pending = [r for r in await _outbox_rows(db, detection_id) if r.published_at is None]
    assert {r.exchange for r in pending} == {bus.DOMAIN_EVENTS, bus.NOTIFICATIONS}
    assert len(pending) == 3 and any(r.last_error for r in pending)
    await asyncio.sleep(0.3)
    for inbox in inboxes.values():
        assert [e for _, e in inbox.items if _about(detection_id)(e)] == []

    # The broker is back: each event is delivered, once, to each of its destinations.
    relays = build_relays(settings, db, live)
    try:
        assert [await r.drain_once() for r in relays] == [3, 0]
        assert [await r.drain_once() for r in relays] == [0, 0]
    finally:
        for relay in relays:
            await relay.close()
    domain = inboxes["domain.events"]
    assert await domain.wait_for(lambda e: e.type == "AlertRaised" and _about(detection_id)(e))
    assert await inboxes["notifications.sms"].wait_for(_about(detection_id))
    await asyncio.sleep(0.3)
    got = sorted(e.type for _, e in domain.items if _about(detection_id)(e))
    assert got == ["AlertRaised", "PlateDetected"]
    emails = [(k, e) for k, e in inboxes["notifications.email"].items if _about(detection_id)(e)]
    assert [k for k, _ in emails] == [f"alerts.{caller.tenant_id}.critical"]
    # One event id per fact, whatever the destination.
    assert {e.event_id for _, e in emails} == {recorded.events[1].event_id}
    assert all(r.published_at is not None for r in await _outbox_rows(db, detection_id))
    # The live feed shows each event once; appending one again changes nothing.
    shown = await live.read(caller.tenant_id, "0-0", block_ms=10)
    assert [e.data["event_id"] for e in shown] == [str(e.event_id) for e in recorded.events]
    assert await live.append(recorded.events[0]) == shown[0].id
    assert len(await live.read(caller.tenant_id, "0-0", block_ms=10)) == 2


async def test_recording_the_same_detection_twice_is_a_no_op(
    server: Server, make_caller: Any, sessions: async_sessionmaker[AsyncSession]
) -> None:
    caller = make_caller()
    new = NewDetection(tenant_id=caller.tenant_id, camera_id=uuid.uuid4(),
                       plate=PlateNumber("QWE1R23"), confidence=0.8,
                       detected_at=datetime.now(UTC))
    recorder = server.app.state.services.recorder
    await recorder.record(new)
    again = await recorder.record(new)
    assert again.events == []
    async with sessions() as session:
        rows = (await session.execute(select(Detection).where(Detection.id == new.detection_id))
                ).scalars().all()
    assert len(rows) == 1


async def test_inactive_or_other_tenants_entries_raise_no_alert(
    server: Server, http: httpx.AsyncClient, make_caller: Any,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    owner = make_caller("operator")
    other = make_caller("operator")
    wl = (await http.post("/api/ai/watchlists/", headers=owner.headers,
                          json={"name": "Expired"})).json()
    await http.post(f"/api/ai/watchlists/{wl['id']}/entries/", headers=owner.headers,
                    json={"plate": "KKK9K99", "active_until": "2020-01-01T00:00:00Z"})
    recorder = server.app.state.services.recorder
    mine = await recorder.record(NewDetection(
        tenant_id=owner.tenant_id, camera_id=uuid.uuid4(), plate=PlateNumber("KKK9K99"),
        confidence=0.9, detected_at=datetime.now(UTC)))
    theirs = await recorder.record(NewDetection(
        tenant_id=other.tenant_id, camera_id=uuid.uuid4(), plate=PlateNumber("KKK9K99"),
        confidence=0.9, detected_at=datetime.now(UTC)))
    assert mine.alerts == [] and theirs.alerts == []


async def test_wildcard_entry_matches(server: Server, http: httpx.AsyncClient,
                                      make_caller: Any) -> None:
    owner = make_caller("operator")
    wl = (await http.post("/api/ai/watchlists/", headers=owner.headers,
                          json={"name": "Fleet"})).json()
    await http.post(f"/api/ai/watchlists/{wl['id']}/entries/", headers=owner.headers,
                    json={"plate": "GOV*", "severity": "low", "reason": "fleet"})
    hit = await server.app.state.services.recorder.record(NewDetection(
        tenant_id=owner.tenant_id, camera_id=uuid.uuid4(), plate=PlateNumber("GOV4B21"),
        confidence=0.9, detected_at=datetime.now(UTC)))
    assert [a.severity for a in hit.alerts] == ["low"]


@pytest.fixture(scope="module")
async def search_tenant(server: Server, make_caller: Any) -> dict[str, Any]:
    caller = make_caller("viewer")
    cam_a, cam_b = uuid.uuid4(), uuid.uuid4()
    base = datetime(2025, 3, 10, 12, 0, tzinfo=UTC)
    recorder = server.app.state.services.recorder
    plates = [("ABC1D23", cam_a, 0), ("ABC1323", cam_b, 1), ("ABC1D24", cam_a, 2),
              ("ABD1D23", cam_b, 3), ("XYZ9876", cam_a, 4), ("ABZ1234", cam_a, 40 * 24 * 60)]
    for plate, cam, minutes in plates:
        await recorder.record(NewDetection(
            tenant_id=caller.tenant_id, camera_id=cam, plate=PlateNumber(plate),
            confidence=0.9, detected_at=base + timedelta(minutes=minutes)))
    # The same plate at another tenant must never show up.
    await recorder.record(NewDetection(
        tenant_id=uuid.uuid4(), camera_id=uuid.uuid4(), plate=PlateNumber("ABC1D23"),
        confidence=0.9, detected_at=base))
    return {"caller": caller, "cam_a": cam_a, "cam_b": cam_b, "base": base}


async def _plates(http: httpx.AsyncClient, caller: Any, **params: Any) -> list[str]:
    response = await http.get("/api/ai/detections/", headers=caller.headers, params=params)
    assert response.status_code == 200, response.text
    return [d["plate"] for d in response.json()["results"]]


async def test_exact_search_finds_both_layouts(http: httpx.AsyncClient,
                                               search_tenant: dict[str, Any]) -> None:
    caller = search_tenant["caller"]
    assert sorted(await _plates(http, caller, plate="ABC1D23")) == ["ABC1323", "ABC1D23"]
    assert sorted(await _plates(http, caller, plate="abc-1323")) == ["ABC1323", "ABC1D23"]


async def test_prefix_search(http: httpx.AsyncClient, search_tenant: dict[str, Any]) -> None:
    caller = search_tenant["caller"]
    assert await _plates(http, caller, plate="ABC*") == ["ABC1D24", "ABC1323", "ABC1D23"]
    assert sorted(await _plates(http, caller, plate="AB*")) == [
        "ABC1323", "ABC1D23", "ABC1D24", "ABD1D23", "ABZ1234"]
    # A prefix reaching the fifth character matches both layouts too.
    assert sorted(await _plates(http, caller, plate="ABC1D*")) == [
        "ABC1323", "ABC1D23", "ABC1D24"]


async def test_similar_search_orders_by_score(http: httpx.AsyncClient,
                                              search_tenant: dict[str, Any]) -> None:
    caller = search_tenant["caller"]
    response = await http.get("/api/ai/detections/", headers=caller.headers,
                              params={"plate": "~ABC1D23"})
    items = response.json()["results"]
    plates = [d["plate"] for d in items]
    assert plates[0] in {"ABC1D23", "ABC1323"} and plates[1] in {"ABC1D23", "ABC1323"}
    assert set(plates) >= {"ABC1D24", "ABD1D23"} and "XYZ9876" not in plates
    scores = [d["score"] for d in items]
    assert scores == sorted(scores, reverse=True) and scores[0] == 1.0


async def test_camera_and_time_filters_and_pagination(
    http: httpx.AsyncClient, search_tenant: dict[str, Any]
) -> None:
    caller, base = search_tenant["caller"], search_tenant["base"]
    cam_b = str(search_tenant["cam_b"])
    assert sorted(await _plates(http, caller, camera_id=cam_b)) == ["ABC1323", "ABD1D23"]
    window = {"start": (base + timedelta(minutes=1)).isoformat(),
              "end": (base + timedelta(minutes=3)).isoformat()}
    assert await _plates(http, caller, **window) == ["ABD1D23", "ABC1D24", "ABC1323"]
    page = await http.get("/api/ai/detections/", headers=caller.headers,
                          params={"page": 2, "page_size": 4})
    body = page.json()
    assert body["count"] == 6 and len(body["results"]) == 2
    assert (body["page"], body["page_size"], body["next"]) == (2, 4, None)
    previous = httpx.URL(body["previous"])
    assert previous.params["page"] == "1" and previous.params["page_size"] == "4"


async def test_inverted_range_and_bad_plate_queries_are_400(
    http: httpx.AsyncClient, search_tenant: dict[str, Any]
) -> None:
    caller, base = search_tenant["caller"], search_tenant["base"]
    inverted = await http.get("/api/ai/detections/", headers=caller.headers, params={
        "start": base.isoformat(), "end": (base - timedelta(hours=1)).isoformat()})
    assert inverted.status_code == 400
    assert inverted.json()["error"]["code"] == "invalid_time_range"
    for bad in ("NOTAPLATE", "~A", "*", "A%*"):
        response = await http.get("/api/ai/detections/", headers=caller.headers,
                                  params={"plate": bad})
        assert response.status_code == 400, (bad, response.text)
    naive = await http.get("/api/ai/detections/", headers=caller.headers,
                           params={"start": "2025-01-01T00:00:00"})
    assert naive.status_code == 400


async def test_other_tenants_detection_is_404(http: httpx.AsyncClient, server: Server,
                                              make_caller: Any) -> None:
    owner, stranger = make_caller("viewer"), make_caller("viewer")
    recorded = await server.app.state.services.recorder.record(NewDetection(
        tenant_id=owner.tenant_id, camera_id=uuid.uuid4(), plate=PlateNumber("MNO5P67"),
        confidence=0.9, detected_at=datetime.now(UTC), crop_jpeg=_jpeg()))
    for path in (f"/api/ai/detections/{recorded.detection.id}",
                 f"/api/ai/detections/{recorded.detection.id}/crop"):
        assert (await http.get(path, headers=stranger.headers)).status_code == 404
        assert (await http.get(path, headers=owner.headers)).status_code == 200


async def test_the_databases_neighbour_keys_are_the_domains(
    server: Server, search_tenant: dict[str, Any]
) -> None:
    """``plate_keys`` is generated by PostgreSQL; it must agree with the Python rule."""
    from sqlalchemy import select

    from streaming_service.domain.ai.watchlist import plate_neighbour_keys
    from streaming_service.infrastructure.db.models.ai import Detection

    async with server.app.state.services.sessions() as session:
        rows = (await session.execute(
            select(Detection.plate, Detection.plate_keys)
            .where(Detection.tenant_id == search_tenant["caller"].tenant_id))).all()
    assert len(rows) == 6
    assert all(list(keys) == list(plate_neighbour_keys(plate)) for plate, keys in rows)


async def test_similar_search_of_a_whole_plate_is_one_character_and_of_a_part_is_trigrams(
    http: httpx.AsyncClient, search_tenant: dict[str, Any]
) -> None:
    caller = search_tenant["caller"]
    # ABD1D24 is two characters from every stored plate: nothing.
    assert await _plates(http, caller, plate="~ABX1D29") == []
    assert sorted(await _plates(http, caller, plate="~ABD1D24")) == [
        "ABC1D24", "ABD1D23"]
    partial = await _plates(http, caller, plate="~ABC1D")
    assert "ABC1D23" in partial and "XYZ9876" not in partial


async def test_a_plate_search_counts_every_page_the_same_even_past_the_last(
    http: httpx.AsyncClient, search_tenant: dict[str, Any]
) -> None:
    # Plate searches read the page and its total in one statement; past the last page no
    # row carries the total, and it is counted on its own (the page does not exist: 404).
    caller = search_tenant["caller"]
    pages = []
    for number in (1, 2):
        response = await http.get("/api/ai/detections/", headers=caller.headers,
                                  params={"plate": "ABC1*", "page": number, "page_size": 2})
        assert response.status_code == 200, response.text
        pages.append(response.json())
    assert [p["count"] for p in pages] == [3, 3]
    assert [len(p["results"]) for p in pages] == [2, 1]
    past = await http.get("/api/ai/detections/", headers=caller.headers,
                          params={"plate": "ABC1*", "page": 3, "page_size": 2})
    assert past.status_code == 404 and past.json()["error"]["code"]
    similar = await http.get("/api/ai/detections/", headers=caller.headers,
                             params={"plate": "~ABC1D23", "page": 2, "page_size": 1})
    everything = await http.get("/api/ai/detections/", headers=caller.headers,
                                params={"plate": "~ABC1D23"})
    assert similar.json()["count"] == everything.json()["count"] >= 4
    assert similar.json()["results"][0] == everything.json()["results"][1]
