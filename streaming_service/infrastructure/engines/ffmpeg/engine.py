"""The embedded FFmpeg media engine: one supervised ffmpeg process per active stream.

Each process pulls the camera's RTSP over TCP and copies the video (no re-encode) into

* live HLS: ``<media_root>/live/<camera_id>/index.m3u8`` (short MPEG-TS segments, a
  sliding playlist, old segments deleted), and, while recording is on,
* fixed-length fragmented-MP4 segments in ``<media_root>/recordings/<camera_id>/``,
  named by their UTC start time; each finished one is reported to ``on_segment``.

A supervisor task per stream watches ffmpeg's ``-progress`` output (frame count) and the
playlist, and reports STARTING → LIVE (the playlist has a fresh segment) → RECONNECTING
(ffmpeg exited, or no new frame for ``stall_timeout``) → LIVE again, or FAILED once the
backoff gives up. ``stop`` terminates ffmpeg (SIGTERM, then SIGKILL), waits for it and
removes the live directory.

The camera URL may hold credentials: it goes to ffmpeg's argv and nowhere else; every
log line carries it masked. Before each ffmpeg run the camera's address is checked
against the camera network policy and pinned (``infrastructure.camera_address``); a
refused address fails the stream at once with ``address_not_allowed``. Why a run failed
reaches the status (and clients) only as a ``StreamFailure`` code; ffmpeg's own words
stay in the server log.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import os
import re
import shutil
import signal
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from shared_kernel.camera_network import DEFAULT_POLICY, CameraNetworkPolicy
from shared_kernel.lifecycle import sleep_until_stopped
from shared_kernel.masking import mask_url, mask_urls_in_text
from streaming_service.domain.errors import CameraSourceRefused
from streaming_service.domain.ports import (
    ClipSpan,
    CompletedSegment,
    EngineUrls,
    SegmentSink,
    StatusSink,
)
from streaming_service.domain.stream import (
    Backoff,
    StreamFailure,
    StreamSource,
    StreamState,
    StreamStatus,
)
from streaming_service.infrastructure.camera_address import connectable_url
from streaming_service.infrastructure.child_processes import dies_with_this_process
from streaming_service.infrastructure.ffmpeg_failures import (
    classify_ffmpeg_failure,
    followed_a_redirect,
)

log = logging.getLogger(__name__)

SEGMENT_NAME_FORMAT = "%Y%m%dT%H%M%SZ"
_SEGMENT_NAME = re.compile(r"^(?P<ts>\d{8}T\d{6}Z)_(?P<run>[0-9a-f]+)\.mp4$")
_EXTINF = re.compile(r"^#EXTINF:(?P<duration>[0-9.]+)")
_STDERR_TAIL = 20

# Where the live HLS of a camera lives, under the media root and under the public URL.
LIVE_PLAYLIST = "live/{}/index.m3u8"


def live_dir(media_root: Path, camera_id: uuid.UUID) -> Path:
    return media_root / "live" / str(camera_id)


def live_playlist(media_root: Path, camera_id: uuid.UUID) -> Path:
    return media_root / LIVE_PLAYLIST.format(camera_id)


@dataclass(frozen=True)
class FFmpegEngineOptions:
    """Tuning of the engine; the defaults suit real cameras, tests shorten them."""

    ffmpeg: str = "ffmpeg"
    hls_time: float = 1.0
    hls_list_size: int = 6
    hls_keep_segments: int = 30
    """Segments that left the playlist stay on disk this many more (``hls_delete_threshold``):
    the pre-roll of event clips (``recording_mode = events``) is cut from them."""
    stall_timeout: float = 10.0
    """No new frame for this long (once running) means the camera is lost."""
    start_timeout: float = 20.0
    """No fresh HLS segment this long after ffmpeg started means the attempt failed."""
    stop_timeout: float = 5.0
    """SIGTERM grace before SIGKILL."""
    socket_timeout: float = 5.0
    """ffmpeg's own RTSP socket I/O timeout."""
    status_interval: float = 5.0
    """While live, a status (bitrate, last frame) is reported this often."""
    poll_interval: float = 0.25
    backoff: Backoff = dataclasses.field(default_factory=Backoff)
    default_retention_days: int | None = None
    """Local recording files older than this are deleted when a stream (re)starts."""


def _now() -> datetime:
    return datetime.now(UTC)


async def _noop_status(_status: StreamStatus) -> None:
    return None


async def _noop_segment(_segment: CompletedSegment) -> None:
    return None


