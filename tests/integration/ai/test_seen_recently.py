""""Seen recently": a watchlist entry added while the car keeps passing (or is parked) is
matched against the plates the tenant's cameras saw in the last minutes (Redis, written by
the recorder and the LPR workers) and alerts once, on that plate's latest detection.
Real PostgreSQL and Redis; the app's composition root wires it."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared_kernel.plates import PlateNumber
from streaming_service.application.ai.detections import NewDetection
from streaming_service.infrastructure.db.models import OutboxEvent
from streaming_service.infrastructure.db.models.ai import Alert

from .conftest import Server


async def _add_entry(http: httpx.AsyncClient, caller: Any, plate: str) -> str:
    wl = (await http.post("/api/ai/watchlists/", headers=caller.headers,
                          json={"name": f"wl-{uuid.uuid4().hex[:6]}"})).json()
    response = await http.post(f"/api/ai/watchlists/{wl['id']}/entries/",
                               headers=caller.headers,
                               json={"plate": plate, "severity": "high", "reason": "late"})
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def _alerts_of_entry(sessions: async_sessionmaker[AsyncSession],
                           entry_id: str) -> list[Alert]:
    async with sessions() as session:
        return list((await session.execute(select(Alert).where(
            Alert.watchlist_entry_id == uuid.UUID(entry_id)))).scalars().all())


async def test_a_plate_seen_minutes_ago_alerts_once_when_it_is_listed(
    server: Server, http: httpx.AsyncClient, make_caller: Any,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    caller = make_caller("operator")
    camera_id = uuid.uuid4()
    recorded = await server.app.state.services.recorder.record(NewDetection(
        tenant_id=caller.tenant_id, camera_id=camera_id, plate=PlateNumber("SEE1A23"),
        confidence=0.9, detected_at=datetime.now(UTC) - timedelta(minutes=2)))
    assert recorded.alerts == []  # not listed yet

    # Listed in the old layout: the same car.
    entry = await _add_entry(http, caller, "SEE1023")
    (alert,) = await _alerts_of_entry(sessions, entry)
    assert alert.detection_id == recorded.detection.id and alert.camera_id == camera_id
    async with sessions() as session:
        raised = (await session.execute(select(OutboxEvent).where(
            OutboxEvent.event_type == "AlertRaised", OutboxEvent.exchange == "domain.events",
            OutboxEvent.tenant_id == caller.tenant_id))).scalars().all()
    assert [r.envelope["payload"]["watchlist_entry_id"] for r in raised] == [entry]
    listed = (await http.get("/api/ai/alerts/", headers=caller.headers)).json()
    assert [a["id"] for a in listed["results"]] == [str(alert.id)]

    # Another list with the same plate: its own single alert; the first stays single.
    second = await _add_entry(http, caller, "SEE1A23")
    assert len(await _alerts_of_entry(sessions, second)) == 1
    assert len(await _alerts_of_entry(sessions, entry)) == 1


async def test_a_parked_car_still_in_view_alerts_on_its_old_detection(
    server: Server, http: httpx.AsyncClient, make_caller: Any,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    caller = make_caller("operator")
    camera_id = uuid.uuid4()
    services = server.app.state.services
    arrived = await services.recorder.record(NewDetection(
        tenant_id=caller.tenant_id, camera_id=camera_id, plate=PlateNumber("PRK2B34"),
        confidence=0.9, detected_at=datetime.now(UTC) - timedelta(hours=3)))
    # The worker keeps reporting the plate while it stays in view (de-duplicated reads).
    await services.recent_plates.seen(caller.tenant_id, camera_id, {"PRK2B34": time.time()})
    entry = await _add_entry(http, caller, "PRK2*")
    (alert,) = await _alerts_of_entry(sessions, entry)
    assert alert.detection_id == arrived.detection.id


async def test_plates_seen_before_the_window_or_by_another_tenant_raise_nothing(
    server: Server, http: httpx.AsyncClient, make_caller: Any,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    caller = make_caller("operator")
    stranger = make_caller("operator")
    services = server.app.state.services
    window = services.settings.lpr_seen_recently_minutes
    for tenant, plate, minutes_ago in ((caller.tenant_id, "OLD3C45", window + 5),
                                       (stranger.tenant_id, "OTH4D56", 1)):
        camera_id = uuid.uuid4()
        at = datetime.now(UTC) - timedelta(minutes=minutes_ago)
        await services.recorder.record(NewDetection(
            tenant_id=tenant, camera_id=camera_id, plate=PlateNumber(plate),
            confidence=0.9, detected_at=at))
        await services.recent_plates.seen(tenant, camera_id, {plate: at.timestamp()})
    assert await _alerts_of_entry(sessions, await _add_entry(http, caller, "OLD3C45")) == []
    assert await _alerts_of_entry(sessions, await _add_entry(http, caller, "OTH4D56")) == []


async def test_the_tenants_match_distance_applies_to_plates_seen_recently(
    server: Server, http: httpx.AsyncClient, make_caller: Any,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    """A plate read with one confusable character (``FZY1S34`` for ``FZY1534``) hits a
    new high-severity entry only where the tenant accepts a distance of 1."""
    services = server.app.state.services
    strict = make_caller("operator")
    lenient = make_caller("operator")
    admin = make_caller("tenant_admin", tenant_id=lenient.tenant_id)
    response = await http.put("/api/ai/lpr/settings", headers=admin.headers,
                              json={"min_confidence": 0.5, "match_distance": 1,
                                    "fuzzy_min_severity": "high"})
    assert response.status_code == 200, response.text
    for caller in (strict, lenient):
        camera_id = uuid.uuid4()
        at = datetime.now(UTC) - timedelta(minutes=1)
        await services.recorder.record(NewDetection(
            tenant_id=caller.tenant_id, camera_id=camera_id, plate=PlateNumber("FZY1S34"),
            confidence=0.9, detected_at=at))
        await services.recent_plates.seen(caller.tenant_id, camera_id,
                                          {"FZY1S34": at.timestamp()})
    assert await _alerts_of_entry(sessions, await _add_entry(http, strict, "FZY1534")) == []
    (alert,) = await _alerts_of_entry(sessions, await _add_entry(http, lenient, "FZY1534"))
    assert alert.tenant_id == lenient.tenant_id
