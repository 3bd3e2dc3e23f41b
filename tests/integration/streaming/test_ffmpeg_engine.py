"""The embedded FFmpeg engine against real simulated RTSP cameras and real ffmpeg."""

from __future__ import annotations

import asyncio
import logging
import os
import sys
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from streaming_service.domain.ports import CompletedSegment
from streaming_service.domain.stream import Backoff, StreamSource, StreamState, StreamStatus
from streaming_service.infrastructure.engines.ffmpeg.engine import (
    FFmpegEngine,
    FFmpegEngineOptions,
    live_playlist,
)
from streaming_service.infrastructure.ffmpeg_tools import concat_segments, probe, snapshot
from tests.integration.conftest import CAMERA_PASSWORD, SIM_SIZE, SIMULATOR_POLICY
from tools.camera_sim.simulator import CameraSimulator

LIVE_TIMEOUT = 20.0
ROOT = Path(__file__).resolve().parents[3]


@dataclass
class Recorder:
    statuses: list[StreamStatus] = field(default_factory=list)
    segments: list[CompletedSegment] = field(default_factory=list)
    segment_arrived: asyncio.Event = field(default_factory=asyncio.Event)

    async def on_status(self, status: StreamStatus) -> None:
        self.statuses.append(status)

    async def on_segment(self, segment: CompletedSegment) -> None:
        self.segments.append(segment)
        self.segment_arrived.set()

    def states(self) -> list[StreamState]:
        return [s.state for s in self.statuses]


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
async def engine(tmp_path: Path, recorder: Recorder) -> AsyncIterator[FFmpegEngine]:
    options = FFmpegEngineOptions(
        stall_timeout=3.0, start_timeout=15.0, stop_timeout=5.0, status_interval=1.0,
        backoff=Backoff(initial_seconds=0.5, factor=2.0, max_seconds=2.0),
    )
    engine = FFmpegEngine(tmp_path / "media", recorder.on_status, recorder.on_segment, options,
                          address_policy=SIMULATOR_POLICY)
    yield engine
    await engine.close()


def _source(url: str, *, record: bool = False, segment_seconds: int = 2) -> StreamSource:
    return StreamSource(camera_id=uuid.uuid4(), tenant_id=uuid.uuid4(), url=url, record=record,
                        segment_seconds=segment_seconds)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _segments_in(playlist: Path) -> list[Path]:
    return [playlist.parent / line for line in playlist.read_text().splitlines()
            if line and not line.startswith("#")]


async def test_stream_goes_live_with_decodable_hls_and_stops_clean(
    engine: FFmpegEngine, recorder: Recorder, camera_urls: dict[str, str]
) -> None:
    source = _source(camera_urls["cam1"])
    first = await engine.start(source)
    assert first.state == StreamState.STARTING and first.engine == "ffmpeg"
    assert (await engine.start(source)).state in (StreamState.STARTING, StreamState.LIVE)

    live = await engine.wait_for_state(source.camera_id, StreamState.LIVE, timeout=LIVE_TIMEOUT)
    assert live.bitrate_kbps is not None and live.bitrate_kbps > 0
    assert live.last_frame_at is not None and live.started_at is not None
    urls = engine.urls(source.camera_id)
    assert urls.hls == f"/api/streaming/live/{source.camera_id}/index.m3u8"
    assert urls.webrtc is None

    playlist = live_playlist(engine.media_root, source.camera_id)
    segments = _segments_in(playlist)
    assert segments
    info = await probe(segments[0])
    assert info.video_codec == "h264" and (info.width, info.height) == SIM_SIZE
    assert info.duration_seconds is not None and info.duration_seconds > 0

    jpeg = await snapshot(str(playlist), timeout=15)
    assert jpeg.startswith(b"\xff\xd8")

    pid = engine.pid(source.camera_id)
    assert pid is not None and _alive(pid)
    await engine.stop(source.camera_id)
    assert not _alive(pid)
    assert not playlist.parent.exists()
    assert await engine.status(source.camera_id) is None
    assert recorder.states()[0] == StreamState.STARTING
    assert recorder.states()[-1] == StreamState.STOPPED


async def test_recording_reports_decodable_segments_that_export_to_one_mp4(
    engine: FFmpegEngine, recorder: Recorder, camera_urls: dict[str, str], tmp_path: Path
) -> None:
    source = _source(camera_urls["cam2"], record=False, segment_seconds=2)
    await engine.start(source)
    await engine.wait_for_state(source.camera_id, StreamState.LIVE, timeout=LIVE_TIMEOUT)
    assert recorder.segments == []

    await engine.set_recording(source.camera_id, True)
    status = await engine.status(source.camera_id)
    assert status is not None and status.recording
    async with asyncio.timeout(20):
        while len(recorder.segments) < 2:
            await recorder.segment_arrived.wait()
            recorder.segment_arrived.clear()
    # Switching recording on restarts ffmpeg, but not as a failure.
    status = await engine.status(source.camera_id)
    assert status is not None and status.state == StreamState.LIVE and status.restarts == 0

    for segment in recorder.segments:
        assert segment.camera_id == source.camera_id and segment.tenant_id == source.tenant_id
        assert segment.path.parent == engine.record_dir(source.camera_id)
        assert segment.ended_at > segment.started_at
        info = await probe(segment.path)
        assert info.video_codec == "h264"
        assert info.duration_seconds is not None and info.duration_seconds > 0

    export = tmp_path / "export.mp4"
    await concat_segments([s.path for s in recorder.segments[:2]], export, start_offset=0.0,
                          duration=60.0)
    exported = await probe(export)
    assert exported.video_codec == "h264"
    assert exported.duration_seconds is not None and exported.duration_seconds > 0.5

    await engine.stop(source.camera_id)