def build_command(source: StreamSource, live_dir: Path, record_dir: Path | None,
                  run_token: str, options: FFmpegEngineOptions) -> list[str]:
    """ffmpeg's argv for one stream (the URL is the only secret in it)."""
    hls_flags = "+".join([
        "delete_segments", "append_list", "discont_start", "omit_endlist",
        "program_date_time", "independent_segments", "temp_file",
    ])
    command = [
        # "info": the level at which ffmpeg reports following an RTSP redirect (refused);
        # "level+": each line says its level, so only warnings and errors are kept.
        options.ffmpeg, "-hide_banner", "-nostdin", "-loglevel", "level+info",
        "-nostats", "-progress", "pipe:1", "-stats_period", "0.5",
        "-rtsp_transport", "tcp", "-timeout", str(int(options.socket_timeout * 1_000_000)),
        "-fflags", "+genpts", "-analyzeduration", "500000", "-probesize", "500000",
        "-i", source.url,
        "-map", "0:v:0", "-c", "copy",
        "-f", "hls", "-hls_time", f"{options.hls_time:g}",
        "-hls_list_size", str(options.hls_list_size),
        "-hls_delete_threshold", str(options.hls_keep_segments), "-hls_flags", hls_flags,
        "-hls_segment_filename", str(live_dir / "seg_%d.ts"),
        str(live_dir / "index.m3u8"),
    ]
    if record_dir is not None:
        command += [
            "-map", "0:v:0", "-c", "copy",
            "-f", "segment", "-segment_time", str(source.segment_seconds),
            "-segment_atclocktime", "1", "-reset_timestamps", "1",
            "-segment_format", "mp4",
            # Fragmented MP4: a segment cut short by a crash is still playable.
            "-segment_format_options", "movflags=+frag_keyframe+empty_moov+default_base_moof",
            "-segment_list", str(record_dir / f".{run_token}.csv"),
            "-segment_list_type", "csv",
            "-strftime", "1", str(record_dir / f"{SEGMENT_NAME_FORMAT}_{run_token}.mp4"),
        ]
    return command


