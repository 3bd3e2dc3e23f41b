"""Reports aggregate in SQL in the tenant's time zone, never across tenants:
``/api/ai/reports/traffic``, ``/alerts``, ``/plate-history`` (audited) and
``/api/streaming/reports/availability``, against the real database."""

from __future__ import annotations

import io
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pypdf
import pytest
from sqlalchemy import text

from streaming_service.infrastructure.db.models import Recording
from streaming_service.infrastructure.db.models.ai import Alert, Detection, Watchlist
from streaming_service.infrastructure.db.partitions import ensure_month_partition
from tests.integration.streaming.conftest import EventTap, TokenFactory, bearer

T0 = datetime(2026, 3, 2, tzinfo=UTC)
# São Paulo (UTC-3): 2026-03-01 00:00 to 2026-03-03 00:00 local.
RANGE = {"start": "2026-03-01T00:00:00-03:00", "end": "2026-03-03T00:00:00-03:00"}


@pytest.fixture(scope="module")
async def world(seed_camera: Any, app_services: Any) -> dict[str, Any]:
    a = await seed_camera(recording_mode="continuous")
    b = await seed_camera(a.tenant_id)
    other = await seed_camera()
    sessions = app_services.sessions
    await ensure_month_partition(app_services.db, T0)
    async with sessions() as session, session.begin():
        await session.execute(text("SELECT ai.ensure_detections_partition(:at)"), {"at": T0})

    def detection(cam: Any, at: datetime, plate: str) -> Detection:
        return Detection(id=uuid.uuid4(), detected_at=at, tenant_id=cam.tenant_id,
                         camera_id=cam.camera_id, plate=plate, plate_style="mercosul",
                         confidence=0.9, reads=1, details={})

    watchlist = Watchlist(id=uuid.uuid4(), tenant_id=a.tenant_id, name="Roubados")

    def alert(at: datetime, severity: str, acked_after: float | None) -> Alert:
        return Alert(id=uuid.uuid4(), tenant_id=a.tenant_id, detection_id=uuid.uuid4(),
                     watchlist_entry_id=uuid.uuid4(), watchlist_id=watchlist.id,
                     camera_id=a.camera_id, plate="ABC1D23", severity=severity,
                     status="acknowledged" if acked_after is not None else "new", raised_at=at,
                     acknowledged_at=at + timedelta(seconds=acked_after)
                     if acked_after is not None else None)

    def segment(start: datetime) -> Recording:
        return Recording(id=uuid.uuid4(), tenant_id=a.tenant_id, camera_id=a.camera_id,
                         started_at=start, ended_at=start + timedelta(minutes=1),
                         object_key=f"k/{uuid.uuid4()}", size_bytes=1000)

    async with sessions() as session, session.begin():
        session.add_all([
            detection(a, T0 + timedelta(hours=2, minutes=30), "ABC1D23"),  # Sun 23:30 local
            detection(a, T0 + timedelta(hours=4), "ABC1D23"),  # Mon 01:00 local
            detection(b, T0 + timedelta(hours=15, minutes=10), "XYZ9876"),  # Mon 12:10
            detection(other, T0 + timedelta(hours=15), "ABC1D23"),  # another tenant
            watchlist,
        ])
        await session.flush()
        session.add_all([
            alert(T0 + timedelta(hours=10), "high", 60),
            alert(T0 + timedelta(hours=11), "high", 120),
            alert(T0 + timedelta(hours=12), "critical", 300),
            alert(T0 + timedelta(hours=13), "critical", None),
            alert(T0 - timedelta(days=20), "low", None),  # before the range, still open
            segment(T0 + timedelta(hours=10)),
            segment(T0 + timedelta(hours=10, minutes=1)),
            segment(T0 + timedelta(hours=10, minutes=10)),  # after an 8-minute outage
        ])
    return {"a": a, "b": b, "other": other, "watchlist": watchlist}


def _operator(make_token: TokenFactory, tenant: uuid.UUID) -> dict[str, str]:
    return bearer(make_token(roles=("operator",), tenant_id=tenant))


