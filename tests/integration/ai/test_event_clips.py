"""recording_mode = events: a clip around each plate detection, cut by the running app's
event-clip loop from the live HLS segments on disk (made here by a real ffmpeg, as the
FFmpeg engine writes them), stored in the object store, listed with the detection and its
alert, handed out through an audited URL, and playable (ffprobe). With the MediaMTX
engine, the span comes from MediaMTX's playback server instead."""

from __future__ import annotations

import asyncio
import os
import subprocess
import time
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared_kernel.plates import PlateNumber
from streaming_service.application.ai.detections import NewDetection
from streaming_service.application.ai.event_clips import EventClips
from streaming_service.domain.ports import ClipSpan
from streaming_service.infrastructure.db.models import Camera, OutboxEvent
from streaming_service.infrastructure.db.models.ai import Detection
from streaming_service.infrastructure.engines.ffmpeg.engine import live_dir
from streaming_service.infrastructure.engines.mediamtx.client import MediaMtxClient
from streaming_service.infrastructure.engines.mediamtx.engine import MediaMtxEngine
from streaming_service.infrastructure.engines.mediamtx.paths import path_name
from streaming_service.infrastructure.engines.mediamtx.playback import MediaMtxPlayback
from streaming_service.infrastructure.ffmpeg_tools import probe
from streaming_service.infrastructure.redis_lease import RedisClaims
from tests.integration.streaming.mediamtx_playback_standin import (
    PlaybackStandIn,
    make_recording,
)
from tests.integration.streaming.mediamtx_standin import serve as serve_standin

from .conftest import Server

SEGMENTS = 12


def _live_segments(directory: Path, ends_at: float) -> None:
    """``SEGMENTS`` one-second HLS segments, the last finished at ``ends_at`` (their
    modification times are their ends, as ffmpeg's temp_file renames leave them)."""
    directory.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        ["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi",
         "-i", f"testsrc=size=320x240:rate=10:duration={SEGMENTS}", "-c:v", "libx264",
         "-preset", "ultrafast", "-g", "10", "-f", "hls", "-hls_time", "1",
         "-hls_list_size", "0", "-hls_segment_filename", str(directory / "seg_%d.ts"),
         str(directory / "index.m3u8")], check=True, timeout=120, capture_output=True)
    for n in range(SEGMENTS):
        end = ends_at - (SEGMENTS - 1 - n)
        os.utime(directory / f"seg_{n}.ts", (end, end))


@pytest.fixture
async def cameras(sessions: async_sessionmaker[AsyncSession], make_caller: Any,
                  streaming_settings: Any) -> AsyncIterator[tuple[Any, dict[str, uuid.UUID]]]:
    caller = make_caller("operator")
    ids = {"events": uuid.uuid4(), "off": uuid.uuid4()}
    async with sessions() as session:
        for mode, camera_id in ids.items():
            session.add(Camera(
                id=camera_id, tenant_id=caller.tenant_id, name=f"clip {mode}",
                rtsp_url_encrypted="x", rtsp_url_masked="x", recording_mode=mode,
                retention_days=90, lpr_enabled=True, status="active", revision=1))
        await session.commit()
    yield caller, ids
    async with sessions() as session:
        await session.execute(delete(Camera).where(Camera.id.in_(list(ids.values()))))
        await session.commit()


async def _detection(http: httpx.AsyncClient, caller: Any, detection_id: uuid.UUID
                     ) -> dict[str, Any]:
    response = await http.get(f"/api/ai/detections/{detection_id}", headers=caller.headers)
    assert response.status_code == 200, response.text
    return dict(response.json())