async def test_lost_camera_reconnects_and_goes_live_again_without_leaking_credentials(
    engine: FFmpegEngine, recorder: Recorder, private_camera: CameraSimulator,
    caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    source = _source(private_camera.url("solo"))
    assert CAMERA_PASSWORD in source.url
    await engine.start(source)
    await engine.wait_for_state(source.camera_id, StreamState.LIVE, timeout=LIVE_TIMEOUT)

    private_camera.pause("solo")  # connection dropped, path gone (404)
    lost = await engine.wait_for_state(source.camera_id, StreamState.RECONNECTING, timeout=15)
    assert lost.error
    await asyncio.sleep(2)  # a few failed reconnection attempts against the 404
    private_camera.resume("solo")
    back = await engine.wait_for_state(source.camera_id, StreamState.LIVE, timeout=LIVE_TIMEOUT)
    assert back.restarts >= 1 and back.error is None

    private_camera.freeze("solo")  # connection kept open, but no more frames
    stalled = await engine.wait_for_state(source.camera_id, StreamState.RECONNECTING,
                                          timeout=15)
    assert stalled.error
    private_camera.unfreeze("solo")
    await engine.wait_for_state(source.camera_id, StreamState.LIVE, timeout=LIVE_TIMEOUT)
    await engine.stop(source.camera_id)

    assert caplog.records, "the engine logs its lifecycle"
    logged = "\n".join(
        [r.getMessage() for r in caplog.records] + [str(r.__dict__) for r in caplog.records]
    )
    assert CAMERA_PASSWORD not in logged
    assert all(CAMERA_PASSWORD not in (s.error or "") for s in recorder.statuses)


async def test_unreachable_camera_fails_after_the_backoff_gives_up(
    tmp_path: Path, recorder: Recorder
) -> None:
    options = FFmpegEngineOptions(start_timeout=5.0, backoff=Backoff(
        initial_seconds=0.1, max_seconds=0.2, max_attempts=2))
    engine = FFmpegEngine(tmp_path / "media", recorder.on_status, recorder.on_segment, options,
                          address_policy=SIMULATOR_POLICY)
    source = _source(f"rtsp://user:{CAMERA_PASSWORD}@127.0.0.1:9/nothing")  # discard port
    try:
        await engine.start(source)
        failed = await engine.wait_for_state(source.camera_id, StreamState.FAILED, timeout=20)
        assert failed.restarts == 2
        assert failed.error and CAMERA_PASSWORD not in failed.error
        assert StreamState.RECONNECTING in recorder.states()
        # A failed stream can be started again.
        again = await engine.start(source)
        assert again.state == StreamState.STARTING
    finally:
        await engine.close()


# A process running the engine on one camera, as an API worker does; it prints its
# stream's ffmpeg pid once live and then waits to be killed.
_ENGINE_PROCESS = """
import asyncio, sys, uuid
from pathlib import Path
from shared_kernel.camera_network import CameraNetworkPolicy
from streaming_service.domain.stream import StreamSource, StreamState
from streaming_service.infrastructure.engines.ffmpeg.engine import FFmpegEngine

async def main() -> None:
    engine = FFmpegEngine(Path(sys.argv[2]), address_policy=CameraNetworkPolicy.from_strings(
        allowed=["127.0.0.0/8"]))
    source = StreamSource(camera_id=uuid.uuid4(), tenant_id=uuid.uuid4(), url=sys.argv[1])
    await engine.start(source)
    await engine.wait_for_state(source.camera_id, StreamState.LIVE, timeout=20)
    print(engine.pid(source.camera_id), flush=True)
    await asyncio.sleep(120)

asyncio.run(main())
"""


async def test_a_killed_engine_process_takes_its_ffmpeg_with_it(
    camera_urls: dict[str, str], tmp_path: Path,
) -> None:
    """ffmpeg runs in a session of its own; a worker killed outright (no lifespan, no
    stop) must not leave it writing the camera's live playlist and recording."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-c", _ENGINE_PROCESS, camera_urls["cam1"], str(tmp_path / "media"),
        stdout=asyncio.subprocess.PIPE, env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        assert process.stdout is not None
        line = await asyncio.wait_for(process.stdout.readline(), timeout=40)
        ffmpeg_pid = int(line)
        assert _alive(ffmpeg_pid)
        process.kill()
        await process.wait()
        deadline = asyncio.get_running_loop().time() + 10
        while _alive(ffmpeg_pid) and asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(0.1)
        assert not _alive(ffmpeg_pid), "the stream's ffmpeg outlived its engine's process"
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
