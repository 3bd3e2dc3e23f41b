"""Alerts on the first confident read, against real PostgreSQL (and the app's outbox relay
to RabbitMQ and Redis): a provisional read that hits a watchlist records the detection and
its alert at once; the tracker's vote then confirms it silently, corrects it or retracts
it with ``AlertUpdated``, never raising a second alert for the same (track, entry). And
the tenant's LPR settings: the API (viewer reads, tenant admin writes, audited, per
tenant) and their effect on matching (confidence threshold, one confusable character)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared_kernel.plates import PlateNumber
from streaming_service.application.ai.detections import NewDetection
from streaming_service.infrastructure.db.models import OutboxEvent
from streaming_service.infrastructure.db.models.ai import Alert, Detection

from .conftest import Server


async def _watchlist(http: httpx.AsyncClient, caller: Any, *entries: tuple[str, str]) -> list[str]:
    wl = (await http.post("/api/ai/watchlists/", headers=caller.headers,
                          json={"name": f"wl-{uuid.uuid4().hex[:6]}"})).json()
    ids = []
    for plate, severity in entries:
        response = await http.post(f"/api/ai/watchlists/{wl['id']}/entries/",
                                   headers=caller.headers,
                                   json={"plate": plate, "severity": severity, "reason": "test"})
        assert response.status_code == 201, response.text
        ids.append(response.json()["id"])
    return ids


def _read(caller: Any, plate: str, detection_id: uuid.UUID, *, confidence: float = 0.9,
          camera_id: uuid.UUID | None = None) -> NewDetection:
    return NewDetection(tenant_id=caller.tenant_id, camera_id=camera_id or uuid.uuid4(),
                        plate=PlateNumber(plate), confidence=confidence,
                        detected_at=datetime.now(UTC), detection_id=detection_id,
                        track_id="t")


async def _events(sessions: async_sessionmaker[AsyncSession],
                  detection_id: uuid.UUID) -> list[tuple[str, dict[str, Any]]]:
    """The detection's events in the outbox (one per event: the domain.events row)."""
    async with sessions() as session:
        rows = (await session.execute(
            select(OutboxEvent).where(OutboxEvent.exchange == "domain.events")
            .order_by(OutboxEvent.created_at))).scalars().all()
    return [(r.event_type, r.envelope["payload"]) for r in rows
            if r.envelope["payload"].get("detection_id") == str(detection_id)]


async def _alerts(sessions: async_sessionmaker[AsyncSession],
                  detection_id: uuid.UUID) -> list[Alert]:
    async with sessions() as session:
        return list((await session.execute(
            select(Alert).where(Alert.detection_id == detection_id))).scalars().all())