class _Stream:
    """One camera's supervised ffmpeg."""

    def __init__(self, engine: FFmpegEngine, source: StreamSource) -> None:
        self.engine = engine
        self.source = source
        self.options = engine.options
        self.masked_url = mask_url(source.url)
        self.state = StreamState.STARTING
        self.started_at: datetime | None = None
        self.last_frame_at: datetime | None = None
        self.bitrate_kbps: float | None = None
        self.restarts = 0
        self.error: StreamFailure | None = None
        self.process: asyncio.subprocess.Process | None = None
        self._stopping = asyncio.Event()
        self._restart = asyncio.Event()
        self._frames = -1
        self._frame_changed = 0.0
        self._stderr_tail: list[str] = []
        self._redirected = False
        self._reported: set[str] = set()
        self._task: asyncio.Task[None] | None = None

    @property
    def camera_id(self) -> uuid.UUID:
        return self.source.camera_id

    @property
    def live_dir(self) -> Path:
        return self.engine.live_dir(self.camera_id)

    @property
    def record_dir(self) -> Path:
        return self.engine.record_dir(self.camera_id)

    def snapshot(self) -> StreamStatus:
        return StreamStatus(
            camera_id=self.source.camera_id, tenant_id=self.source.tenant_id,
            state=self.state, engine=self.engine.name, started_at=self.started_at,
            last_frame_at=self.last_frame_at, bitrate_kbps=self.bitrate_kbps,
            restarts=self.restarts, recording=self.source.record, error=self.error,
        )

    async def report(self) -> None:
        try:
            await self.engine.on_status(self.snapshot())
        except Exception:
            log.exception("status callback failed", extra={"camera_id": str(self.camera_id)})

    async def set_state(self, state: StreamState, error: StreamFailure | None = None) -> None:
        changed = state != self.state or error != self.error
        self.state, self.error = state, error
        if changed:
            log.info("stream %s: %s", self.camera_id, state.value,
                     extra={"camera_id": str(self.camera_id), "state": state.value,
                            "error": error.value if error else None})
            await self.report()

    # -- lifecycle -----------------------------------------------------------------

    def start(self) -> None:
        shutil.rmtree(self.live_dir, ignore_errors=True)
        self.live_dir.mkdir(parents=True, exist_ok=True)
        self._task = asyncio.create_task(self._supervise(), name=f"ffmpeg-{self.camera_id}")

    async def stop(self) -> None:
        self._stopping.set()
        if self._task is not None:
            await self._task
        self.state = StreamState.STOPPED
        self.error = None
        await self.report()
        shutil.rmtree(self.live_dir, ignore_errors=True)

    def request_restart(self, source: StreamSource) -> None:
        self.source = source
        self._restart.set()

    # -- supervision ---------------------------------------------------------------

    async def _supervise(self) -> None:
        failures = 0
        await self.report()
        while not self._stopping.is_set():
            self._restart.clear()
            reason, was_live = await self._run_once()
            if self._stopping.is_set():
                break
            if reason is None:  # restart asked for (recording switched): not a failure
                continue
            failures = 1 if was_live else failures + 1
            self.restarts += 1
            if reason is StreamFailure.ADDRESS_NOT_ALLOWED:
                # The policy will say the same next time: no retry until someone changes
                # the camera or the policy (and starts the stream again).
                log.error("stream %s refused: its camera address is not allowed",
                          self.camera_id, extra={"camera_id": str(self.camera_id)})
                await self.set_state(StreamState.FAILED, reason)
                return
            if self.options.backoff.gives_up_after(failures):
                log.error("stream %s failed after %d attempts: %s", self.camera_id, failures,
                          reason.value, extra={"camera_id": str(self.camera_id)})
                await self.set_state(StreamState.FAILED, reason)
                return
            delay = self.options.backoff.delay(failures - 1)
            log.warning("stream %s from %s lost (%s); retry %d in %.1f s", self.camera_id,
                        self.masked_url, reason.value, failures, delay,
                        extra={"camera_id": str(self.camera_id)})
            await self.set_state(StreamState.RECONNECTING, reason)
            await sleep_until_stopped(self._stopping, delay)

    async def _run_once(self) -> tuple[StreamFailure | None, bool]:
        """Check the camera's address, then run ffmpeg on it until it ends, stalls, or is
        told to stop/restart.

        Returns (why it failed, or None, and whether the stream was live in this run)."""
        try:
            url = await connectable_url(self.source.url, self.engine.address_policy,
                                        camera_id=self.camera_id)
        except CameraSourceRefused as refused:
            return refused.failure, False
        run_token = uuid.uuid4().hex[:8]
        await self._collect_leftovers()
        record_dir = self.record_dir if self.source.record else None
        if record_dir is not None:
            record_dir.mkdir(parents=True, exist_ok=True)
            self._prune_recordings(record_dir)
        self.live_dir.mkdir(parents=True, exist_ok=True)
        command = build_command(dataclasses.replace(self.source, url=url), self.live_dir,
                                record_dir, run_token, self.options)
        spawned_wall = _now()
        loop = asyncio.get_running_loop()
        spawned = loop.time()
        self._frames, self._frame_changed = -1, spawned
        self._stderr_tail = []
        self._redirected = False
        try:
            self.process = await asyncio.create_subprocess_exec(
                *command, stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE, env={**os.environ, "TZ": "UTC"},
                start_new_session=True, preexec_fn=dies_with_this_process(),
            )
        except OSError as exc:
            log.error("cannot start ffmpeg for stream %s: %s", self.camera_id, exc,
                      extra={"camera_id": str(self.camera_id)})
            return StreamFailure.STREAM_ERROR, False
        process = self.process
        readers = [asyncio.create_task(self._read_progress(process)),
                   asyncio.create_task(self._read_stderr(process))]
        exited = asyncio.create_task(process.wait())
        was_live = self.state == StreamState.LIVE  # a requested restart keeps LIVE
        reason: StreamFailure | None = None
        next_status = spawned + self.options.status_interval
        try:
            while True:
                signals = [asyncio.ensure_future(self._stopping.wait()),
                           asyncio.ensure_future(self._restart.wait())]
                done, _ = await asyncio.wait([exited, *signals],
                                             timeout=self.options.poll_interval,
                                             return_when=asyncio.FIRST_COMPLETED)
                for waiter in signals:
                    waiter.cancel()
                now = loop.time()
                if exited in done:
                    reason = self._exit_reason(process.returncode, now - spawned)
                    break
                if self._stopping.is_set() or self._restart.is_set():
                    break
                await self._collect_segments(record_dir, run_token, final=False)
                if self.state != StreamState.LIVE or not was_live:
                    if self._playlist_is_fresh(spawned_wall):
                        was_live = True
                        self.started_at = self.started_at or _now()
                        self._update_bitrate()
                        await self.set_state(StreamState.LIVE)
                        next_status = now + self.options.status_interval
                    elif now - spawned > self.options.start_timeout:
                        log.warning("stream %s: no video within %g s", self.camera_id,
                                    self.options.start_timeout,
                                    extra={"camera_id": str(self.camera_id)})
                        reason = StreamFailure.TIMEOUT
                        break
                elif now - self._frame_changed > self.options.stall_timeout:
                    log.warning("stream %s: no frames for %g s", self.camera_id,
                                self.options.stall_timeout,
                                extra={"camera_id": str(self.camera_id)})
                    reason = StreamFailure.TIMEOUT
                    break
                elif now >= next_status:
                    self._update_bitrate()
                    await self.report()
                    next_status = now + self.options.status_interval
        finally:
            await self._terminate(process, exited)
            for reader in readers:
                with contextlib.suppress(asyncio.CancelledError, TimeoutError):
                    await asyncio.wait_for(reader, timeout=2.0)
            self.process = None
            await self._collect_segments(record_dir, run_token, final=True)
        return reason, was_live

    def _exit_reason(self, returncode: int | None, elapsed: float) -> StreamFailure:
        """Why ffmpeg ended, as a code; its own words (masked) go to the server log."""
        failure = (StreamFailure.ADDRESS_NOT_ALLOWED if self._redirected
                   else classify_ffmpeg_failure(self._stderr_tail, returncode=returncode,
                                                elapsed=elapsed,
                                                io_timeout=self.options.socket_timeout))
        log.warning("ffmpeg of stream %s exited with %s (%s): %s", self.camera_id, returncode,
                    failure.value, " | ".join(self._stderr_tail[-5:]) or "no output",
                    extra={"camera_id": str(self.camera_id), "failure": failure.value})
        return failure

    async def _terminate(self, process: asyncio.subprocess.Process,
                         exited: asyncio.Task[int]) -> None:
        if process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(asyncio.shield(exited), timeout=self.options.stop_timeout)
            except TimeoutError:
                log.warning("ffmpeg of stream %s ignored SIGTERM; killing it", self.camera_id,
                            extra={"camera_id": str(self.camera_id)})
                with contextlib.suppress(ProcessLookupError):
                    process.kill()
        await exited

    async def _read_progress(self, process: asyncio.subprocess.Process) -> None:
        assert process.stdout is not None
        loop = asyncio.get_running_loop()
        async for raw in process.stdout:
            key, _, value = raw.decode(errors="replace").strip().partition("=")
            if key == "frame" and value.isdigit():
                frames = int(value)
                if frames > self._frames:
                    self._frames = frames
                    self._frame_changed = loop.time()
                    self.last_frame_at = _now()

    async def _read_stderr(self, process: asyncio.subprocess.Process) -> None:
        assert process.stderr is not None
        async for raw in process.stderr:
            line = mask_urls_in_text(raw.decode(errors="replace").rstrip())
            if not line:
                continue
            if followed_a_redirect(line) and not self._redirected:
                # The camera sent ffmpeg to an address the policy never checked: stop
                # before a frame of it is served or recorded.
                self._redirected = True
                with contextlib.suppress(ProcessLookupError):
                    process.kill()
            log.debug("ffmpeg[%s]: %s", self.camera_id, line,
                      extra={"camera_id": str(self.camera_id)})
            if "[info]" in line:
                continue  # a segment opened, the input's description: not a failure's
            self._stderr_tail = [*self._stderr_tail[-(_STDERR_TAIL - 1):], line]

    # -- HLS -----------------------------------------------------------------------

    def _playlist_is_fresh(self, since: datetime) -> bool:
        """The playlist was rewritten by this run and lists at least one segment."""
        playlist = self.live_dir / "index.m3u8"
        try:
            stat = playlist.stat()
            if stat.st_mtime < since.timestamp() - 0.5:
                return False
            return any(_EXTINF.match(line) for line in playlist.read_text().splitlines())
        except OSError:
            return False

    def _update_bitrate(self) -> None:
        """Bitrate over the segments of the current playlist (ffmpeg's own figure is N/A
        for HLS/segment outputs)."""
        playlist = self.live_dir / "index.m3u8"
        try:
            lines = playlist.read_text().splitlines()
        except OSError:
            return
        total_bytes, total_seconds, duration = 0, 0.0, None
        for line in lines:
            match = _EXTINF.match(line)
            if match:
                duration = float(match["duration"])
            elif line and not line.startswith("#") and duration is not None:
                with contextlib.suppress(OSError):
                    total_bytes += (self.live_dir / line).stat().st_size
                    total_seconds += duration
                duration = None
        if total_seconds > 0:
            self.bitrate_kbps = round(total_bytes * 8 / total_seconds / 1000, 1)

    # -- recording -----------------------------------------------------------------

    async def _collect_segments(self, record_dir: Path | None, run_token: str,
                                final: bool) -> None:
        """Report segments ffmpeg listed as finished; at the end of a run, also any file
        of the run it could not list (killed mid-segment: fMP4 keeps it playable)."""
        if record_dir is None:
            return
        listing = record_dir / f".{run_token}.csv"
        entries: list[tuple[str, float]] = []
        with contextlib.suppress(OSError):
            for row in listing.read_text().splitlines():
                parts = row.rsplit(",", 2)
                if len(parts) == 3:
                    with contextlib.suppress(ValueError):
                        entries.append((parts[0], float(parts[2]) - float(parts[1])))
        if final:
            listed = {name for name, _ in entries}
            for path in sorted(record_dir.glob(f"*_{run_token}.mp4")):
                if path.name not in listed and path.stat().st_size > 0:
                    entries.append((path.name, -1.0))
        for name, seconds in entries:
            if name in self._reported:
                continue
            self._reported.add(name)
            await self._report_segment(record_dir / Path(name).name, seconds)
        if final:
            with contextlib.suppress(OSError):
                listing.unlink()

    async def _collect_leftovers(self) -> None:
        """Report the segments no run of this stream reported: those of an ffmpeg killed
        with its API process (another replica that ran this camera and died, or this one
        before a restart; fMP4 keeps a cut segment playable), and those whose upload
        failed (the directory is the retry queue). Only the camera's owner runs this, so
        no other ffmpeg writes here."""
        record_dir = self.record_dir
        if not record_dir.is_dir():
            return
        listed: dict[str, float] = {}
        for listing in record_dir.glob(".*.csv"):
            with contextlib.suppress(OSError):
                for row in listing.read_text().splitlines():
                    parts = row.rsplit(",", 2)
                    if len(parts) == 3:
                        with contextlib.suppress(ValueError):
                            listed[parts[0]] = float(parts[2]) - float(parts[1])
        found = 0
        for path in sorted(record_dir.glob("*.mp4")):
            with contextlib.suppress(OSError):
                if path.name in self._reported or path.stat().st_size == 0:
                    continue
            found += 1
            self._reported.add(path.name)
            await self._report_segment(path, listed.get(path.name, -1.0))
        for listing in record_dir.glob(".*.csv"):
            with contextlib.suppress(OSError):
                listing.unlink()
        if found:
            log.info("stream %s: %d earlier segment(s) reported", self.camera_id, found,
                     extra={"camera_id": str(self.camera_id), "segments": found})

    async def _report_segment(self, path: Path, seconds: float) -> None:
        match = _SEGMENT_NAME.match(path.name)
        if match is None or not path.exists():
            return
        started_at = datetime.strptime(match["ts"], SEGMENT_NAME_FORMAT).replace(tzinfo=UTC)
        if seconds >= 0:
            ended_at = started_at + timedelta(seconds=seconds)
        else:
            ended_at = datetime.fromtimestamp(path.stat().st_mtime, UTC)
        segment = CompletedSegment(camera_id=self.source.camera_id,
                                   tenant_id=self.source.tenant_id, path=path,
                                   started_at=started_at, ended_at=max(ended_at, started_at))
        try:
            await self.engine.on_segment(segment)
        except Exception:
            log.exception("segment callback failed for %s", path.name,
                          extra={"camera_id": str(self.camera_id)})

    def _prune_recordings(self, record_dir: Path) -> None:
        days = self.source.retention_days or self.options.default_retention_days
        if not days:
            return
        cutoff = _now().timestamp() - days * 86400
        for path in record_dir.glob("*.mp4"):
            with contextlib.suppress(OSError):
                if path.stat().st_mtime < cutoff:
                    path.unlink()


