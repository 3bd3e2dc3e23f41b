"""The LPR frame source against a real RTSP camera (the simulator) and a real file: a
live camera is read at its own pace, so a slow consumer gets the newest frame and the
frames it was too busy for are dropped (and counted), never queued behind it; a file has
no pace and yields every sampled frame."""

from __future__ import annotations

import asyncio
import itertools
import subprocess
from pathlib import Path
from typing import Any

import pytest

from streaming_service.infrastructure.frame_source import FfmpegFrameSource
from tests.integration.conftest import SIM_SIZE

pytestmark = pytest.mark.slow


async def _take(source: FfmpegFrameSource, count: int, busy_s: float) -> list[float]:
    """Stamps of the first ``count`` frames, spending ``busy_s`` on each as a loaded
    recogniser would."""
    stamps: list[float] = []
    async for frame in source.frames():
        assert frame.image.shape == (SIM_SIZE[1], SIM_SIZE[0], 3)
        stamps.append(frame.at)
        if len(stamps) == count:
            break
        await asyncio.sleep(busy_s)  # the worker reads a frame in a thread, the loop runs on
    await source.close()
    return stamps


async def test_a_slow_consumer_gets_the_newest_frame_and_the_rest_are_dropped(
    camera_urls: dict[str, str], streaming_settings: Any,
) -> None:
    dropped: list[int] = []
    source = FfmpegFrameSource(camera_urls["cam1"], fps=4, width=SIM_SIZE[0],
                               height=SIM_SIZE[1],
                               address_policy=streaming_settings.camera_network_policy(),
                               on_dropped=dropped.append)
    stamps = await _take(source, 9, busy_s=0.75)
    # 8 busy spells of 0.75 s while the camera was sampled at 4 frames a second: about
    # 24 frames came, 9 were taken; in lockstep none would have been dropped and the 9th
    # frame would be from 2 s into the stream, 4 s behind the camera.
    assert sum(dropped) >= 8, dropped
    # The consumer never waited long for its next frame: one was already there, or came
    # within the camera's 0.25 s (plus the scheduling of a loaded host).
    assert all(later - earlier < 2.0 for earlier, later in itertools.pairwise(stamps))


async def test_a_file_yields_every_sampled_frame_however_slow_the_consumer(
    tmp_path: Path, streaming_settings: Any,
) -> None:
    video = tmp_path / "clip.mp4"
    subprocess.run(
        ["ffmpeg", "-nostdin", "-v", "error", "-f", "lavfi", "-i",
         f"testsrc=size={SIM_SIZE[0]}x{SIM_SIZE[1]}:rate=10:duration=3",
         "-c:v", "libx264", "-preset", "ultrafast", str(video)],
        check=True, timeout=60)
    dropped: list[int] = []
    source = FfmpegFrameSource(str(video), fps=4, width=SIM_SIZE[0], height=SIM_SIZE[1],
                               address_policy=streaming_settings.camera_network_policy(),
                               on_dropped=dropped.append)
    stamps = await _take(source, 100, busy_s=0.1)
    assert len(stamps) == 12  # 3 s at 4 frames a second, none skipped
    assert dropped == []


async def test_a_camera_redirecting_elsewhere_yields_no_frame_and_is_refused(
    private_camera: Any, streaming_settings: Any,
) -> None:
    """An RTSP 3xx would take ffmpeg past the camera network check: the source stops as
    ffmpeg reports it, before any frame of the target (a working camera here) is read."""
    from streaming_service.domain.errors import CameraSourceRefused
    from streaming_service.domain.stream import StreamFailure
    from tests.integration.conftest import SIMULATOR_POLICY
    from tests.integration.streaming.test_camera_failures import tcp_listener

    target = private_camera.url("solo")
    answer = f"RTSP/1.0 302 Moved\r\nCSeq: 1\r\nLocation: {target}\r\n\r\n".encode()
    with tcp_listener(answer) as port:
        source = FfmpegFrameSource(f"rtsp://127.0.0.1:{port}/cam", fps=4, width=SIM_SIZE[0],
                                   height=SIM_SIZE[1], address_policy=SIMULATOR_POLICY)
        frames = []
        with pytest.raises(CameraSourceRefused) as refused:
            async for frame in source.frames():
                frames.append(frame)
    assert refused.value.failure is StreamFailure.ADDRESS_NOT_ALLOWED
    assert frames == []
    # The same camera, asked for directly, is read: the refusal was the redirect's.
    direct = FfmpegFrameSource(target, fps=4, width=SIM_SIZE[0], height=SIM_SIZE[1],
                               address_policy=SIMULATOR_POLICY)
    assert len(await _take(direct, 2, busy_s=0.0)) == 2