async def test_provisional_hit_alerts_at_once_and_a_confirming_vote_adds_no_alert(
    server: Server, http: httpx.AsyncClient, make_caller: Any,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    caller = make_caller("operator")
    (entry,) = await _watchlist(http, caller, ("PRV1A23", "high"))
    recorder = server.app.state.services.recorder
    det = uuid.uuid4()
    early = await recorder.record_provisional(_read(caller, "PRV1A23", det))
    assert early is not None and [a.plate for a in early.alerts] == ["PRV1A23"]
    assert [t for t, _ in await _events(sessions, det)] == ["AlertRaised"], \
        "the alert goes out before the vote; the detection is announced by the vote"
    # The same provisional read again (a retry) records nothing more.
    assert await recorder.record_provisional(_read(caller, "PRV1A23", det)) is None

    voted = await recorder.record(_read(caller, "PRV1A23", det))
    assert voted.alerts == []
    assert [t for t, _ in await _events(sessions, det)] == ["AlertRaised", "PlateDetected"]
    (alert,) = await _alerts(sessions, det)
    assert str(alert.watchlist_entry_id) == entry and alert.status == "new"
    async with sessions() as session:
        row = (await session.execute(select(Detection).where(Detection.id == det))).scalar_one()
    assert row.details["stage"] == "voted"
    # A retried vote is a no-op too.
    assert (await recorder.record(_read(caller, "PRV1A23", det))).events == []
    assert len(await _alerts(sessions, det)) == 1


async def test_a_provisional_read_that_hits_nothing_records_nothing(
    server: Server, make_caller: Any, sessions: async_sessionmaker[AsyncSession],
) -> None:
    caller = make_caller("operator")
    det = uuid.uuid4()
    assert await server.app.state.services.recorder.record_provisional(
        _read(caller, "NON1A23", det)) is None
    async with sessions() as session:
        assert (await session.execute(
            select(Detection).where(Detection.id == det))).scalar_one_or_none() is None


async def test_a_vote_that_changes_the_read_corrects_or_retracts_the_alert(
    server: Server, http: httpx.AsyncClient, make_caller: Any,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    caller = make_caller("operator")
    wildcard, exact, other = await _watchlist(
        http, caller, ("COR1*", "medium"), ("COR1A28", "high"), ("COR1A23", "critical"))
    recorder = server.app.state.services.recorder
    det = uuid.uuid4()
    early = await recorder.record_provisional(_read(caller, "COR1A28", det))
    assert early is not None
    assert {str(a.watchlist_entry_id) for a in early.alerts} == {wildcard, exact}

    voted = await recorder.record(_read(caller, "COR1A23", det))
    events = await _events(sessions, det)
    updates = {p["watchlist_entry_id"]: p for t, p in events if t == "AlertUpdated"}
    assert updates[wildcard]["change"] == "corrected"
    assert updates[wildcard]["plate"] == "COR1A23"
    assert updates[wildcard]["previous_plate"] == "COR1A28"
    assert updates[exact]["change"] == "retracted"
    # The voted plate hits an entry the provisional read did not: that alert is new.
    assert [str(a.watchlist_entry_id) for a in voted.alerts] == [other]
    raised = [p["watchlist_entry_id"] for t, p in events if t == "AlertRaised"]
    assert sorted(raised) == sorted([wildcard, exact, other]), "one alert per entry, ever"
    status = {str(a.watchlist_entry_id): (a.status, a.plate) for a in await _alerts(sessions, det)}
    assert status == {wildcard: ("new", "COR1A23"), exact: ("retracted", "COR1A23"),
                      other: ("new", "COR1A23")}
    # The alert list shows the retraction.
    listed = (await http.get("/api/ai/alerts/", headers=caller.headers,
                             params={"status": "retracted"})).json()
    assert [a["watchlist_entry_id"] for a in listed["results"]] == [exact]


async def test_lpr_settings_are_read_by_viewers_written_by_tenant_admins_and_audited(
    http: httpx.AsyncClient, make_caller: Any, sessions: async_sessionmaker[AsyncSession],
) -> None:
    admin = make_caller("tenant_admin")
    viewer = make_caller("viewer", tenant_id=admin.tenant_id)
    operator = make_caller("operator", tenant_id=admin.tenant_id)
    stranger = make_caller("tenant_admin")
    url = "/api/ai/lpr/settings"
    defaults = {"min_confidence": 0.0, "match_distance": 0, "fuzzy_min_severity": "high"}
    assert (await http.get(url, headers=viewer.headers)).json() == defaults
    body = {"min_confidence": 0.6, "match_distance": 1, "fuzzy_min_severity": "critical"}
    assert (await http.put(url, headers=operator.headers, json=body)).status_code == 403
    assert (await http.put(url, headers=viewer.headers, json=body)).status_code == 403
    saved = await http.put(url, headers=admin.headers, json=body)
    assert saved.status_code == 200 and saved.json() == body
    assert (await http.get(url, headers=viewer.headers)).json() == body
    assert (await http.get(url, headers=stranger.headers)).json() == defaults, "per tenant"
    for bad in ({**body, "match_distance": 2}, {**body, "min_confidence": 1.5},
                {**body, "fuzzy_min_severity": "urgent"}, {**body, "extra": 1}):
        response = await http.put(url, headers=admin.headers, json=bad)
        assert response.status_code == 400, bad
        assert response.json()["error"]["code"] == "validation_error"
    async with sessions() as session:
        rows = (await session.execute(select(OutboxEvent).where(
            OutboxEvent.event_type == "UserActivityRecorded",
            OutboxEvent.tenant_id == admin.tenant_id))).scalars().all()
    audited = [r.envelope["payload"] for r in rows
               if r.envelope["payload"]["action"] == "lpr_settings.update"]
    assert len(audited) == 1
    assert audited[0]["before"] == defaults and audited[0]["after"] == body
    assert audited[0]["user_id"] == str(admin.user_id)


async def test_settings_decide_what_alerts_threshold_and_one_confusable_character(
    server: Server, http: httpx.AsyncClient, make_caller: Any,
) -> None:
    admin = make_caller("tenant_admin")
    high, low = await _watchlist(http, admin, ("FUZ1534", "high"), ("FUZ1578", "low"))
    recorder = server.app.state.services.recorder

    async def hits(plate: str, confidence: float = 0.9) -> list[str]:
        recorded = await recorder.record(_read(admin, plate, uuid.uuid4(),
                                               confidence=confidence))
        return [str(a.watchlist_entry_id) for a in recorded.alerts]

    # Exact matching by default: the fifth-position confusion 5/S misses the stolen car.
    assert await hits("FUZ1S34") == []
    response = await http.put("/api/ai/lpr/settings", headers=admin.headers, json={
        "min_confidence": 0.7, "match_distance": 1, "fuzzy_min_severity": "high"})
    assert response.status_code == 200
    assert await hits("FUZ1S34") == [high]
    assert await hits("FUZ1534") == [high]
    assert await hits("FUZ1S78") == [], "low-severity lists still match exactly"
    assert await hits("FUZ1578") == [low]
    assert await hits("FUZ1X34") == [], "X is not confusable with 5"
    # Below the tenant's threshold: stored, but no alert (provisional or voted).
    assert await hits("FUZ1534", confidence=0.5) == []
    assert await recorder.record_provisional(
        _read(admin, "FUZ1534", uuid.uuid4(), confidence=0.5)) is None
