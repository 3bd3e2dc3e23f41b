"""LGPD data lifecycle of plate reads, against the real database, object store and API:
per-tenant retention with the alert evidence kept, purge runs audited with counts, and
data-subject exports and erasure (roles, reasons, audit, tenant isolation)."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared_kernel.plates import PlateNumber
from streaming_service.application.ai.detections import NewDetection
from streaming_service.infrastructure.db.models.ai import (
    Alert,
    Detection,
    Watchlist,
    WatchlistEntry,
)
from streaming_service.workers import retention
from tests.integration.ai.conftest import Server, audit_records

JPEG = b"\xff\xd8\xff\xe0 not really a jpeg, but bytes the store keeps \xff\xd9"
NOW = datetime.now(UTC)


async def _watch(sessions: async_sessionmaker[AsyncSession], tenant_id: uuid.UUID,
                 plate: str) -> None:
    async with sessions() as session, session.begin():
        watchlist = Watchlist(id=uuid.uuid4(), tenant_id=tenant_id, name=f"wl-{plate}")
        session.add(watchlist)
        await session.flush()
        session.add(WatchlistEntry(id=uuid.uuid4(), watchlist_id=watchlist.id,
                                   tenant_id=tenant_id, plate_pattern=plate, is_exact=True,
                                   reason="stolen", severity="high"))


async def _read(server: Server, tenant_id: uuid.UUID, plate: str, days_ago: float,
                camera_id: uuid.UUID | None = None) -> Detection:
    recorded = await server.app.state.services.recorder.record(NewDetection(
        tenant_id=tenant_id, camera_id=camera_id or uuid.uuid4(), plate=PlateNumber(plate),
        confidence=0.9, detected_at=NOW - timedelta(days=days_ago), crop_jpeg=JPEG))
    detection: Detection = recorded.detection
    return detection


async def _exists(sessions: async_sessionmaker[AsyncSession], detection_id: uuid.UUID) -> bool:
    async with sessions() as session:
        return (await session.scalar(select(Detection.id).where(Detection.id == detection_id))
                ) is not None


async def _audit(sessions: async_sessionmaker[AsyncSession], tenant_id: uuid.UUID,
                 action: str) -> list[dict[str, Any]]:
    return await audit_records(sessions, tenant_id=str(tenant_id), action=action)


async def test_retention_purges_old_reads_and_crops_but_keeps_alert_evidence(
    server: Server, http: httpx.AsyncClient, make_caller: Any,
    sessions: async_sessionmaker[AsyncSession], object_store: Any,
) -> None:
    admin = make_caller("tenant_admin")
    other = make_caller("tenant_admin")  # keeps the default retention (90 days)
    policy = await http.put("/api/ai/data-policy", headers=admin.headers,
                            json={"detection_retention_days": 30})
    assert policy.status_code == 200, policy.text
    assert policy.json() == {"detection_retention_days": 30, "custom": True, "default_days": 90}
    await _watch(sessions, admin.tenant_id, "RIO2A18")

    expired = await _read(server, admin.tenant_id, "ABC1234", days_ago=40)
    evidence = await _read(server, admin.tenant_id, "RIO2A18", days_ago=45)
    recent = await _read(server, admin.tenant_id, "ABC1234", days_ago=5)
    others = await _read(server, other.tenant_id, "ABC1234", days_ago=40)
    assert expired.crop_key and evidence.crop_key
    async with sessions() as session:
        alert = (await session.execute(select(Alert).where(
            Alert.detection_id == evidence.id))).scalar_one()

    report = await retention.run(server.app.state.services, asyncio.Event(), once=True)
    assert report is not None and report.plate_reads is not None
    async with sessions() as session:
        pending = (await session.execute(text(
            "SELECT count(*) FROM ai.detection_daily_delta WHERE tenant_id = :t"),
            {"t": admin.tenant_id})).scalar()
    assert pending == 0, "the pass folds the reports' pending daily counts"

    assert not await _exists(sessions, expired.id)
    assert not await object_store.exists("lpr-images", expired.crop_key)
    assert await _exists(sessions, evidence.id), "an alert's detection is evidence"
    assert await object_store.exists("lpr-images", evidence.crop_key)
    assert alert.crop_key is None or await object_store.exists("lpr-images", alert.crop_key)
    assert await _exists(sessions, recent.id)
    assert await _exists(sessions, others.id), "the other tenant keeps 90 days"

    mine = next(t for t in report.plate_reads.tenants if t.tenant_id == admin.tenant_id)
    assert (mine.detections, mine.crops, mine.kept_for_alerts, mine.failed) == (1, 1, 1, 0)
    purges = await _audit(sessions, admin.tenant_id, "detection.purge")
    assert len(purges) == 1
    assert purges[0]["username"] == "system:retention" and purges[0]["user_id"] is None
    assert purges[0]["after"]["detections"] == 1 and purges[0]["after"]["crops"] == 1
    assert purges[0]["after"]["retention_days"] == 30
    changes = await _audit(sessions, admin.tenant_id, "data_policy.update")
    assert changes[0]["before"] == {"detection_retention_days": 90, "custom": False}
    assert changes[0]["after"] == {"detection_retention_days": 30, "custom": True}

    # The alert's evidence goes once the alert does (alerts have their own lifecycle).
    async with sessions() as session, session.begin():
        await session.delete(await session.get(Alert, alert.id))
    await retention.run(server.app.state.services, asyncio.Event(), once=True)
    assert not await _exists(sessions, evidence.id)
    assert not await object_store.exists("lpr-images", evidence.crop_key)
    assert len(await _audit(sessions, admin.tenant_id, "detection.purge")) == 2
    # Nothing left to purge: no new audit record.
    await retention.run(server.app.state.services, asyncio.Event(), once=True)
    assert len(await _audit(sessions, admin.tenant_id, "detection.purge")) == 2


async def test_data_policy_needs_a_tenant_admin_and_refuses_bad_values(
    http: httpx.AsyncClient, make_caller: Any,
) -> None:
    operator = make_caller("operator")
    admin = make_caller("tenant_admin")
    assert (await http.get("/api/ai/data-policy", headers=operator.headers)).status_code == 403
    for bad in (0, 3651, "x"):
        response = await http.put("/api/ai/data-policy", headers=admin.headers,
                                  json={"detection_retention_days": bad})
        assert response.status_code == 400, bad
        assert response.json()["error"]["code"] == "validation_error"
    reset = await http.put("/api/ai/data-policy", headers=admin.headers,
                           json={"detection_retention_days": None})
    assert reset.json() == {"detection_retention_days": 90, "custom": False, "default_days": 90}


async def test_subject_export_lists_every_read_of_the_plate_in_the_period_and_is_audited(
    server: Server, http: httpx.AsyncClient, make_caller: Any,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    operator = make_caller("operator")
    viewer = make_caller("viewer", tenant_id=operator.tenant_id)
    stranger = make_caller("operator")
    old_layout = await _read(server, operator.tenant_id, "BRA2E19", days_ago=3)
    mercosul = await _read(server, operator.tenant_id, "BRA2419", days_ago=2)  # same car
    await _read(server, operator.tenant_id, "BRA2E19", days_ago=20)  # outside the period
    await _read(server, operator.tenant_id, "XYZ9K88", days_ago=2)  # another plate
    await _read(server, stranger.tenant_id, "BRA2E19", days_ago=2)  # another tenant
    body = {"plate": "BRA2E19", "start": (NOW - timedelta(days=10)).isoformat(),
            "end": NOW.isoformat(), "reason": "Ofício 123/2026 - 1ª Vara Criminal"}

    refused = await http.post("/api/ai/data-subject/exports", headers=viewer.headers, json=body)
    assert refused.status_code == 403
    response = await http.post("/api/ai/data-subject/exports", headers=operator.headers,
                               json=body)
    assert response.status_code == 200, response.text
    export = response.json()
    assert export["count"] == 2
    assert [r["id"] for r in export["reads"]] == [str(old_layout.id), str(mercosul.id)]
    assert export["reads"][0]["crop_url"] == f"/api/ai/detections/{old_layout.id}/crop"

    records = await _audit(sessions, operator.tenant_id, "detection.subject_export")
    assert len(records) == 1
    assert records[0]["user_id"] == str(operator.user_id)
    assert records[0]["after"]["reason"] == body["reason"]
    assert records[0]["after"]["count"] == 2


async def test_subject_requests_refuse_bad_input_with_the_error_shape(
    http: httpx.AsyncClient, make_caller: Any,
) -> None:
    operator = make_caller("operator")
    good = {"plate": "BRA2E19", "start": (NOW - timedelta(days=1)).isoformat(),
            "end": NOW.isoformat(), "reason": "Ofício 123/2026"}
    cases = [
        ({**good, "plate": "BRA*"}, "validation_error"),
        ({**good, "plate": "BRA2E1*"}, "invalid_plate"),
        ({**good, "plate": "BR@2E19"}, None),
        ({**good, "reason": "short"}, "validation_error"),
        ({**good, "start": NOW.isoformat(), "end": (NOW - timedelta(days=1)).isoformat()},
         "invalid_time_range"),
        ({**good, "start": "2026-01-01T00:00:00"}, "validation_error"),  # naive
        ({**good, "extra": 1}, "validation_error"),
        # No instant in UTC: refused where every date-time of the API is read.
        ({**good, "start": "0001-01-01T00:00:00+14:00"}, "validation_error"),
        ({**good, "start": (NOW - timedelta(days=3651)).isoformat()}, "invalid_time_range"),
    ]
    for body, code in cases:
        response = await http.post("/api/ai/data-subject/exports", headers=operator.headers,
                                   json=body)
        assert response.status_code == 400, (body, response.text)
        assert set(response.json()["error"]) == {"code", "message", "details"}
        if code:
            assert response.json()["error"]["code"] == code, body


async def test_erasure_removes_reads_and_crops_keeps_alerted_ones_and_is_audited(
    server: Server, http: httpx.AsyncClient, make_caller: Any,
    sessions: async_sessionmaker[AsyncSession], object_store: Any,
) -> None:
    admin = make_caller("tenant_admin")
    operator = make_caller("operator", tenant_id=admin.tenant_id)
    stranger = make_caller("tenant_admin")
    plain = await _read(server, admin.tenant_id, "QRS4567", days_ago=1)
    # Watched from now on: the next read of the same car raises an alert.
    await _watch(sessions, admin.tenant_id, "QRS4567")
    alerted = await _read(server, admin.tenant_id, "QRS4F67", days_ago=1)
    theirs = await _read(server, stranger.tenant_id, "QRS4567", days_ago=1)
    body = {"plate": "QRS4567", "start": (NOW - timedelta(days=2)).isoformat(),
            "end": NOW.isoformat(), "reason": "Pedido do titular, protocolo 2026-77",
            "legal_basis": "LGPD art. 18, VI"}

    assert (await http.post("/api/ai/data-subject/erasures", headers=operator.headers,
                            json=body)).status_code == 403
    response = await http.post("/api/ai/data-subject/erasures", headers=admin.headers, json=body)
    assert response.status_code == 200, response.text
    assert response.json() == {"plate": "QRS4567", "erased": 1, "crops_deleted": 1,
                               "kept_for_alerts": 1, "failed": 0}
    assert not await _exists(sessions, plain.id)
    assert plain.crop_key and not await object_store.exists("lpr-images", plain.crop_key)
    assert await _exists(sessions, alerted.id)
    assert await _exists(sessions, theirs.id), "another tenant's reads are untouched"

    records = await _audit(sessions, admin.tenant_id, "detection.subject_erase")
    assert len(records) == 1
    assert records[0]["user_id"] == str(admin.user_id)
    assert records[0]["after"]["legal_basis"] == "LGPD art. 18, VI"
    assert (records[0]["after"]["erased"], records[0]["after"]["kept_for_alerts"]) == (1, 1)