async def test_an_events_camera_gets_a_playable_clip_around_each_detection(
    server: Server, http: httpx.AsyncClient, cameras: tuple[Any, dict[str, uuid.UUID]],
    streaming_settings: Any, object_store: Any, sessions: async_sessionmaker[AsyncSession],
    tmp_path: Path, make_caller: Any,
) -> None:
    caller, ids = cameras
    services = server.app.state.services
    wl = (await http.post("/api/ai/watchlists/", headers=caller.headers,
                          json={"name": "clips"})).json()
    await http.post(f"/api/ai/watchlists/{wl['id']}/entries/", headers=caller.headers,
                    json={"plate": "CLP1A23", "severity": "high"})
    now = time.time()
    for camera_id in ids.values():
        _live_segments(live_dir(streaming_settings.media_root, camera_id), ends_at=now)
    # Read in the frame 7 s ago: 3 s of pre-roll and 5 s of post-roll are on disk.
    detected_at = datetime.fromtimestamp(now - 7, UTC)
    recorded = {mode: await services.recorder.record(NewDetection(
        tenant_id=caller.tenant_id, camera_id=camera_id, plate=PlateNumber("CLP1A23"),
        confidence=0.9, detected_at=detected_at)) for mode, camera_id in ids.items()}
    clipped = recorded["events"].detection.id

    deadline = time.monotonic() + 30
    while (await _detection(http, caller, clipped))["clip_url"] is None:
        assert time.monotonic() < deadline, "no clip was cut"
        await asyncio.sleep(0.3)
    detection = await _detection(http, caller, clipped)
    assert detection["clip_url"] == f"/api/ai/detections/{clipped}/clip"
    other = await _detection(http, caller, recorded["off"].detection.id)
    assert other["clip_url"] is None, "only cameras in events mode are clipped"

    alerts = (await http.get("/api/ai/alerts/", headers=caller.headers)).json()["results"]
    by_camera = {a["camera_id"]: a["clip_url"] for a in alerts}
    assert by_camera == {str(ids["events"]): detection["clip_url"], str(ids["off"]): None}

    handed = await http.get(detection["clip_url"], headers=caller.headers)
    assert handed.status_code == 200 and handed.json()["url"]
    stranger = await http.get(detection["clip_url"], headers=make_caller("viewer").headers)
    assert stranger.status_code == 404, "another tenant's clip does not exist"
    no_clip = await http.get(f"/api/ai/detections/{recorded['off'].detection.id}/clip",
                             headers=caller.headers)
    assert no_clip.status_code == 404 and no_clip.json()["error"]["code"] == "clip_not_found"

    async with sessions() as session:
        audited = (await session.execute(select(OutboxEvent).where(
            OutboxEvent.event_type == "UserActivityRecorded",
            OutboxEvent.tenant_id == caller.tenant_id))).scalars().all()
    assert [r.envelope["payload"]["object_id"] for r in audited
            if r.envelope["payload"]["action"] == "detection.clip"] == [str(clipped)]

    # The clip is a playable MP4 of about pre-roll + post-roll.
    key = (await services.detections.get(clipped, caller.tenant_id)).details["clip_key"]
    clip = tmp_path / "clip.mp4"
    clip.write_bytes(await object_store.get_bytes("lpr-clips", key))
    info = await probe(clip)
    assert info.video_codec == "h264" and info.width == 320
    assert info.duration_seconds is not None
    assert 6.0 <= info.duration_seconds <= 10.0, info.duration_seconds


async def test_with_mediamtx_the_clip_comes_from_its_playback_server(
    server: Server, http: httpx.AsyncClient, cameras: tuple[Any, dict[str, uuid.UUID]],
    object_store: Any, sessions: async_sessionmaker[AsyncSession], tmp_path: Path,
) -> None:
    """The same use case with the MediaMTX engine: the span comes from MediaMTX's playback
    server (a contract stand-in over real HTTP, answering a real MP4 cut from a real
    recording that is still being written), stored under the same key, listed and audited
    the same way."""
    caller, ids = cameras
    camera_id = ids["events"]
    services = server.app.state.services
    now = datetime.now(UTC)
    standin = PlaybackStandIn(user="gtv-clips", password="hook-token-x", lag_seconds=2.0)
    standin.add_recording(path_name(camera_id), now - timedelta(seconds=20),
                          make_recording(tmp_path / "recording.mp4", 30), 30)
    detected_at = now - timedelta(seconds=6.5)
    recorded = await services.recorder.record(NewDetection(
        tenant_id=caller.tenant_id, camera_id=camera_id, plate=PlateNumber("MTX1A23"),
        confidence=0.9, detected_at=detected_at))
    async with sessions() as session:
        detection = (await session.execute(select(Detection).where(
            Detection.id == recorded.detection.id))).scalar_one()
    with serve_standin(standin.app) as url:
        engine = MediaMtxEngine(MediaMtxClient("http://127.0.0.1:9", timeout_seconds=1.0),
                                playback=MediaMtxPlayback(url, username="gtv-clips",
                                                          password="hook-token-x",
                                                          retry_seconds=0.5))
        clips = EventClips(sessions=sessions, store=object_store, engine=engine,
                           audit=services.audit, work_dir=tmp_path / "work")
        try:
            assert await clips.capture(detection)
        finally:
            await engine.close()
    assert standin.state.invalid_requests == [] and standin.state.invalid_responses == []
    assert [p for p, _ in standin.state.calls].count("/get") == 1

    details = (await services.detections.get(detection.id, caller.tenant_id)).details
    at = detected_at.astimezone(UTC)
    assert details["clip_key"] == (f"{caller.tenant_id}/{camera_id}/{at:%Y/%m/%d}/"
                                   f"{detection.id}.mp4")
    assert datetime.fromisoformat(details["clip_start"]) == detected_at - timedelta(seconds=3)
    assert datetime.fromisoformat(details["clip_end"]) == detected_at + timedelta(seconds=5)
    listed = await _detection(http, caller, detection.id)
    assert listed["clip_url"] == f"/api/ai/detections/{detection.id}/clip"
    handed = await http.get(listed["clip_url"], headers=caller.headers)
    assert handed.status_code == 200 and handed.json()["url"]
    async with sessions() as session:
        audited = (await session.execute(select(OutboxEvent).where(
            OutboxEvent.event_type == "UserActivityRecorded",
            OutboxEvent.tenant_id == caller.tenant_id))).scalars().all()
    assert [r.envelope["payload"]["object_id"] for r in audited
            if r.envelope["payload"]["action"] == "detection.clip"] == [str(detection.id)]

    clip = tmp_path / "clip.mp4"
    clip.write_bytes(await object_store.get_bytes("lpr-clips", details["clip_key"]))
    info = await probe(clip)
    assert info.video_codec == "h264" and info.width == 320
    assert info.duration_seconds is not None
    assert 7.5 <= info.duration_seconds <= 8.6, info.duration_seconds