async def test_traffic_is_bucketed_in_the_tenants_time_zone(
    client: httpx.AsyncClient, make_token: TokenFactory, world: dict[str, Any]
) -> None:
    a, b = world["a"], world["b"]
    response = await client.get("/api/ai/reports/traffic", params={**RANGE, "bucket": "day"},
                                headers=_operator(make_token, a.tenant_id))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["timezone"] == "America/Sao_Paulo"
    assert [(p["bucket_start"], p["camera_id"], p["reads"]) for p in body["series"]] == sorted([
        ("2026-03-01T00:00", str(a.camera_id), 1),
        ("2026-03-02T00:00", str(a.camera_id), 1),
        ("2026-03-02T00:00", str(b.camera_id), 1),
    ])
    assert sorted((c["weekday"], c["hour"], c["reads"]) for c in body["heatmap"]) == [
        (0, 23, 1), (1, 1, 1), (1, 12, 1)]
    assert [(c["camera_id"], c["reads"]) for c in body["busiest"]] == [
        (str(a.camera_id), 2), (str(b.camera_id), 1)]
    assert body["busiest"][0]["camera_name"].startswith("Cam ")
    assert body["total_reads"] == 3
    plates = (await client.get("/api/ai/reports/plates", params=RANGE,
                               headers=_operator(make_token, a.tenant_id))).json()
    assert (plates["total_reads"], plates["distinct_plates"], plates["single_read_plates"],
            plates["recurring_plates"]) == (3, 2, 1, 1)

    hourly = (await client.get("/api/ai/reports/traffic",
                               params={**RANGE, "bucket": "hour", "camera_id": str(b.camera_id)},
                               headers=_operator(make_token, a.tenant_id))).json()
    assert [(p["bucket_start"], p["reads"]) for p in hourly["series"]] == [
        ("2026-03-02T12:00", 1)]


async def test_alerts_report_counts_and_time_to_acknowledge(
    client: httpx.AsyncClient, make_token: TokenFactory, world: dict[str, Any]
) -> None:
    response = await client.get("/api/ai/reports/alerts", params=RANGE,
                                headers=_operator(make_token, world["a"].tenant_id))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["total"] == 4 and body["acknowledged"] == 3
    assert sorted((s["severity"], s["count"]) for s in body["by_severity"]) == [
        ("critical", 2), ("high", 2)]
    assert body["by_watchlist"] == [{"watchlist_id": str(world["watchlist"].id),
                                     "watchlist_name": "Roubados", "count": 4}]
    assert body["ack_median_seconds"] == pytest.approx(120)
    assert body["ack_p90_seconds"] == pytest.approx(264)
    assert body["unacknowledged_now"] == 2


async def test_availability_from_continuous_recording(
    client: httpx.AsyncClient, make_token: TokenFactory, world: dict[str, Any]
) -> None:
    a, b = world["a"], world["b"]
    window = {"start": "2026-03-02T10:00:00Z", "end": "2026-03-02T11:00:00Z"}
    response = await client.get("/api/streaming/reports/availability", params=window,
                                headers=_operator(make_token, a.tenant_id))
    assert response.status_code == 200, response.text
    body = response.json()
    cams = {c["camera_id"]: c for c in body["cameras"]}
    assert set(cams) == {str(a.camera_id), str(b.camera_id)}
    assert cams[str(a.camera_id)]["uptime_pct"] == pytest.approx(5.0)
    assert cams[str(a.camera_id)]["outages"] == 1
    assert cams[str(a.camera_id)]["recording_hours"] == pytest.approx(0.05)
    assert cams[str(a.camera_id)]["storage_bytes"] == 3000
    assert cams[str(b.camera_id)]["uptime_pct"] is None
    assert body["storage_bytes_total"] == 3000


async def test_plate_history_lists_the_tenants_reads_and_is_audited(
    client: httpx.AsyncClient, make_token: TokenFactory, world: dict[str, Any],
    event_tap: EventTap,
) -> None:
    a = world["a"]
    response = await client.get("/api/ai/reports/plate-history",
                                params={**RANGE, "plate": "abc-1d23"},
                                headers=_operator(make_token, a.tenant_id))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["count"] == 2 and body["page"] == 1
    assert [r["detected_at"][:16] for r in body["results"]] == [
        "2026-03-02T04:00", "2026-03-02T02:30"]
    assert {r["camera_id"] for r in body["results"]} == {str(a.camera_id)}
    audited = await event_tap.wait_for(
        lambda e: e.type == "UserActivityRecorded" and e.payload["action"] == "plate.history"
        and e.tenant_id == a.tenant_id)
    assert audited.payload["object_id"] == "ABC1D23"


