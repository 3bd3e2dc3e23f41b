"""One-shot ffmpeg/ffprobe jobs: a JPEG snapshot, an export of recorded segments, a probe.

Every call runs one subprocess with a timeout (killed and reaped when it expires) and
raises ``MediaToolError`` on failure, carrying a ``StreamFailure`` code; ffmpeg's stderr
(masked: sources may be camera URLs with credentials) goes to the server log only. A
source that is a camera URL is checked against the camera network policy and pinned to
the checked address first (``infrastructure.camera_address``); a refused one raises the
domain's ``CameraSourceRefused`` and ffmpeg never runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shared_kernel.camera_network import DEFAULT_POLICY, CameraNetworkPolicy
from shared_kernel.masking import mask_urls_in_text
from streaming_service.application.snapshots import GrabbedFrame
from streaming_service.domain.stream import StreamFailure
from streaming_service.infrastructure.camera_address import connectable_url, is_local_file
from streaming_service.infrastructure.ffmpeg_failures import (
    classify_ffmpeg_failure,
    followed_a_redirect,
)

log = logging.getLogger(__name__)

# ffmpeg's RTSP socket I/O timeout for one-shot jobs, in seconds.
RTSP_IO_TIMEOUT = 5.0


class MediaToolError(RuntimeError):
    """An ffmpeg/ffprobe job failed or timed out. ``failure`` says why in the codes
    clients see; the message never holds credentials or ffmpeg's own text."""

    def __init__(self, message: str, failure: StreamFailure = StreamFailure.STREAM_ERROR):
        super().__init__(message)
        self.failure = failure


@dataclass(frozen=True)
class ProbeResult:
    duration_seconds: float | None
    format_name: str | None
    video_codec: str | None
    width: int | None
    height: int | None
    raw: dict[str, Any]
    fps: float | None = None


def _frame_rate(video: dict[str, Any]) -> float | None:
    """ffprobe's ``avg_frame_rate`` (else ``r_frame_rate``), "30000/1001" → 29.97."""
    for key in ("avg_frame_rate", "r_frame_rate"):
        num, _, den = str(video.get(key) or "").partition("/")
        try:
            rate = float(num) / float(den or 1)
        except (ValueError, ZeroDivisionError):
            continue
        if 0 < rate < 1000:
            return round(rate, 2)
    return None


async def run_tool(command: Sequence[str], timeout: float,
                   io_timeout: float | None = None) -> bytes:
    """Run ``command``; its stdout, or MediaToolError (non-zero exit, timeout, or an RTSP
    redirect, on which the job is killed the moment ffmpeg reports it)."""
    started = time.monotonic()
    name = Path(command[0]).name
    try:
        process = await asyncio.create_subprocess_exec(
            *command, stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE, start_new_session=True,
        )
    except OSError as exc:
        raise MediaToolError(f"cannot run {command[0]}: {exc}") from exc
    assert process.stdout is not None and process.stderr is not None
    stderr: list[str] = []
    redirected = False

    async def read_stderr(stream: asyncio.StreamReader) -> None:
        nonlocal redirected
        try:
            async for raw in stream:
                line = raw.decode(errors="replace")
                stderr.append(line)
                if not redirected and followed_a_redirect(line):
                    redirected = True
                    with contextlib.suppress(ProcessLookupError):
                        process.kill()
        except ValueError:  # a line over the reader's limit: the rest, whole
            rest = (await stream.read()).decode(errors="replace")
            stderr.append(rest)
            redirected = redirected or followed_a_redirect(rest)

    reading = asyncio.gather(process.stdout.read(), read_stderr(process.stderr),
                             process.wait())
    try:
        stdout, _, _ = await asyncio.wait_for(reading, timeout=timeout)
    except (TimeoutError, asyncio.CancelledError) as exc:
        with contextlib.suppress(ProcessLookupError):
            process.kill()
        await process.wait()
        if isinstance(exc, asyncio.CancelledError):
            raise
        if not redirected:
            raise MediaToolError(f"{name} timed out after {timeout:g} s",
                                 StreamFailure.TIMEOUT) from None
    if redirected:
        # Killed as ffmpeg turned to the redirect's target: the answer does not depend on
        # what is there, so the job tells nothing about an address the policy never
        # allowed.
        log.warning("%s was redirected by the camera; refused", name,
                    extra={"failure": StreamFailure.ADDRESS_NOT_ALLOWED.value})
        raise MediaToolError(f"{name} was redirected elsewhere by the camera",
                             StreamFailure.ADDRESS_NOT_ALLOWED)
    if process.returncode != 0:
        tail = mask_urls_in_text("".join(stderr).strip())[-500:]
        failure = classify_ffmpeg_failure(tail.splitlines(), returncode=process.returncode,
                                          elapsed=time.monotonic() - started,
                                          io_timeout=io_timeout)
        log.warning("%s exited with %s (%s): %s", name, process.returncode, failure.value,
                    tail or "no output", extra={"failure": failure.value})
        raise MediaToolError(f"{name} exited with {process.returncode} ({failure.value})",
                             failure)
    return stdout


async def _camera_source(source: str, policy: CameraNetworkPolicy) -> str:
    """``source`` ready for ffmpeg: a local file as it is, a camera URL pinned to an
    address the policy allows (``CameraSourceRefused`` otherwise)."""
    if is_local_file(source):
        return source
    return await connectable_url(source, policy)