async def test_with_mediamtx_a_span_never_recorded_is_given_up(
    cameras: tuple[Any, dict[str, uuid.UUID]], object_store: Any, server: Server,
    sessions: async_sessionmaker[AsyncSession], tmp_path: Path,
) -> None:
    """Not recorded yet: left for the next tick; past give_up_seconds: ``clip_error``."""
    caller, ids = cameras
    services = server.app.state.services
    detected_at = datetime.now(UTC) - timedelta(seconds=10)
    recorded = await services.recorder.record(NewDetection(
        tenant_id=caller.tenant_id, camera_id=ids["events"], plate=PlateNumber("MTX9Z99"),
        confidence=0.9, detected_at=detected_at))
    async with sessions() as session:
        detection = (await session.execute(select(Detection).where(
            Detection.id == recorded.detection.id))).scalar_one()
    standin = PlaybackStandIn()
    with serve_standin(standin.app) as url:
        engine = MediaMtxEngine(MediaMtxClient("http://127.0.0.1:9", timeout_seconds=1.0),
                                playback=MediaMtxPlayback(url, ready_wait_seconds=0.2,
                                                          retry_seconds=0.1))
        clips = EventClips(sessions=sessions, store=object_store, engine=engine,
                           audit=services.audit, work_dir=tmp_path, give_up_seconds=60)
        try:
            assert not await clips.capture(detection)
            details = (await services.detections.get(detection.id, caller.tenant_id)).details
            assert "clip_error" not in details and "clip_key" not in details
            later = datetime.now(UTC) + timedelta(seconds=120)
            assert not await clips.capture(detection, now=later)
        finally:
            await engine.close()
    details = (await services.detections.get(detection.id, caller.tenant_id)).details
    assert "not recorded in time" in details["clip_error"]


class CountingClipSource:
    """A clip source that cuts (a stand-in file, after a pause) or, as another host's
    engine would, has no video of the camera; it counts what it was asked."""

    def __init__(self, has_video: bool) -> None:
        self.has_video = has_video
        self.cuts = 0

    async def cut_clip(self, camera_id: uuid.UUID, start: datetime, end: datetime,
                       output: Path) -> ClipSpan | None:
        self.cuts += 1
        if not self.has_video:
            return None
        await asyncio.sleep(0.3)  # long enough for the other worker's tick to overlap
        output.write_bytes(b"\x00\x00\x00\x18ftypmp42")
        return ClipSpan(start=start, end=end)


async def test_of_several_workers_one_cuts_each_clip(
    cameras: tuple[Any, dict[str, uuid.UUID]], server: Server, redis_client: Any,
    object_store: Any, sessions: async_sessionmaker[AsyncSession], tmp_path: Path,
) -> None:
    """Every API worker runs the clip loop; the detection's claim in Redis lets one cut
    it, and one that has no video of the camera gives the claim back to the others."""
    caller, ids = cameras
    services = server.app.state.services
    # Ten minutes old: past the running app's own look-back; the workers here tick "then".
    detected_at = datetime.now(UTC) - timedelta(minutes=10)
    recorded = await services.recorder.record(NewDetection(
        tenant_id=caller.tenant_id, camera_id=ids["events"], plate=PlateNumber("CLM1A23"),
        confidence=0.9, detected_at=detected_at))
    then = detected_at + timedelta(seconds=10)
    prefix = f"gtv-test-{uuid.uuid4().hex[:8]}:event-clip:"

    def worker(name: str, source: CountingClipSource) -> EventClips:
        return EventClips(sessions=sessions, store=object_store, engine=source,
                          audit=services.audit, work_dir=tmp_path / name,
                          claims=RedisClaims(redis_client, prefix, ttl_seconds=60,
                                             holder=name))

    elsewhere = CountingClipSource(has_video=False)
    assert await worker("elsewhere", elsewhere).tick(now=then) == 0
    assert elsewhere.cuts == 1
    here_a, here_b = CountingClipSource(has_video=True), CountingClipSource(has_video=True)
    made = await asyncio.gather(worker("a", here_a).tick(now=then),
                                worker("b", here_b).tick(now=then))
    assert sorted(made) == [0, 1] and here_a.cuts + here_b.cuts == 1
    details = (await services.detections.get(recorded.detection.id, caller.tenant_id)).details
    assert details["clip_key"].endswith(f"/{recorded.detection.id}.mp4")