class FFmpegEngine:
    """``MediaEngine`` adapter: ffmpeg processes supervised by this (asyncio) process."""

    name = "ffmpeg"

    def __init__(
        self,
        media_root: Path | str,
        on_status: StatusSink | None = None,
        on_segment: SegmentSink | None = None,
        options: FFmpegEngineOptions | None = None,
        *,
        address_policy: CameraNetworkPolicy = DEFAULT_POLICY,
        public_base_url: str = "/api/streaming",
    ) -> None:
        self.media_root = Path(media_root)
        # The live HLS is served by this service (``engines.ffmpeg.http``) under it.
        self.public_base_url = public_base_url.rstrip("/")
        self.address_policy = address_policy
        self.on_status: StatusSink = on_status or _noop_status
        self.on_segment: SegmentSink = on_segment or _noop_segment
        self.options = options or FFmpegEngineOptions()
        self._streams: dict[uuid.UUID, _Stream] = {}
        self._lock = asyncio.Lock()

    def live_dir(self, camera_id: uuid.UUID) -> Path:
        return live_dir(self.media_root, camera_id)

    def record_dir(self, camera_id: uuid.UUID) -> Path:
        return self.media_root / "recordings" / str(camera_id)

    async def cut_clip(self, camera_id: uuid.UUID, start: datetime, end: datetime,
                       output: Path) -> ClipSpan | None:
        """An event clip from the live HLS segments this host keeps (none: not this host's
        stream)."""
        from streaming_service.infrastructure.engines.ffmpeg.live_segments import (
            HlsLiveSegments,
            cut_live_clip,
        )

        segments = HlsLiveSegments(self.media_root).segments(camera_id)
        if not segments:
            return None
        return await cut_live_clip(segments, start, end, output)

    async def start(self, source: StreamSource) -> StreamStatus:
        """Start (or keep) the stream. A camera whose address the policy refuses (or
        that does not resolve) raises ``CameraSourceRefused`` before anything runs."""
        async with self._lock:
            stream = self._streams.get(source.camera_id)
            if stream is not None:
                same = (stream.source.url == source.url
                        and stream.source.segment_seconds == source.segment_seconds)
                if same and stream.state != StreamState.FAILED:
                    if stream.source.record != source.record:
                        stream.request_restart(source)
                    return stream.snapshot()
                del self._streams[source.camera_id]
                await stream.stop()
            await connectable_url(source.url, self.address_policy, camera_id=source.camera_id)
            stream = _Stream(self, source)
            self._streams[source.camera_id] = stream
            log.info("starting stream %s from %s", source.camera_id, stream.masked_url,
                     extra={"camera_id": str(source.camera_id), "record": source.record})
            stream.start()
            return stream.snapshot()

    async def stop(self, camera_id: uuid.UUID) -> None:
        async with self._lock:
            stream = self._streams.pop(camera_id, None)
        if stream is not None:
            await stream.stop()
            log.info("stopped stream %s", camera_id, extra={"camera_id": str(camera_id)})

    async def set_recording(self, camera_id: uuid.UUID, enabled: bool) -> None:
        stream = self._streams.get(camera_id)
        if stream is None or stream.source.record == enabled:
            return
        stream.request_restart(dataclasses.replace(stream.source, record=enabled))
        await stream.report()

    async def status(self, camera_id: uuid.UUID) -> StreamStatus | None:
        stream = self._streams.get(camera_id)
        return stream.snapshot() if stream is not None else None

    def listen(self, *, on_status: StatusSink | None = None,
               on_segment: SegmentSink | None = None) -> None:
        if on_status is not None:
            self.on_status = on_status
        if on_segment is not None:
            self.on_segment = on_segment

    def urls(self, camera_id: uuid.UUID) -> EngineUrls:
        return EngineUrls(hls=f"{self.public_base_url}/{LIVE_PLAYLIST.format(camera_id)}")

    async def close(self) -> None:
        async with self._lock:
            streams = list(self._streams.values())
            self._streams.clear()
        await asyncio.gather(*(s.stop() for s in streams), return_exceptions=True)

    # -- beyond the port: for tests, the benchmark and diagnostics ------------------

    def pid(self, camera_id: uuid.UUID) -> int | None:
        stream = self._streams.get(camera_id)
        process = stream.process if stream is not None else None
        return process.pid if process is not None and process.returncode is None else None

    async def wait_for_state(self, camera_id: uuid.UUID, *states: StreamState,
                             timeout: float = 15.0) -> StreamStatus:
        """Wait until the stream is in one of ``states``; TimeoutError otherwise."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            status = await self.status(camera_id)
            if status is not None and status.state in states:
                return status
            if loop.time() >= deadline:
                current = status.state.value if status is not None else "absent"
                raise TimeoutError(f"stream {camera_id} still {current} after {timeout:g} s")
            await asyncio.sleep(0.05)