def _loglevel(source: str) -> str:
    """ffmpeg reports an RTSP redirect at "info" only (``run_tool`` refuses one)."""
    return "info" if source.startswith(("rtsp://", "rtsps://")) else "error"


def _input_options(source: str) -> list[str]:
    if source.startswith(("rtsp://", "rtsps://")):
        return ["-rtsp_transport", "tcp", "-timeout", str(int(RTSP_IO_TIMEOUT * 1_000_000))]
    if source.endswith(".m3u8"):
        return ["-live_start_index", "-1"]  # the newest segment of a live playlist
    return []


async def snapshot(source: str, *, width: int | None = None, timeout: float = 15.0,
                   ffmpeg: str = "ffmpeg",
                   address_policy: CameraNetworkPolicy = DEFAULT_POLICY) -> bytes:
    """One JPEG frame of ``source``: an RTSP URL, a (live) HLS playlist or a video file
    (an absolute path).

    Decodes only keyframes (``-skip_frame nokey``), so the picture is never a half-decoded
    frame from mid-GOP; costs at most one GOP of waiting on a live source.
    """
    source = await _camera_source(source, address_policy)
    scale = ["-vf", f"scale={width}:-2"] if width else []
    command = [
        ffmpeg, "-hide_banner", "-nostdin", "-loglevel", _loglevel(source),
        *_input_options(source), "-skip_frame", "nokey", "-i", source,
        "-map", "0:v:0", "-frames:v", "1", *scale, "-q:v", "3",
        "-f", "image2pipe", "-c:v", "mjpeg", "pipe:1",
    ]
    data = await run_tool(command, timeout, io_timeout=RTSP_IO_TIMEOUT)
    if not data.startswith(b"\xff\xd8"):
        raise MediaToolError("ffmpeg produced no JPEG frame", StreamFailure.NOT_A_STREAM)
    return data


async def grab_frame(source: str, output: Path, *, timeout: float = 15.0,
                     ffmpeg: str = "ffmpeg", ffprobe: str = "ffprobe",
                     address_policy: CameraNetworkPolicy = DEFAULT_POLICY) -> GrabbedFrame:
    """``snapshot`` written to ``output`` (the snapshots use case's ``FrameGrabber``)."""
    output.write_bytes(await snapshot(source, timeout=timeout, ffmpeg=ffmpeg,
                                      address_policy=address_policy))
    info = await probe(output, timeout=timeout, ffprobe=ffprobe)
    return GrabbedFrame(width=info.width, height=info.height)


async def concat_segments(paths: Sequence[Path], out_path: Path, *, start_offset: float = 0.0,
                          duration: float | None = None, timeout: float = 120.0,
                          ffmpeg: str = "ffmpeg") -> None:
    """Join MP4 segments (in order) into one progressive MP4 without re-encoding.

    Keeps ``duration`` seconds from ``start_offset`` into the first segment; with stream
    copy the cut lands on the keyframe at or before ``start_offset``.
    """
    if not paths:
        raise MediaToolError("no segments to concatenate")
    if start_offset < 0 or (duration is not None and duration <= 0):
        raise MediaToolError("start_offset must be >= 0 and duration > 0")
    out_path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile("w", suffix=".txt", dir=out_path.parent,
                                     delete=False) as listing:
        for path in paths:
            escaped = str(Path(path).resolve()).replace("'", "'\\''")
            listing.write(f"file '{escaped}'\n")
        list_path = Path(listing.name)
    command = [ffmpeg, "-hide_banner", "-nostdin", "-loglevel", "error", "-y",
               "-f", "concat", "-safe", "0"]
    if start_offset > 0:
        command += ["-ss", f"{start_offset:.3f}"]
    command += ["-i", str(list_path), "-map", "0:v:0", "-c", "copy"]
    if duration is not None:
        command += ["-t", f"{duration:.3f}"]
    command += ["-movflags", "+faststart", "-f", "mp4", str(out_path)]
    try:
        await run_tool(command, timeout)
    finally:
        list_path.unlink(missing_ok=True)


async def probe(path: Path | str, *, timeout: float = 15.0, ffprobe: str = "ffprobe",
                address_policy: CameraNetworkPolicy = DEFAULT_POLICY) -> ProbeResult:
    """ffprobe's view of a file (or of a camera URL, checked like any camera source):
    duration, container, first video stream."""
    source = await _camera_source(str(Path(path).resolve()) if isinstance(path, Path)
                                  else path, address_policy)
    command = [ffprobe, "-hide_banner", "-v", _loglevel(source), "-print_format", "json",
               "-show_format", "-show_streams", *_input_options(source), source]
    try:
        info: dict[str, Any] = json.loads(await run_tool(command, timeout,
                                                         io_timeout=RTSP_IO_TIMEOUT))
    except json.JSONDecodeError as exc:
        raise MediaToolError("ffprobe returned no JSON") from exc
    fmt = info.get("format", {})
    video: dict[str, Any] = next(
        (s for s in info.get("streams", []) if s.get("codec_type") == "video"), {}
    )
    duration = fmt.get("duration") or video.get("duration")
    return ProbeResult(
        duration_seconds=float(duration) if duration not in (None, "N/A") else None,
        format_name=fmt.get("format_name"),
        video_codec=video.get("codec_name"),
        width=video.get("width"),
        height=video.get("height"),
        raw=info,
        fps=_frame_rate(video),
    )
