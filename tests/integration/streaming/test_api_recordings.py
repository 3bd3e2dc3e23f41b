"""Recorded segments → object store + partitioned rows + RecordingCompleted; listing with
range validation; audited playback served by signed URL; retention; export jobs."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, text

from streaming_service.application.recordings import Recordings
from streaming_service.domain.ports import CompletedSegment
from streaming_service.infrastructure.db.models import Recording
from tests.integration.streaming.conftest import bearer, write_file

RANGE = "/api/streaming/recordings/"


async def record(app_services: Any, camera: Any, started_at: datetime, tmp: Path,
                 seconds: int = 60, data: bytes = b"fake-mp4-bytes") -> Recording:
    path = write_file(tmp / f"{uuid.uuid4().hex}.mp4", data)
    recording = await app_services.recordings.record_segment(CompletedSegment(
        camera_id=camera.camera_id, tenant_id=camera.tenant_id, path=path,
        started_at=started_at, ended_at=started_at + timedelta(seconds=seconds)))
    assert recording is not None
    return recording  # type: ignore[no-any-return]


async def test_completed_segment_lands_in_store_database_and_bus(
    app_services: Any, seed_camera: Any, event_tap: Any, tmp_path: Path
) -> None:
    camera = await seed_camera()
    started = datetime(2025, 3, 14, 10, 0, 0, tzinfo=UTC)
    local = write_file(tmp_path / "seg.mp4", b"\x00\x00\x00\x18ftypmp42" + b"x" * 1000)
    recording = await app_services.recordings.record_segment(CompletedSegment(
        camera_id=camera.camera_id, tenant_id=camera.tenant_id, path=local,
        started_at=started, ended_at=started + timedelta(seconds=60)))
    assert recording.object_key == (
        f"{camera.tenant_id}/{camera.camera_id}/2025/03/14/20250314T100000000Z.mp4")
    assert await app_services.store.get_bytes("recordings", recording.object_key) == (
        b"\x00\x00\x00\x18ftypmp42" + b"x" * 1000)
    assert not local.exists(), "the local segment is deleted once stored"
    async with app_services.sessions() as session:
        row = (await session.execute(
            select(Recording).where(Recording.id == recording.id))).scalar_one()
        partition = (await session.execute(text(
            "SELECT tableoid::regclass::text FROM streaming.recordings WHERE id = :id"),
            {"id": recording.id})).scalar_one()
    assert row.size_bytes == 1012
    assert partition == "streaming.recordings_y2025m03"
    event = await event_tap.wait_for(
        lambda e: e.type == "RecordingCompleted"
        and e.payload["recording_id"] == str(recording.id))
    assert event.payload["size_bytes"] == 1012


async def test_listing_validates_the_range(
    client: httpx.AsyncClient, make_token: Any, seed_camera: Any
) -> None:
    camera = await seed_camera()
    token = make_token(tenant_id=camera.tenant_id)
    base = {"camera_id": str(camera.camera_id)}
    inverted = await client.get(RANGE, headers=bearer(token), params={
        **base, "start": "2025-03-02T00:00:00Z", "end": "2025-03-01T00:00:00Z"})
    assert inverted.status_code == 400
    assert inverted.json()["error"]["code"] == "invalid_time_range"
    huge = await client.get(RANGE, headers=bearer(token), params={
        **base, "start": "2024-01-01T00:00:00Z", "end": "2025-01-01T00:00:00Z"})
    assert huge.status_code == 400
    assert huge.json()["error"]["details"]["max_seconds"] == 31 * 86400
    naive = await client.get(RANGE, headers=bearer(token), params={
        **base, "start": "2025-03-01T00:00:00", "end": "2025-03-02T00:00:00Z"})
    assert naive.status_code == 400
    assert naive.json()["error"]["code"] == "validation_error"
    missing = await client.get(RANGE, headers=bearer(token), params=base)
    assert missing.status_code == 400


async def test_listing_pages_and_playback_is_served_and_audited(
    client: httpx.AsyncClient, app_services: Any, make_token: Any, seed_camera: Any,
    event_tap: Any, tmp_path: Path,
) -> None:
    camera = await seed_camera()
    t0 = datetime(2025, 4, 30, 23, 58, tzinfo=UTC)  # crosses a month (partition) boundary
    recs = [await record(app_services, camera, t0 + timedelta(minutes=i), tmp_path,
                         data=f"segment-{i}".encode()) for i in range(3)]
    user_id = uuid.uuid4()
    token = make_token(tenant_id=camera.tenant_id, user_id=user_id)
    params = {"camera_id": str(camera.camera_id), "start": "2025-04-30T23:58:30Z",
              "end": "2025-05-01T00:10:00Z", "page_size": "2"}
    page1 = (await client.get(RANGE, headers=bearer(token), params=params)).json()
    assert page1["count"] == 3
    assert [r["id"] for r in page1["results"]] == [str(recs[0].id), str(recs[1].id)]
    page2 = (await client.get(RANGE, headers=bearer(token),
                              params={**params, "page": "2"})).json()
    assert [r["id"] for r in page2["results"]] == [str(recs[2].id)]

    playback = await client.get(f"{RANGE}{recs[1].id}/playback", headers=bearer(token),
                                params={}, )
    assert playback.status_code == 200, playback.text
    url = playback.json()["url"]
    served = await client.get(url)
    assert served.status_code == 200
    assert served.content == b"segment-1"
    forged = await client.get(url.replace("sig=", "sig=A"))
    assert forged.status_code == 403
    audited = await event_tap.wait_for(
        lambda e: e.type == "RecordingAccessed" and e.payload["recording_id"] == str(recs[1].id))
    assert audited.payload["action"] == "playback"
    assert audited.payload["user_id"] == str(user_id)

    intruder = make_token(tenant_id=uuid.uuid4())
    other = await client.get(f"{RANGE}{recs[1].id}/playback", headers=bearer(intruder))
    assert other.status_code == 404
    assert other.json()["error"]["code"] == "recording_not_found"


async def test_retention_deletes_expired_objects_and_rows_only(
    app_services: Any, seed_camera: Any, tmp_path: Path
) -> None:
    camera = await seed_camera(retention_days=7)
    now = datetime.now(UTC)
    old = await record(app_services, camera, now - timedelta(days=10), tmp_path)
    fresh = await record(app_services, camera, now - timedelta(days=1), tmp_path)
    report = await app_services.recordings.apply_retention(now=now)
    assert report.deleted >= 1
    assert not await app_services.store.exists("recordings", old.object_key)
    assert await app_services.store.exists("recordings", fresh.object_key)
    async with app_services.sessions() as session:
        ids = set((await session.execute(
            select(Recording.id).where(Recording.camera_id == camera.camera_id))).scalars())
    assert ids == {fresh.id}


async def test_export_job_is_accepted_audited_and_reports_an_empty_range(
    client: httpx.AsyncClient, app_services: Any, make_token: Any, seed_camera: Any,
    event_tap: Any,
) -> None:
    camera = await seed_camera()
    token = make_token(roles=("operator",), tenant_id=camera.tenant_id)
    body = {"camera_id": str(camera.camera_id), "start": "2025-06-01T10:00:00Z",
            "end": "2025-06-01T10:05:00Z"}
    response = await client.post("/api/streaming/exports", headers=bearer(token), json=body)
    assert response.status_code == 202, response.text
    export_id = response.json()["id"]
    await event_tap.wait_for(
        lambda e: e.type == "RecordingAccessed" and e.payload["export_id"] == export_id)
    await app_services.exports.wait_idle()
    job = (await client.get(f"/api/streaming/exports/{export_id}", headers=bearer(token))).json()
    assert job["status"] == "failed"
    assert job["error"] == "no recordings in the requested range"
    operator_other = make_token(roles=("operator",), tenant_id=uuid.uuid4())
    assert (await client.get(f"/api/streaming/exports/{export_id}",
                             headers=bearer(operator_other))).status_code == 404
    # Exported video is an operator's: a viewer of the same tenant cannot fetch it.
    viewer_same = make_token(roles=("viewer",), tenant_id=camera.tenant_id)
    assert (await client.get(f"/api/streaming/exports/{export_id}",
                             headers=bearer(viewer_same))).status_code == 403
    too_long = {**body, "end": "2025-06-03T10:00:00Z"}
    assert (await client.post("/api/streaming/exports", headers=bearer(token),
                              json=too_long)).status_code == 400
    viewer = make_token(roles=("viewer",), tenant_id=camera.tenant_id)
    assert (await client.post("/api/streaming/exports", headers=bearer(viewer),
                              json=body)).status_code == 403


async def test_a_tenant_cannot_run_more_exports_than_its_cap(
    client: httpx.AsyncClient, app_services: Any, make_token: Any, seed_camera: Any,
) -> None:
    from datetime import UTC, datetime, timedelta

    from streaming_service.infrastructure.db.models import Export

    camera = await seed_camera()
    now = datetime.now(UTC)
    cap = app_services.exports.max_active_per_tenant
    async with app_services.sessions() as session, session.begin():
        for _ in range(cap):
            session.add(Export(id=uuid.uuid4(), tenant_id=camera.tenant_id,
                               camera_id=camera.camera_id, status="running",
                               range_start=now - timedelta(minutes=5), range_end=now,
                               requested_by=uuid.uuid4()))
    token = make_token(roles=("operator",), tenant_id=camera.tenant_id)
    body = {"camera_id": str(camera.camera_id), "start": "2025-06-01T10:00:00Z",
            "end": "2025-06-01T10:05:00Z"}
    response = await client.post("/api/streaming/exports", headers=bearer(token), json=body)
    assert response.status_code == 429, response.text
    error = response.json()["error"]
    assert error["code"] == "too_many_exports"
    assert error["details"] == {"active": cap, "limit": cap}
    # Another tenant is not held back by this one.
    other = await seed_camera()
    other_token = make_token(roles=("operator",), tenant_id=other.tenant_id)
    response = await client.post("/api/streaming/exports", headers=bearer(other_token),
                                 json={**body, "camera_id": str(other.camera_id)})
    assert response.status_code == 202, response.text
    await app_services.exports.wait_idle()


async def test_a_hole_between_segments_is_reported_as_a_gap(
    client: httpx.AsyncClient, make_token: Any, app_services: Any, seed_camera: Any,
    event_tap: Any, tmp_path: Path,
) -> None:
    """Contiguous segments leave no gap; a segment that starts 40 s after the previous one
    ended (its replica died) is announced as RecordingGap and listed by GET /gaps."""
    camera = await seed_camera()
    start = datetime(2025, 3, 14, 11, 0, 0, tzinfo=UTC)
    await record(app_services, camera, start, tmp_path, seconds=10)
    await record(app_services, camera, start + timedelta(seconds=10), tmp_path, seconds=10)
    after = await record(app_services, camera, start + timedelta(seconds=60), tmp_path,
                         seconds=10)
    event = await event_tap.wait_for(
        lambda e: e.type == "RecordingGap" and e.payload["camera_id"] == str(camera.camera_id))
    assert event.payload["recording_id"] == str(after.id)
    assert event.payload["seconds"] == 40
    token = make_token(tenant_id=camera.tenant_id)
    listing = await client.get(f"{RANGE}gaps", headers=bearer(token), params={
        "camera_id": str(camera.camera_id), "start": start.isoformat(),
        "end": (start + timedelta(minutes=5)).isoformat()})
    assert listing.status_code == 200, listing.text
    assert listing.json() == [{
        "started_at": "2025-03-14T11:00:20Z", "ended_at": "2025-03-14T11:01:00Z",
        "seconds": 40.0}]
    other = make_token(tenant_id=uuid.uuid4())
    hidden = await client.get(f"{RANGE}gaps", headers=bearer(other), params={
        "camera_id": str(camera.camera_id), "start": start.isoformat(),
        "end": (start + timedelta(minutes=5)).isoformat()})
    assert hidden.status_code == 404


class CountingStore:
    """The real object store, failing its first ``failures`` uploads and counting how
    many run at once."""

    def __init__(self, store: Any, failures: int = 0) -> None:
        self.store, self.failures = store, failures
        self.running = self.most_at_once = self.calls = 0

    async def put_file(self, bucket: str, key: str, path: Path, content_type: str) -> int:
        self.calls += 1
        self.running += 1
        self.most_at_once = max(self.most_at_once, self.running)
        try:
            await asyncio.sleep(0.02)
            if self.failures > 0:
                self.failures -= 1
                raise ConnectionError("object store unavailable")
            return int(await self.store.put_file(bucket, key, path, content_type))
        finally:
            self.running -= 1


def one_minute(camera: Any, start: datetime, path: Path) -> CompletedSegment:
    return CompletedSegment(camera_id=camera.camera_id, tenant_id=camera.tenant_id, path=path,
                            started_at=start, ended_at=start + timedelta(seconds=60))


def recordings_with(app_services: Any, store: CountingStore, **options: Any) -> Recordings:
    return Recordings(db=app_services.db, sessions=app_services.sessions, store=store,
                      outbox=app_services.outbox, metrics=app_services.metrics, **options)


async def test_segments_arriving_together_are_stored_a_few_at_a_time(
    app_services: Any, seed_camera: Any, tmp_path: Path,
) -> None:
    """Every camera cuts its segment on the same minute: twelve arrive at once, and no
    more than the configured number are uploaded and registered together."""
    store = CountingStore(app_services.store)
    recordings = recordings_with(app_services, store, store_concurrency=3)
    cameras = [await seed_camera() for _ in range(12)]
    start = datetime(2025, 4, 1, 8, 0, tzinfo=UTC)
    stored = await asyncio.gather(*(recordings.record_segment(one_minute(
        c, start, write_file(tmp_path / f"{c.camera_id}.mp4", b"segment"))) for c in cameras))
    assert all(r is not None for r in stored)
    assert store.most_at_once == 3


async def test_a_failed_store_is_tried_again_and_lands_once(
    app_services: Any, seed_camera: Any, event_tap: Any, tmp_path: Path,
) -> None:
    store = CountingStore(app_services.store, failures=2)
    recordings = recordings_with(app_services, store, store_retry_delays=(0.01, 0.01))
    camera = await seed_camera()
    start = datetime(2025, 4, 1, 9, 0, tzinfo=UTC)
    local = write_file(tmp_path / "seg.mp4", b"segment-bytes")
    recording = await recordings.record_segment(one_minute(camera, start, local))
    assert recording is not None and store.calls == 3
    assert not local.exists()
    # The same segment stored again (a retry whose first commit's answer was lost) finds
    # its row by the id derived from its key: still one row, no second event.
    resent = write_file(tmp_path / "seg.mp4", b"segment-bytes")
    again = await recordings.record_segment(one_minute(camera, start, resent))
    assert again is not None and again.id == recording.id
    assert not resent.exists()
    async with app_services.sessions() as session:
        rows = (await session.execute(select(func.count()).select_from(Recording).where(
            Recording.camera_id == camera.camera_id))).scalar_one()
    assert rows == 1
    await event_tap.wait_for(lambda e: e.type == "RecordingCompleted"
                             and e.payload["recording_id"] == str(recording.id))
    await asyncio.sleep(1.0)  # the relay's time to publish a second one, were there one
    assert sum(1 for e in event_tap.seen if e.type == "RecordingCompleted"
               and e.payload["recording_id"] == str(recording.id)) == 1


async def test_another_segment_under_the_same_key_keeps_a_row_of_its_own(
    app_services: Any, seed_camera: Any, tmp_path: Path,
) -> None:
    """Segment names have second precision: a stream restarted within the second of a
    cut gives a second segment the same key. It is not mistaken for a retry."""
    camera = await seed_camera()
    start = datetime(2025, 4, 1, 11, 0, tzinfo=UTC)
    first = await record(app_services, camera, start, tmp_path, seconds=1, data=b"short")
    second = await record(app_services, camera, start, tmp_path, seconds=60,
                          data=b"the longer segment")
    assert first.id != second.id and second.size_bytes == len(b"the longer segment")


async def test_a_submitted_segment_is_stored_in_the_background_and_awaited_at_close(
    app_services: Any, seed_camera: Any, tmp_path: Path,
) -> None:
    """The engine's sink returns at once; closing waits for what is still storing."""
    store = CountingStore(app_services.store, failures=1)
    recordings = recordings_with(app_services, store, store_retry_delays=(0.3,))
    camera = await seed_camera()
    start = datetime(2025, 4, 1, 12, 0, tzinfo=UTC)
    local = write_file(tmp_path / "bg.mp4", b"segment-bytes")
    await recordings.submit_segment(one_minute(camera, start, local))
    assert local.exists(), "submit returns before the (retried) store"
    await recordings.close()
    assert not local.exists() and store.calls == 2


async def test_a_store_that_keeps_failing_keeps_the_file_for_the_next_start(
    app_services: Any, seed_camera: Any, tmp_path: Path,
) -> None:
    store = CountingStore(app_services.store, failures=5)
    recordings = recordings_with(app_services, store, store_retry_delays=(0.01,))
    camera = await seed_camera()
    start = datetime(2025, 4, 1, 10, 0, tzinfo=UTC)
    local = write_file(tmp_path / "kept.mp4", b"segment-bytes")
    with pytest.raises(ConnectionError):
        await recordings.record_segment(one_minute(camera, start, local))
    assert store.calls == 2
    assert local.exists(), "the engine's directory is the retry queue of the next start"
