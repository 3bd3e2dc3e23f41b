"""LPR workers: camera leases in real PostgreSQL (competing workers, failover after a
crash, lost leases stop the camera) and the frame → tracker → record loop."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pytest
from sqlalchemy import delete, select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared_kernel.plates import PlateNumber
from streaming_service.domain.ai.detection import BBox, PlateRead, TrackerConfig
from streaming_service.domain.ai.ports import SampledFrame
from streaming_service.infrastructure.db.models import Camera
from streaming_service.infrastructure.db.models.ai import (
    Alert,
    CameraAssignment,
    Detection,
    Watchlist,
    WatchlistEntry,
)
from streaming_service.infrastructure.leases import PostgresCameraLeases
from streaming_service.workers.lpr_worker import CameraSource, LprWorker

from .conftest import Server

FRAME = np.zeros((360, 640, 3), np.uint8)


class EndlessSource:
    """Blank frames every 20 ms until closed."""

    def __init__(self, camera: CameraSource) -> None:
        self.camera = camera
        self.closed = False

    async def frames(self) -> AsyncIterator[SampledFrame]:
        while not self.closed:
            # Room around the fake plates' boxes: reads the frame may cut are dropped.
            yield SampledFrame(FRAME, time.time())
            await asyncio.sleep(0.02)

    async def close(self) -> None:
        self.closed = True


class NoPlates:
    def recognise(self, frame: Any) -> list[PlateRead]:
        return []


class NullRecorder:
    async def record(self, new: Any) -> None:
        return None


@pytest.fixture
async def cameras(sessions: async_sessionmaker[AsyncSession]) -> AsyncIterator[list[uuid.UUID]]:
    tenant = uuid.uuid4()
    ids = [uuid.uuid4(), uuid.uuid4()]
    async with sessions() as session:
        await session.execute(delete(CameraAssignment))
        for i, camera_id in enumerate(ids):
            session.add(Camera(
                id=camera_id, tenant_id=tenant, name=f"cam {i}",
                rtsp_url_encrypted="fake://camera", rtsp_url_masked="fake://camera",
                recording_mode="off", retention_days=90, lpr_enabled=True, status="active",
                revision=1))
        session.add(Camera(
            id=uuid.uuid4(), tenant_id=tenant, name="no lpr", rtsp_url_encrypted="x",
            rtsp_url_masked="x", recording_mode="off", retention_days=90, lpr_enabled=False,
            status="active", revision=1))
        await session.commit()
    yield ids
    async with sessions() as session:
        await session.execute(delete(CameraAssignment))
        await session.execute(delete(Camera).where(Camera.tenant_id == tenant))
        await session.commit()


def _worker(name: str, sessions: async_sessionmaker[AsyncSession], *, lease: float = 1.5,
            max_cameras: int = 8, recogniser: Any = None, recorder: Any = None,
            tracker: TrackerConfig | None = None, batch_size: int = 1) -> LprWorker:
    return LprWorker(
        worker_id=name, leases=PostgresCameraLeases(sessions, lease_seconds=lease),
        sessions=sessions, recogniser=recogniser or NoPlates(),
        recorder=recorder or NullRecorder(), source_factory=EndlessSource,
        max_cameras=max_cameras, tracker_config=tracker, batch_size=batch_size,
        batch_window=0.05,
    )


async def _holders(sessions: async_sessionmaker[AsyncSession]) -> dict[uuid.UUID, str | None]:
    async with sessions() as session:
        rows = (await session.execute(select(CameraAssignment))).scalars().all()
    return {r.camera_id: r.worker_id for r in rows}


async def test_competing_workers_split_cameras_without_overlap(
    sessions: async_sessionmaker[AsyncSession], cameras: list[uuid.UUID]
) -> None:
    a = _worker("a", sessions, max_cameras=1)
    b = _worker("b", sessions, max_cameras=1)
    try:
        await asyncio.gather(a.tick(), b.tick())
        assert len(a.held) == 1 and len(b.held) == 1
        assert a.held | b.held == set(cameras)
        assert set((await _holders(sessions)).values()) == {"a", "b"}
    finally:
        await a.shutdown(release=True)
        await b.shutdown(release=True)


async def test_dead_workers_cameras_are_taken_over_after_the_lease_expires(
    sessions: async_sessionmaker[AsyncSession], cameras: list[uuid.UUID]
) -> None:
    a = _worker("a", sessions)
    b = _worker("b", sessions)
    try:
        await a.tick()
        assert a.held == set(cameras)
        await b.tick()
        assert b.held == set(), "held leases are not claimed"
        await a.shutdown(release=False)  # a crash: nothing released, leases just expire
        await b.tick()
        assert b.held == set()
        await asyncio.sleep(1.7)
        await b.tick()
        assert b.held == set(cameras)
        assert set((await _holders(sessions)).values()) == {"b"}
        # The "dead" worker comes back: its renewals fail and it claims nothing held.
        await a.tick()
        assert a.held == set()
    finally:
        await a.shutdown(release=True)
        await b.shutdown(release=True)


async def test_a_lost_lease_stops_the_camera(
    sessions: async_sessionmaker[AsyncSession], cameras: list[uuid.UUID]
) -> None:
    a = _worker("a", sessions, max_cameras=1)
    try:
        await a.tick()
        (camera_id,) = a.held
        task = a.cameras[camera_id]
        async with sessions() as session:
            await session.execute(text(
                "UPDATE ai.camera_assignments SET worker_id = 'intruder', "
                "lease_expires_at = now() + interval '1 hour' WHERE camera_id = :c"),
                {"c": camera_id})
            await session.commit()
        await a.tick()
        assert camera_id not in a.held and task.cancelled()
    finally:
        await a.shutdown(release=True)


async def test_clean_stop_releases_leases_at_once(
    sessions: async_sessionmaker[AsyncSession], cameras: list[uuid.UUID]
) -> None:
    a = _worker("a", sessions, lease=60)
    stop = asyncio.Event()
    runner = asyncio.create_task(a.run(stop))
    for _ in range(100):
        if a.held:
            break
        await asyncio.sleep(0.05)
    assert a.held == set(cameras)
    stop.set()
    await asyncio.wait_for(runner, 10)
    assert set((await _holders(sessions)).values()) == {None}


class OnePlatePassing:
    """A vehicle with plate ABC1D23 (read once as ABC1O23) in the first six frames."""

    def __init__(self) -> None:
        self.calls = 0

    def recognise(self, frame: Any) -> list[PlateRead]:
        self.calls += 1
        if self.calls > 6:
            return []
        text = "ABC1O23" if self.calls == 2 else "ABC1D23"
        return [PlateRead(plate=PlateNumber.parse(text), confidence=0.8 + self.calls / 100,
                          bbox=BBox(100 + self.calls, 50, 220 + self.calls, 90),
                          raw_text=text, crop=np.full((40, 120, 3), 200, np.uint8))]


async def test_worker_reports_each_passing_vehicle_once(
    server: Server, sessions: async_sessionmaker[AsyncSession], cameras: list[uuid.UUID]
) -> None:
    recorder = server.app.state.services.recorder
    a = _worker("a", sessions, max_cameras=1, recogniser=OnePlatePassing(), recorder=recorder,
                tracker=TrackerConfig(max_gap_s=0.2, report_after_reads=50))
    try:
        await a.tick()
        (camera_id,) = a.held
        rows: list[Detection] = []
        for _ in range(100):
            async with sessions() as session:
                rows = list((await session.execute(
                    select(Detection).where(Detection.camera_id == camera_id))).scalars().all())
            if rows:
                break
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.3)
        async with sessions() as session:
            rows = list((await session.execute(
                select(Detection).where(Detection.camera_id == camera_id))).scalars().all())
        assert [r.plate for r in rows] == ["ABC1D23"]
        assert rows[0].reads == 6 and rows[0].crop_key
        assert abs(rows[0].detected_at - datetime.now(UTC)).total_seconds() < 60
        registry = a.metrics.registry
        service = {"service": "streaming_service"}
        assert (registry.get_sample_value("gtv_lpr_frames_total", service) or 0) >= 6
        assert registry.get_sample_value(
            "gtv_plates_detected_total", {**service, "tenant": str(rows[0].tenant_id)}) == 1
        assert registry.get_sample_value(
            "gtv_lpr_latency_seconds_count", {**service, "stage": "total"})
    finally:
        await a.shutdown(release=True)


class MisreadThenRead:
    """A vehicle first read (confidently) as ABC1D28, then as ABC1D23 in five frames."""

    def __init__(self) -> None:
        self.calls = 0

    def recognise(self, frame: Any) -> list[PlateRead]:
        self.calls += 1
        if self.calls > 6:
            return []
        text = "ABC1D28" if self.calls == 1 else "ABC1D23"
        return [PlateRead(plate=PlateNumber(text), confidence=0.9,
                          bbox=BBox(100 + self.calls, 50, 220 + self.calls, 90),
                          raw_text=text, crop=np.full((40, 120, 3), 200, np.uint8))]


async def test_worker_alerts_on_the_first_read_and_the_vote_corrects_it_without_a_duplicate(
    server: Server, sessions: async_sessionmaker[AsyncSession], cameras: list[uuid.UUID],
) -> None:
    async with sessions() as session:
        tenant_id = (await session.execute(
            select(Camera.tenant_id).where(Camera.id == cameras[0]))).scalar_one()
        watchlist = Watchlist(id=uuid.uuid4(), tenant_id=tenant_id, name="early")
        session.add(watchlist)
        await session.flush()
        entries = {plate: WatchlistEntry(
            id=uuid.uuid4(), watchlist_id=watchlist.id, tenant_id=tenant_id,
            plate_pattern=plate, is_exact=True, reason="", severity="high")
            for plate in ("ABC1D28", "ABC1D23")}
        session.add_all(entries.values())
        await session.commit()
    recorder = server.app.state.services.recorder
    a = _worker("a", sessions, max_cameras=1, recogniser=MisreadThenRead(), recorder=recorder,
                tracker=TrackerConfig(max_gap_s=0.2, report_after_reads=50,
                                      provisional_min_confidence=0.5))
    try:
        await a.tick()
        (camera_id,) = a.held
        voted: list[Detection] = []
        for _ in range(200):
            async with sessions() as session:
                voted = list((await session.execute(select(Detection).where(
                    Detection.camera_id == camera_id,
                    Detection.details["stage"].astext == "voted"))).scalars().all())
            if voted:
                break
            await asyncio.sleep(0.05)
        assert [d.plate for d in voted] == ["ABC1D23"], "one detection, the voted plate"
        assert voted[0].details["provisional_plate"] == "ABC1D28"
        async with sessions() as session:
            alerts = (await session.execute(select(Alert).where(
                Alert.detection_id == voted[0].id))).scalars().all()
        status = {a.watchlist_entry_id: a.status for a in alerts}
        # The misread alerted at once, then was retracted by the vote; the voted plate's
        # entry alerted once (on its own provisional read or on the vote).
        assert status == {entries["ABC1D28"].id: "retracted", entries["ABC1D23"].id: "new"}
    finally:
        await a.shutdown(release=True)


class CountingBatches:
    """Reads no plate, and remembers the size of every batched pass."""

    def __init__(self) -> None:
        self.batches: list[int] = []

    def recognise(self, frame: Any) -> list[PlateRead]:
        raise AssertionError("a batching worker reads through recognise_batch")

    def recognise_batch(self, frames: list[Any]) -> list[list[PlateRead]]:
        self.batches.append(len(frames))
        return [[] for _ in frames]


async def test_a_batching_worker_reads_its_cameras_frames_together(
    sessions: async_sessionmaker[AsyncSession], cameras: list[uuid.UUID]
) -> None:
    recogniser = CountingBatches()
    a = _worker("batching", sessions, recogniser=recogniser, batch_size=4)
    try:
        await a.tick()
        assert a.held == set(cameras)
        for _ in range(200):
            if sum(recogniser.batches) >= 40:
                break
            await asyncio.sleep(0.05)
        assert sum(recogniser.batches) >= 40
        # Both cameras' frames share passes, and no pass exceeds the batch size.
        assert max(recogniser.batches) <= 4
        assert sum(1 for n in recogniser.batches if n >= 2) >= len(recogniser.batches) // 2
        frames = a.metrics.registry.get_sample_value(
            "gtv_lpr_frames_total", {"service": "streaming_service"})
        assert frames is not None and frames >= 40
    finally:
        await a.shutdown(release=True)
