"""Frames sampled from a camera by an ``ffmpeg`` child process (RTSP, or the engine's
live HLS): decoded, resampled to a few frames per second and scaled in ffmpeg, read as
raw BGR frames from its stdout. Runs in an LPR worker process, never in the API.

A camera URL is checked against the camera network policy, and pinned to the checked
address, each time ffmpeg is started (``infrastructure.camera_address``); a refused
camera yields no frame and raises ``CameraSourceRefused`` (the worker logs its code).
A camera that answers with an RTSP redirect would lead ffmpeg past that check, so ffmpeg's
log is watched for it: ffmpeg is killed as it reports the redirect, before it could
decode a frame of the target, and the source raises ``address_not_allowed``.

A live camera is read at its own pace, whatever the consumer's: a reader task drains
ffmpeg's pipe as frames come and keeps only the newest, which the consumer takes when it
is ready; the frames it never took are dropped (and counted). Read in lockstep instead, a
consumer slower than the sampled rate (a busy host, several cameras on one worker) made
ffmpeg, and behind it the RTSP session, wait: the frames it got fell further and further
behind the camera (tens of seconds in minutes) while being stamped with the time they were
read, so vehicles were tracked and reported late, with wrong times, or not at all when
the camera's server gave up on the backlog. A local file has no pace of its own and is
read frame by frame, none dropped."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable

import numpy as np

from shared_kernel.camera_network import DEFAULT_POLICY, CameraNetworkPolicy
from streaming_service.domain.ai.ports import SampledFrame
from streaming_service.domain.errors import CameraSourceRefused
from streaming_service.domain.stream import StreamFailure
from streaming_service.infrastructure.camera_address import connectable_url, is_local_file
from streaming_service.infrastructure.ffmpeg_failures import followed_a_redirect

log = logging.getLogger(__name__)


class FfmpegFrameSource:
    def __init__(self, url: str, *, fps: float = 4.0, width: int = 1280, height: int = 720,
                 ffmpeg: str = "ffmpeg", read_timeout: float = 15.0,
                 address_policy: CameraNetworkPolicy = DEFAULT_POLICY,
                 on_dropped: Callable[[int], None] | None = None) -> None:
        self._url = url
        self._on_dropped = on_dropped
        self._address_policy = address_policy
        self._fps = fps
        self._width = width
        self._height = height
        self._ffmpeg = ffmpeg
        self._read_timeout = read_timeout
        self._proc: asyncio.subprocess.Process | None = None
        self._reader: asyncio.Task[None] | None = None
        self._log_watch: asyncio.Task[None] | None = None
        self._redirected = False

    def command(self, url: str | None = None) -> list[str]:
        """ffmpeg's argv, reading ``url`` (default: the source's own URL, unchecked)."""
        url = url or self._url
        rtsp = url.startswith("rtsp")
        # "info": the level at which ffmpeg reports following an RTSP redirect (watched).
        args = [self._ffmpeg, "-nostdin", "-hide_banner", "-nostats",
                "-loglevel", "info" if rtsp else "error"]
        if rtsp:
            args += ["-rtsp_transport", "tcp", "-timeout", "10000000"]
        args += [
            "-i", url, "-an",
            "-vf", f"fps={self._fps},scale={self._width}:{self._height}",
            "-f", "rawvideo", "-pix_fmt", "bgr24", "pipe:1",
        ]
        return args

    async def frames(self) -> AsyncIterator[SampledFrame]:
        url = self._url
        local = is_local_file(url)
        if not local:
            url = await connectable_url(url, self._address_policy)
        watched = url.startswith("rtsp")
        self._redirected = False
        self._proc = await asyncio.create_subprocess_exec(
            *self.command(url), stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE if watched else asyncio.subprocess.DEVNULL)
        if watched:
            self._log_watch = asyncio.create_task(self._watch_log(self._proc),
                                                  name="frame-source-log")
        try:
            if local:
                while (frame := await self._read_frame()) is not None:
                    yield frame
                return
            async for frame in self._newest_frames():
                yield frame
            if self._redirected:
                raise CameraSourceRefused(StreamFailure.ADDRESS_NOT_ALLOWED,
                                          {"reason": "redirected"})
        finally:
            await self.close()

    async def _watch_log(self, proc: asyncio.subprocess.Process) -> None:
        """Reads ffmpeg's log to its end (an unread pipe would stall ffmpeg) and kills
        ffmpeg the moment it reports following a redirect."""
        assert proc.stderr is not None
        while True:
            try:
                line = await proc.stderr.readline()
            except ValueError:  # a line over the reader's limit: skipped, not fatal
                continue
            if not line:
                return
            if followed_a_redirect(line.decode("utf-8", "replace")):
                self._redirected = True
                log.warning("camera redirected the frame source elsewhere; refused")
                with contextlib.suppress(ProcessLookupError):
                    proc.kill()
                return

    async def _read_frame(self) -> SampledFrame | None:
        """The next frame from ffmpeg, stamped when it arrived; None when the stream ended
        or no frame came within the read timeout."""
        proc = self._proc
        if proc is None or proc.stdout is None:
            return None
        try:
            # asyncio.timeout, not wait_for: Python 3.11's wait_for drops a cancellation
            # that lands as the read completes, and the reader would not stop.
            async with asyncio.timeout(self._read_timeout):
                raw = await proc.stdout.readexactly(self._width * self._height * 3)
        except asyncio.IncompleteReadError:
            return None
        except TimeoutError:
            log.warning("no frame from camera in time", extra={"timeout": self._read_timeout})
            return None
        if self._redirected:
            return None
        image = np.frombuffer(raw, np.uint8).reshape(self._height, self._width, 3)
        return SampledFrame(image=image, at=time.time())

    async def _newest_frames(self) -> AsyncIterator[SampledFrame]:
        newest: list[SampledFrame] = []  # at most one: the frame not yet taken
        arrived = asyncio.Event()
        ended = False

        async def read() -> None:
            nonlocal ended
            try:
                while (frame := await self._read_frame()) is not None:
                    if newest:
                        newest[0] = frame
                        if self._on_dropped is not None:
                            self._on_dropped(1)
                    else:
                        newest.append(frame)
                    arrived.set()
            finally:
                ended = True
                arrived.set()

        reader = self._reader = asyncio.create_task(read(), name="frame-reader")
        try:
            while True:
                if newest:
                    yield newest.pop()
                    continue
                if ended:
                    # The stream ended (or the reader failed) after its last frame was taken.
                    if reader.done() and not reader.cancelled() and reader.exception():
                        raise reader.exception()  # type: ignore[misc]
                    return
                arrived.clear()
                await arrived.wait()
        finally:
            await self._stop_reader()

    async def _stop_reader(self) -> bool:
        """Cancels the reader task; False if it would not stop (ffmpeg is then closed
        under it, which ends its read)."""
        reader, self._reader = self._reader, None
        if reader is None:
            return True
        for _ in range(3):
            if reader.done():
                if not reader.cancelled():
                    reader.exception()  # retrieved: it was raised, or the stream had ended
                return True
            reader.cancel()
            await asyncio.wait([reader], timeout=1.0)  # its end, not raising what ended it
        log.warning("frame reader did not stop; closing ffmpeg under it")
        return reader.done()

    async def close(self) -> None:
        reader_stopped = await self._stop_reader()
        log_watch, self._log_watch = self._log_watch, None
        if log_watch is not None:
            log_watch.cancel()
            await asyncio.wait([log_watch], timeout=1.0)
        proc, self._proc = self._proc, None
        if proc is None:
            return
        try:
            if proc.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    proc.terminate()
                try:
                    await asyncio.wait_for(_exited(proc, drain=reader_stopped), 5)
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


async def _exited(proc: asyncio.subprocess.Process, *, drain: bool) -> None:
    """Waits for ffmpeg to exit, reading away the frames still in its pipe: Python 3.11
    reports a child's exit only once its pipes are closed, so an unread pipe made every
    stop wait for the kill below. (Not while a reader still reads it.)"""
    if drain and proc.stdout is not None:
        while await proc.stdout.read(1 << 20):
            pass
    await proc.wait()
