"""Frames sampled from a camera by an ``ffmpeg`` child process (RTSP, or the engine's
live HLS): decoded, resampled to a few frames per second and scaled in ffmpeg, read as
raw BGR frames from its stdout. Runs in an LPR worker process, never in the API.

A camera URL is checked against the camera network policy, and pinned to the checked
address, each time ffmpeg is started (``infrastructure.camera_address``); a refused
camera yields no frame and raises ``CameraSourceRefused`` (the worker logs its code)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator

import numpy as np

from shared_kernel.camera_network import DEFAULT_POLICY, CameraNetworkPolicy
from streaming_service.domain.ai.ports import SampledFrame
from streaming_service.infrastructure.camera_address import connectable_url, is_local_file

log = logging.getLogger(__name__)


class FfmpegFrameSource:
    def __init__(self, url: str, *, fps: float = 4.0, width: int = 1280, height: int = 720,
                 ffmpeg: str = "ffmpeg", read_timeout: float = 15.0,
                 address_policy: CameraNetworkPolicy = DEFAULT_POLICY) -> None:
        self._url = url
        self._address_policy = address_policy
        self._fps = fps
        self._width = width
        self._height = height
        self._ffmpeg = ffmpeg
        self._read_timeout = read_timeout
        self._proc: asyncio.subprocess.Process | None = None

    def command(self, url: str | None = None) -> list[str]:
        """ffmpeg's argv, reading ``url`` (default: the source's own URL, unchecked)."""
        url = url or self._url
        args = [self._ffmpeg, "-nostdin", "-hide_banner", "-loglevel", "error"]
        if url.startswith("rtsp"):
            args += ["-rtsp_transport", "tcp", "-timeout", "10000000"]
        args += [
            "-i", url, "-an",
            "-vf", f"fps={self._fps},scale={self._width}:{self._height}",
            "-f", "rawvideo", "-pix_fmt", "bgr24", "pipe:1",
        ]
        return args

    async def frames(self) -> AsyncIterator[SampledFrame]:
        url = self._url
        if not is_local_file(url):
            url = await connectable_url(url, self._address_policy)
        self._proc = await asyncio.create_subprocess_exec(
            *self.command(url), stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.DEVNULL)
        assert self._proc.stdout is not None
        size = self._width * self._height * 3
        try:
            while True:
                try:
                    raw = await asyncio.wait_for(
                        self._proc.stdout.readexactly(size), self._read_timeout)
                except asyncio.IncompleteReadError:
                    return  # the stream ended
                except TimeoutError:
                    log.warning("no frame from camera in time",
                                extra={"timeout": self._read_timeout})
                    return
                image = np.frombuffer(raw, np.uint8).reshape(self._height, self._width, 3)
                yield SampledFrame(image=image, at=time.time())
        finally:
            await self.close()

    async def close(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        try:
            if proc.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    proc.terminate()
                try:
                    await asyncio.wait_for(proc.wait(), 5)
                except TimeoutError:
                    with contextlib.suppress(ProcessLookupError):
                        proc.kill()
                    # Bounded too: with unread frames buffered, Python 3.11 may not
                    # report the exit until the pipe closes, which the finally does.
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(proc.wait(), 5)
        finally:
            # Also when the wait above is cancelled: closing the transport kills a process
            # still running and closes the pipes now, not at garbage collection (possibly
            # after the event loop is gone).
            transport = getattr(proc, "_transport", None)
            if transport is not None:
                transport.close()