async def test_another_tenant_sees_none_of_it(
    client: httpx.AsyncClient, make_token: TokenFactory, world: dict[str, Any]
) -> None:
    other = world["other"].tenant_id
    traffic = (await client.get("/api/ai/reports/traffic", params=RANGE,
                                headers=_operator(make_token, other))).json()
    assert traffic["total_reads"] == 1
    assert {p["camera_id"] for p in traffic["series"]} == {str(world["other"].camera_id)}
    history = (await client.get("/api/ai/reports/plate-history",
                                params={**RANGE, "plate": "XYZ9876"},
                                headers=_operator(make_token, other))).json()
    assert history["count"] == 0


@pytest.mark.parametrize(("path", "lang", "expected"), [
    ("/api/ai/reports/traffic", "en", ["Traffic (plate reads)", "Total reads", "Busiest cameras",
                                       "Cam "]),
    ("/api/ai/reports/plates", "en", ["Unique vs recurring plates", "Distinct plates"]),
    ("/api/ai/reports/plates", "pt-BR", ["Placas únicas e recorrentes", "Placas distintas"]),
    ("/api/ai/reports/alerts", "en", ["Alerts", "Acknowledged", "Roubados", "critical"]),
    ("/api/streaming/reports/availability", "pt-BR", ["Disponibilidade e armazenamento",
                                                      "Horas gravadas", "Cam "]),
])
async def test_each_report_exports_a_pdf_with_its_title_and_numbers(
    client: httpx.AsyncClient, make_token: TokenFactory, world: dict[str, Any], path: str,
    lang: str, expected: list[str],
) -> None:
    headers = _operator(make_token, world["a"].tenant_id)
    data = (await client.get(path, params=RANGE, headers=headers)).json()
    response = await client.get(path, params={**RANGE, "format": "pdf", "lang": lang},
                                headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/pdf"
    assert response.headers["content-disposition"].startswith("attachment; filename=")
    assert response.content.startswith(b"%PDF-")
    document = pypdf.PdfReader(io.BytesIO(response.content))
    assert len(document.pages) >= 1
    words = "\n".join(page.extract_text() for page in document.pages)
    for text_ in expected:
        assert text_ in words
    numbers = {
        "/api/ai/reports/traffic": [("Total reads", data.get("total_reads"))],
        "/api/ai/reports/plates": [("Distinct plates", data.get("distinct_plates")),
                                   ("Placas distintas", data.get("distinct_plates")),
                                   ("Read once", data.get("single_read_plates"))],
        "/api/ai/reports/alerts": [("Alerts", data.get("total")),
                                   ("Unacknowledged now", data.get("unacknowledged_now"))],
    }.get(path, [])
    lines = [line.strip() for line in words.splitlines()]
    for label, value in numbers:
        if label in words:  # a headline figure: its label, then its value
            assert any(lines[i] == label and lines[i + 1] == str(value)
                       for i in range(len(lines) - 1)), (label, value, lines)


@pytest.mark.parametrize(("path", "params", "code"), [
    ("/api/ai/reports/traffic", {"start": "2026-03-02T00:00:00Z",
                                 "end": "2026-03-01T00:00:00Z"}, "validation_error"),
    ("/api/ai/reports/traffic", {"bucket": "month"}, "validation_error"),
    ("/api/ai/reports/alerts", {"start": "2020-01-01T00:00:00Z",
                                "end": "2026-01-01T00:00:00Z"}, "validation_error"),
    ("/api/ai/reports/plate-history", {"plate": "NOT A PLATE"}, "invalid_plate"),
    ("/api/ai/reports/plate-history", {}, "validation_error"),
    ("/api/streaming/reports/availability", {"start": "yesterday"}, "validation_error"),
])
async def test_bad_report_parameters_are_a_400(client: httpx.AsyncClient,
                                               make_token: TokenFactory, path: str,
                                               params: dict[str, str], code: str) -> None:
    response = await client.get(path, params=params,
                                headers=_operator(make_token, uuid.uuid4()))
    assert response.status_code == 400, response.text
    assert response.json()["error"]["code"] == code


@pytest.mark.parametrize("path", ["/api/ai/reports/traffic", "/api/ai/reports/plates",
                                  "/api/ai/reports/alerts",
                                  "/api/streaming/reports/availability"])
async def test_a_viewer_gets_no_reports(client: httpx.AsyncClient, make_token: TokenFactory,
                                        path: str) -> None:
    token = make_token(roles=("viewer",), tenant_id=uuid.uuid4())
    response = await client.get(path, headers=bearer(token))
    assert response.status_code == 403
    response = await client.get(path, params={"format": "pdf"}, headers=bearer(token))
    assert response.status_code == 403


@pytest.mark.parametrize(("start", "end", "reads"), [
    ("2026-03-02T02:15:00Z", "2026-03-02T15:20:00Z", 3),  # partial hours at both ends
    ("2026-03-02T02:20:00Z", "2026-03-02T02:40:00Z", 1),  # inside one hour
    ("2026-03-02T02:40:00Z", "2026-03-02T04:00:00Z", 0),  # end is exclusive
    ("2026-03-02T02:40:00Z", "2026-03-02T04:00:01Z", 1),
])
async def test_traffic_counts_exactly_at_any_range_edge(
    client: httpx.AsyncClient, make_token: TokenFactory, world: dict[str, Any],
    start: str, end: str, reads: int,
) -> None:
    """Whole hours come from the hourly roll-up, partial hours from the detections."""
    body = (await client.get("/api/ai/reports/traffic", params={"start": start, "end": end},
                             headers=_operator(make_token, world["a"].tenant_id))).json()
    assert body["total_reads"] == reads
    assert sum(p["reads"] for p in body["series"]) == reads
    assert sum(c["reads"] for c in body["heatmap"]) == reads
    assert sum(c["reads"] for c in body["busiest"]) == reads


async def test_the_hourly_roll_up_follows_inserts_and_deletes(
    app_services: Any, world: dict[str, Any]
) -> None:
    b = world["b"]
    hour = text("SELECT reads FROM ai.detection_hourly WHERE tenant_id = :t AND camera_id = :c"
                " AND hour = '2026-03-02T15:00:00Z'")
    params = {"t": b.tenant_id, "c": b.camera_id}
    async with app_services.sessions() as session:
        assert (await session.execute(hour, params)).scalar() == 1
    extra = uuid.uuid4()
    async with app_services.sessions() as session, session.begin():
        await session.execute(text(
            "INSERT INTO ai.detections (id, detected_at, tenant_id, camera_id, plate, plate_style,"
            " confidence, reads, metadata) VALUES (:id, '2026-03-02T15:59:00Z', :t, :c,"
            " 'QWE1R23', 'mercosul', 0.9, 1, '{}')"), {"id": extra, **params})
    async with app_services.sessions() as session:
        assert (await session.execute(hour, params)).scalar() == 2
    async with app_services.sessions() as session, session.begin():
        await session.execute(text("DELETE FROM ai.detections WHERE id = :id"), {"id": extra})
    async with app_services.sessions() as session:
        assert (await session.execute(hour, params)).scalar() == 1


async def test_storage_totals_follow_inserted_and_deleted_segments(
    app_services: Any, world: dict[str, Any]
) -> None:
    a = world["a"]
    totals = text("SELECT segments, size_bytes FROM streaming.recording_totals"
                  " WHERE camera_id = :c")
    async with app_services.sessions() as session:
        assert tuple((await session.execute(totals, {"c": a.camera_id})).one()) == (3, 3000)
    extra = uuid.uuid4()
    start = T0 + timedelta(hours=20)
    async with app_services.sessions() as session, session.begin():
        session.add(Recording(id=extra, tenant_id=a.tenant_id, camera_id=a.camera_id,
                              started_at=start, ended_at=start + timedelta(minutes=1),
                              object_key="k/extra", size_bytes=500))
    async with app_services.sessions() as session:
        assert tuple((await session.execute(totals, {"c": a.camera_id})).one()) == (4, 3500)
    async with app_services.sessions() as session, session.begin():
        await session.execute(text("DELETE FROM streaming.recordings WHERE id = :id"),
                              {"id": extra})
    async with app_services.sessions() as session:
        assert tuple((await session.execute(totals, {"c": a.camera_id})).one()) == (3, 3000)
