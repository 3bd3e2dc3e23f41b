"""Streaming benchmark: stream start latency, HLS glass-to-glass latency, and how many
concurrent camera streams one instance of the streaming service holds.

    python tools/benchmarks/streaming_bench.py [--runs 10] [--g2g-seconds 20] [--max-cameras 128]

Runs the real service (``create_app``: FFmpeg engine with its production defaults,
filesystem object store, PostgreSQL/Redis/RabbitMQ on 127.0.0.1) in uvicorn on a free
loopback port, against the real RTSP camera simulator. Everything it creates is private
and removed at the end: a database (migrated by ``python -m streaming_service.migrate``), a
RabbitMQ vhost, Redis keys under their own prefix, a temporary media directory.

* Start latency: ``POST /streams/{id}/start`` → the playlist (fetched over HTTP with its
  media token) lists a segment and that segment downloads.
* Glass-to-glass: the simulator burns the wall clock into every frame as a
  machine-readable strip (``tools.camera_sim.scene.read_timestamp``). Like a player at the
  live edge, the benchmark polls the playlist and fetches each new segment; the newest
  frame's age when the fetch completes is the glass-to-glass latency, the oldest frame's
  age in that segment is the live-edge age (what a player starting that segment shows).
* Capacity: N cameras that cost almost no CPU (each loops a pre-encoded clip with
  ``ffmpeg -c copy`` into the same RTSP server) are started through the API, N ramping
  up; for each N, the HLS media produced per stream over a window is compared with wall
  time. The first N where a stream leaves LIVE, restarts, or produces < 90 % of real
  time is where the instance stops keeping up.
* ``--profile city``: the cameras have a city camera's real profile instead of the light
  test one: a 1920x1080 main stream at 20 fps and a constant 4 Mbit/s, a 640x360 sub
  stream at 512 kbit/s (served by every camera; the engine records and streams the
  main one), continuous recording on (1 min segments, uploaded to the filesystem object
  store and registered, as in production). ``--hold N --hold-seconds 600`` then keeps N
  such cameras for ten minutes and checks every recording segment: none missing, no gap
  between consecutive ones, none failed; disk writes and CPU/RSS per stream are reported.

Prints a markdown section and writes it to ``var/bench/streaming.md``. Not a test: run it
through ``make bench``. Every wait is bounded.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import logging
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urljoin

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
import jwt  # noqa: E402
import numpy as np  # noqa: E402
import uvicorn  # noqa: E402

from shared_kernel.crypto import CredentialCipher  # noqa: E402
from shared_kernel.events import CameraRegistered, TenantCreated, new_event  # noqa: E402
from shared_kernel.masking import mask_url  # noqa: E402
from streaming_service.application.camera_projection import CameraProjection  # noqa: E402
from streaming_service.domain.stream import StreamState  # noqa: E402
from streaming_service.settings import StreamingSettings  # noqa: E402
from tools.benchmarks.common import (  # noqa: E402
    delete_redis_prefix,
    machine_line,
    percentile,
    private_database,
    private_vhost,
)
from tools.camera_sim.scene import read_timestamp  # noqa: E402
from tools.camera_sim.simulator import (  # noqa: E402
    CameraSimulator,
    CameraSpec,
    SimulatorError,
    render_clip,
)

OUTPUT = ROOT / "var" / "bench" / "streaming.md"
FPS, SIZE = 10, (640, 360)
CAM_USER, CAM_PASSWORD = "bench", "b3nch-Pa55"
CLK_TCK = os.sysconf("SC_CLK_TCK")
_EXTINF = re.compile(r"^#EXTINF:([0-9.]+)")
_SEQUENCE = re.compile(r"^#EXT-X-MEDIA-SEQUENCE:(\d+)")

log = logging.getLogger("streaming_bench")


@dataclass(frozen=True)
class Profile:
    """What each load camera sends, and whether the engine records it."""

    name: str
    size: tuple[int, int]
    fps: int
    bitrate_kbps: int
    constant_bitrate: bool
    sub_size: tuple[int, int] | None
    sub_bitrate_kbps: int
    record: bool

    def describe(self) -> str:
        rate = "constant " if self.constant_bitrate else "up to "
        text = (f"{self.size[0]}x{self.size[1]} @ {self.fps} fps, H.264 baseline, 1 s GOP, "
                f"{rate}{self.bitrate_kbps} kbit/s")
        if self.sub_size is not None:
            text += (f", plus a {self.sub_size[0]}x{self.sub_size[1]} sub stream at "
                     f"{self.sub_bitrate_kbps} kbit/s")
        return text + (", continuous recording on" if self.record else ", no recording")


PROFILES = {
    "light": Profile("light", SIZE, FPS, 600, False, None, 0, False),
    "city": Profile("city", (1920, 1080), 20, 4000, True, (640, 360), 512, True),
}


@dataclass(frozen=True)
class Clips:
    main: Path
    sub: Path | None


async def render_clips(profile: Profile, work: Path) -> Clips:
    main = await asyncio.to_thread(
        render_clip, work / f"{profile.name}-main.ts", seconds=10, fps=profile.fps,
        size=profile.size, bitrate_kbps=profile.bitrate_kbps,
        constant_bitrate=profile.constant_bitrate, timeout=600)
    sub = None
    if profile.sub_size is not None:
        sub = await asyncio.to_thread(
            render_clip, work / f"{profile.name}-sub.ts", seconds=10, fps=profile.fps,
            size=profile.sub_size, bitrate_kbps=profile.sub_bitrate_kbps,
            constant_bitrate=profile.constant_bitrate, timeout=600)
    return Clips(main, sub)


def p50_p95(values: Sequence[float]) -> str:
    if not values:
        return "n/a | n/a"
    return f"{percentile(values, 0.5):.2f} | {percentile(values, 0.95):.2f}"


# --- the service under test --------------------------------------------------------------


@dataclass
class Bench:
    settings: StreamingSettings
    base_url: str
    services: Any
    http: httpx.AsyncClient
    token: str
    tenant_id: uuid.UUID
    projection: CameraProjection
    cipher: CredentialCipher

    @property
    def engine(self) -> Any:
        return self.services.engine

    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    async def seed_camera(self, rtsp_url: str,
                          recording_mode: Literal["off", "continuous"] = "off") -> uuid.UUID:
        camera_id = uuid.uuid4()
        await self.projection.handle(new_event(
            CameraRegistered(
                camera_id=camera_id, tenant_id=self.tenant_id, name=f"Bench {camera_id.hex[:6]}",
                rtsp_url_encrypted=self.cipher.encrypt(rtsp_url),
                rtsp_url_masked=mask_url(rtsp_url), recording_mode=recording_mode,
                retention_days=1, revision=1,
            ),
            producer="streaming_bench", tenant_id=self.tenant_id))
        return camera_id

    async def start(self, camera_id: uuid.UUID) -> str:
        response = await self.http.post(f"/api/streaming/streams/{camera_id}/start",
                                        headers=self.auth())
        response.raise_for_status()
        hls_url: str = response.json()["hls_url"]
        return hls_url

    async def each(self, call: Callable[[uuid.UUID], Awaitable[object]],
                   cameras: Sequence[uuid.UUID], at_once: int = 8) -> None:
        """``call`` for every camera, ``at_once`` at a time (as a video wall opens or closes
        its tiles); a failure is logged, not raised, so every camera gets its call."""
        running = asyncio.Semaphore(at_once)

        async def one(camera: uuid.UUID) -> None:
            async with running:
                try:
                    await call(camera)
                except Exception as exc:
                    log.warning("%s of %s failed: %r", call.__name__, camera, exc)

        await asyncio.gather(*(one(c) for c in cameras))

    async def stop(self, camera_id: uuid.UUID) -> None:
        response = await self.http.post(f"/api/streaming/streams/{camera_id}/stop",
                                        headers=self.auth())
        if response.status_code != 204:
            log.warning("stop of %s answered %s", camera_id, response.status_code)


def _private_key() -> str:
    path = os.environ.get("GTV_JWT_PRIVATE_KEY_FILE") or str(ROOT / ".secrets" / "jwt_private.pem")
    return Path(path).read_text()


@contextlib.asynccontextmanager
async def running_service(work: Path) -> AsyncIterator[Bench]:
    from streaming_service.main import create_app

    suffix = uuid.uuid4().hex[:8]
    db_name, redis_prefix = f"gtvision_bench_streaming_{suffix}", f"gtv-bench-{suffix}:"
    with private_vhost(f"gtv-bench-{suffix}") as amqp_url, private_database(db_name):
        sock: socket.socket | None = None
        try:
            env = {**os.environ, "GTV_STREAMING_DB_NAME": db_name,
                   "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "admin_service")])}
            subprocess.run([sys.executable, "-m", "streaming_service.migrate"], check=True,
                           capture_output=True, timeout=120, cwd=ROOT, env=env)
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.bind(("127.0.0.1", 0))
            base_url = f"http://127.0.0.1:{sock.getsockname()[1]}"
            settings = StreamingSettings(
                streaming_db_name=db_name, amqp_url=amqp_url,
                redis_prefix=redis_prefix, media_root=work / "media",
                object_store_root=work / "objects", public_base_url=base_url,
                engine="ffmpeg", stream_control_listener=False, db_pool_size=10,
                # Streams start and stop when the benchmark says: the keeper would start
                # the continuous cameras again after each step.
                recording_keeper=False,
                # The simulated cameras run on loopback: allowed explicitly.
                camera_allowed_networks=["127.0.0.0/8", "::1/128"],
            )
            app = create_app(settings)
            server = uvicorn.Server(uvicorn.Config(app, lifespan="on", log_config=None,
                                                   access_log=False, log_level="warning"))
            task = asyncio.create_task(server.serve(sockets=[sock]))
            try:
                async with asyncio.timeout(30):
                    while not server.started:
                        if task.done():
                            raise RuntimeError(f"uvicorn did not start: {task.exception()!r}")
                        await asyncio.sleep(0.05)
                services = app.state.services
                tenant_id = uuid.uuid4()
                projection = CameraProjection(services.sessions)
                await projection.handle(new_event(
                    TenantCreated(tenant_id=tenant_id, name="Prefeitura Bench",
                                  slug=f"bench-{suffix}"),
                    producer="streaming_bench", tenant_id=tenant_id))
                now = int(time.time())
                user_id = str(uuid.uuid4())
                token = jwt.encode({
                    "token_type": "access", "sub": user_id, "user_id": user_id,
                    "username": "bench", "tenant_id": str(tenant_id), "roles": ["operator"],
                    "jti": uuid.uuid4().hex, "iat": now, "exp": now + 3600,
                    "iss": settings.jwt_issuer, "aud": settings.jwt_audience,
                }, _private_key(), algorithm="RS256")
                cipher = CredentialCipher(settings.camera_credentials_key.get_secret_value())
                async with httpx.AsyncClient(base_url=base_url, timeout=15.0) as http:
                    yield Bench(settings, base_url, services, http, token, tenant_id,
                                projection, cipher)
            finally:
                server.should_exit = True
                await asyncio.wait_for(task, timeout=60)
        finally:
            if sock is not None:
                sock.close()
            with contextlib.suppress(Exception):
                await asyncio.to_thread(delete_redis_prefix,
                                        StreamingSettings().redis_url, redis_prefix)


# --- HLS helpers ---------------------------------------------------------------------------


def playlist_entries(text: str) -> tuple[int, list[tuple[str, float]]]:
    """(media sequence of the first segment, [(uri, duration), ...])."""
    sequence, duration, entries = 0, None, []
    for line in text.splitlines():
        if match := _SEQUENCE.match(line):
            sequence = int(match.group(1))
        elif match := _EXTINF.match(line):
            duration = float(match.group(1))
        elif line and not line.startswith("#") and duration is not None:
            entries.append((line, duration))
            duration = None
    return sequence, entries


async def frame_times(data: bytes, work: Path) -> list[datetime | None]:
    """Burned-in instant of every frame of an MPEG-TS segment."""
    path = work / f"seg-{uuid.uuid4().hex[:8]}.ts"
    path.write_bytes(data)
    try:
        process = await asyncio.create_subprocess_exec(
            "ffmpeg", "-v", "error", "-nostdin", "-i", str(path), "-map", "0:v:0",
            "-f", "rawvideo", "-pix_fmt", "gray", "pipe:1",
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL)
        out, _ = await asyncio.wait_for(process.communicate(), timeout=20)
    finally:
        path.unlink(missing_ok=True)
    frame = SIZE[0] * SIZE[1]
    pixels = np.frombuffer(out, dtype=np.uint8)
    count = pixels.size // frame
    return [read_timestamp(pixels[i * frame:(i + 1) * frame].reshape(SIZE[1], SIZE[0]))
            for i in range(count)]


# --- (a) start latency ------------------------------------------------------------------------


@dataclass
class StartResult:
    api_ms: list[float] = field(default_factory=list)
    playable_s: list[float] = field(default_factory=list)
    failures: int = 0


async def measure_start_latency(bench: Bench, rtsp_url: str, runs: int) -> StartResult:
    result = StartResult()
    camera_id = await bench.seed_camera(rtsp_url)
    for _ in range(runs):
        started = time.perf_counter()
        hls_url = await bench.start(camera_id)
        result.api_ms.append((time.perf_counter() - started) * 1000)
        playable = None
        deadline = started + 20
        while time.perf_counter() < deadline:
            response = await bench.http.get(hls_url)
            if response.status_code == 200:
                _, entries = playlist_entries(response.text)
                if entries:
                    segment = await bench.http.get(urljoin(hls_url, entries[0][0]))
                    if segment.status_code == 200 and segment.content:
                        playable = time.perf_counter() - started
                        break
            await asyncio.sleep(0.05)
        if playable is None:
            result.failures += 1
        else:
            result.playable_s.append(playable)
        await bench.stop(camera_id)
        await asyncio.sleep(0.5)
    return result


# --- (b) glass-to-glass -------------------------------------------------------------------------


@dataclass
class G2GResult:
    newest_s: list[float] = field(default_factory=list)
    edge_s: list[float] = field(default_factory=list)
    segment_s: list[float] = field(default_factory=list)
    unreadable_frames: int = 0
    frames: int = 0


async def measure_glass_to_glass(bench: Bench, rtsp_url: str, seconds: float,
                                 work: Path) -> G2GResult:
    result = G2GResult()
    camera_id = await bench.seed_camera(rtsp_url)
    hls_url = await bench.start(camera_id)
    try:
        await bench.engine.wait_for_state(camera_id, StreamState.LIVE, timeout=20)
        seen: set[str] = set()
        first = True
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            response = await bench.http.get(hls_url)
            if response.status_code == 200:
                _, entries = playlist_entries(response.text)
                if entries and first:  # skip what was there before we started watching
                    seen.update(uri.split("?", 1)[0] for uri, _ in entries)
                    first = False
                elif entries and entries[-1][0].split("?", 1)[0] not in seen:
                    uri, duration = entries[-1]
                    seen.add(uri.split("?", 1)[0])
                    segment = await bench.http.get(urljoin(hls_url, uri))
                    fetched = datetime.now(UTC)
                    if segment.status_code == 200:
                        times = await frame_times(segment.content, work)
                        result.frames += len(times)
                        result.unreadable_frames += sum(t is None for t in times)
                        readable = [t for t in times if t is not None]
                        if readable:
                            result.newest_s.append((fetched - readable[-1]).total_seconds())
                            result.edge_s.append((fetched - readable[0]).total_seconds())
                            result.segment_s.append(duration)
            await asyncio.sleep(0.1)
    finally:
        await bench.stop(camera_id)
    return result


# --- (c) capacity ---------------------------------------------------------------------------------


def cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def _proc_value(pid: int, name: str, key: str) -> int:
    """The first number after ``key`` in ``/proc/<pid>/<name>`` (0: the process is gone)."""
    try:
        for line in Path(f"/proc/{pid}/{name}").read_text().splitlines():
            if line.startswith(key):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def rss_mb(pid: int) -> float:
    return _proc_value(pid, "status", "VmRSS:") / 1024


def pss_mb(pid: int) -> float:
    """Proportional set size: shared pages (ffmpeg's libraries) split among sharers."""
    return _proc_value(pid, "smaps_rollup", "Pss:") / 1024


def written_bytes(pid: int) -> int:
    """Bytes the process has passed to write(2) (``wchar``: files and pipes alike)."""
    return _proc_value(pid, "io", "wchar:")


def machine_busy() -> tuple[float, float]:
    """(busy, total) jiffies of all CPUs since boot."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = values[3] + values[4]
    total = sum(values[:8])
    return total - idle, total


@dataclass
class RecordingCheck:
    """Every camera's recording segments after its stream stopped."""

    segments: int = 0
    failed: int = 0
    gaps: int = 0
    max_gap_s: float = 0.0
    recorded_s: float = 0.0
    expected_s: float = 0.0
    mb_per_stream_min: float = 0.0
    without_any: int = 0

    @property
    def ok(self) -> bool:
        return (self.failed == 0 and self.gaps == 0 and self.without_any == 0
                and self.recorded_s >= 0.97 * self.expected_s)


GAP_TOLERANCE_S = 1.5
"""Consecutive recording segments further apart than this are a gap (a dropped segment)."""


async def check_recordings(bench: Bench, cameras: Sequence[uuid.UUID],
                           live: dict[uuid.UUID, float], stopped_at: float,
                           failed_before: float) -> RecordingCheck:
    """Waits (bounded) for the last segments to be uploaded, then reads every camera's
    recording rows: their count, gaps between consecutive segments, the time they cover
    against the time the camera was live."""
    from sqlalchemy import select

    from streaming_service.infrastructure.db.models import Recording

    check = RecordingCheck()
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        pending = [p for c in cameras for p in bench.engine.record_dir(c).glob("*.mp4")]
        if not pending:
            break
        await asyncio.sleep(1.0)
    async with bench.services.sessions() as session:
        rows = (await session.execute(
            select(Recording.camera_id, Recording.started_at, Recording.ended_at,
                   Recording.size_bytes)
            .where(Recording.camera_id.in_(list(cameras)))
            .order_by(Recording.camera_id, Recording.started_at))).all()
    by_camera: dict[uuid.UUID, list[Any]] = {}
    for row in rows:
        by_camera.setdefault(row.camera_id, []).append(row)
    sizes = []
    for camera in cameras:
        segments = by_camera.get(camera, [])
        check.expected_s += stopped_at - live[camera]
        if not segments:
            check.without_any += 1
            continue
        check.segments += len(segments)
        for before, after in itertools.pairwise(segments):
            gap = (after.started_at - before.ended_at).total_seconds()
            check.max_gap_s = max(check.max_gap_s, gap)
            if gap > GAP_TOLERANCE_S:
                check.gaps += 1
        check.recorded_s += sum((r.ended_at - r.started_at).total_seconds() for r in segments)
        span = (segments[-1].ended_at - segments[0].started_at).total_seconds() / 60
        sizes.append(sum(r.size_bytes for r in segments) / 1e6 / max(span, 1e-9))
    check.mb_per_stream_min = statistics.fmean(sizes) if sizes else 0.0
    check.failed = round(segments_failed(bench) - failed_before)
    return check


def segments_failed(bench: Bench) -> float:
    value = bench.services.metrics.registry.get_sample_value(
        "gtv_recording_segment_failures_total")
    return float(value or 0.0)


async def sweep_objects(root: Path, stop: asyncio.Event) -> None:
    """The stand-in for MinIO keeps nothing: uploaded recordings are deleted once their
    rows are written (a hundred 4 Mbit/s cameras would fill the disk at 30 GB an hour
    and more; what matters here is that each segment arrived)."""
    while not stop.is_set():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=20)
        cutoff = time.time() - 30
        for path in root.rglob("*.mp4"):
            with contextlib.suppress(OSError):
                if path.stat().st_mtime < cutoff:
                    path.unlink()


@dataclass
class Step:
    cameras: int
    live: int = 0
    all_live_s: float | None = None
    min_ratio: float = 0.0
    mean_ratio: float = 0.0
    left_live: int = 0
    restarts: int = 0
    ffmpeg_cpu_pct: float = 0.0  # per stream, % of one core
    ffmpeg_rss_mb: float = 0.0  # per stream
    ffmpeg_pss_mb: float = 0.0  # per stream
    service_cpu_pct: float = 0.0
    sim_cpu_pct: float = 0.0
    machine_busy_pct: float = 0.0
    load1: float = 0.0
    window_s: float = 0.0
    written_mb_s: float = 0.0  # engine's ffmpegs (live HLS + local recording) and service
    service_rss_mb: float = 0.0
    recordings: RecordingCheck | None = None
    ok: bool = False
    simulator_limit: bool = False
    note: str = ""


async def measure_step(bench: Bench, clips: Clips, profile: Profile, n: int,
                       window: float) -> Step:
    step = Step(cameras=n)
    specs = [CameraSpec(f"load{i:03d}") for i in range(n)]
    sim = CameraSimulator(specs, user=CAM_USER, password=CAM_PASSWORD, fps=profile.fps,
                          size=profile.size, clip=clips.main, sub_clip=clips.sub,
                          ready_timeout=60 + n)
    try:
        await asyncio.to_thread(sim.start)
    except SimulatorError as exc:
        step.simulator_limit = True
        step.note = f"the simulator could not serve {n} cameras ({exc})"
        return step
    cameras: list[uuid.UUID] = []
    stopped = False
    sweeping = asyncio.Event()
    sweeper = asyncio.create_task(sweep_objects(bench.settings.object_store_root, sweeping))
    try:
        mode: Literal["off", "continuous"] = "continuous" if profile.record else "off"
        cameras = [await bench.seed_camera(sim.url(spec.name), mode) for spec in specs]
        failed_before = segments_failed(bench)
        started = time.monotonic()
        # Eight start requests at a time: a hundred at once queue on the service's
        # database pool (10 + 10 connections, 10 s timeout) behind a hundred ffmpegs
        # starting, and some answer 503.
        await bench.each(bench.start, cameras)
        deadline = started + 30 + n * 0.25
        live_at: dict[uuid.UUID, float] = {}
        while time.monotonic() < deadline:
            states = [await bench.engine.status(c) for c in cameras]
            for camera, status in zip(cameras, states, strict=True):
                if status is not None and status.state is StreamState.LIVE:
                    live_at.setdefault(camera, time.monotonic())
            step.live = len(live_at)
            if step.live == n:
                step.all_live_s = time.monotonic() - started
                break
            await asyncio.sleep(0.25)
        if step.all_live_s is None:
            step.note = f"only {step.live}/{n} live after {deadline - started:.0f} s"
            return step
        await asyncio.sleep(2.0)  # let the start-up burst settle

        pids = {c: bench.engine.pid(c) for c in cameras}
        sim_pids = sim.pids()
        cpu0 = {c: cpu_seconds(p) for c, p in pids.items() if p}
        own0, sim0 = cpu_seconds(os.getpid()), sum(cpu_seconds(p) for p in sim_pids)
        writes0 = sum(written_bytes(p) for p in [*pids.values(), os.getpid()] if p)
        busy0 = machine_busy()
        restarts0 = {c: (await bench.engine.status(c)).restarts for c in cameras}
        last_seq: dict[uuid.UUID, int] = {}
        media: dict[uuid.UUID, float] = dict.fromkeys(cameras, 0.0)
        t0 = time.monotonic()
        left: set[uuid.UUID] = set()
        while True:
            for camera in cameras:
                status = await bench.engine.status(camera)
                if status is None or status.state is not StreamState.LIVE:
                    left.add(camera)
                playlist = bench.engine.live_dir(camera) / "index.m3u8"
                try:
                    sequence, entries = playlist_entries(playlist.read_text())
                except OSError:
                    continue
                for offset, (_, duration) in enumerate(entries):
                    seq = sequence + offset
                    if camera not in last_seq:
                        continue
                    if seq > last_seq[camera]:
                        media[camera] += duration
                if entries:
                    last_seq[camera] = sequence + len(entries) - 1
            if time.monotonic() - t0 >= window:
                break
            await asyncio.sleep(1.0)
        # Media counted from the first sample's newest segment to the last one's.
        elapsed = time.monotonic() - t0
        step.window_s = elapsed
        cpu1 = {c: cpu_seconds(p) for c, p in pids.items() if p}
        writes1 = sum(written_bytes(p) for p in [*pids.values(), os.getpid()] if p)
        step.written_mb_s = (writes1 - writes0) / 1e6 / elapsed
        step.service_rss_mb = rss_mb(os.getpid())
        busy1 = machine_busy()
        ratios = [media[c] / elapsed for c in cameras]
        step.min_ratio, step.mean_ratio = min(ratios), statistics.fmean(ratios)
        step.left_live = len(left)
        restarts1 = {c: (await bench.engine.status(c)).restarts for c in cameras}
        step.restarts = sum(restarts1[c] - restarts0[c] for c in cameras)
        per_stream = [cpu1[c] - cpu0[c] for c in cpu0 if c in cpu1]
        step.ffmpeg_cpu_pct = 100 * statistics.fmean(per_stream) / elapsed if per_stream else 0
        step.ffmpeg_rss_mb = statistics.fmean([rss_mb(p) for p in pids.values() if p] or [0])
        step.ffmpeg_pss_mb = statistics.fmean([pss_mb(p) for p in pids.values() if p] or [0])
        step.service_cpu_pct = 100 * (cpu_seconds(os.getpid()) - own0) / elapsed
        step.sim_cpu_pct = 100 * (sum(cpu_seconds(p) for p in sim_pids) - sim0) / elapsed
        step.machine_busy_pct = 100 * (busy1[0] - busy0[0]) / max(1, busy1[1] - busy0[1])
        step.load1 = os.getloadavg()[0]
        # A window edge can miss up to one 1 s segment: 0.9 over >= 15 s allows for that.
        step.ok = step.left_live == 0 and step.restarts == 0 and step.min_ratio >= 0.9
        if not step.ok:
            step.note = (f"{step.left_live} left LIVE, {step.restarts} restarts, "
                         f"slowest stream at {step.min_ratio:.2f}x real time")
        if profile.record:
            stopped_at = time.monotonic()
            await bench.each(bench.stop, cameras, at_once=25)
            stopped = True
            step.recordings = await check_recordings(bench, cameras, live_at, stopped_at,
                                                     failed_before)
            if not step.recordings.ok:
                step.ok = False
                r = step.recordings
                step.note = "; ".join(filter(None, [step.note, (
                    f"recordings: {r.failed} failed, {r.gaps} gaps (longest "
                    f"{r.max_gap_s:.1f} s), {r.without_any} cameras without any, "
                    f"{r.recorded_s / max(r.expected_s, 1e-9):.1%} of live time recorded")]))
        return step
    finally:
        if not stopped:
            await bench.each(bench.stop, cameras, at_once=25)
        sweeping.set()
        await sweeper
        await asyncio.to_thread(sim.stop)


async def measure_capacity(bench: Bench, clips: Clips, profile: Profile, ramp: Sequence[int],
                           window: float, budget: float) -> list[Step]:
    steps: list[Step] = []
    deadline = time.monotonic() + budget
    for n in ramp:
        if time.monotonic() > deadline:
            log.warning("capacity budget of %.0f s spent; stopping the ramp at N=%d", budget, n)
            break
        print(f"  capacity: {n} cameras ...", file=sys.stderr, flush=True)
        step = await measure_step(bench, clips, profile, n, window)
        steps.append(step)
        print(f"    {step}", file=sys.stderr, flush=True)
        if not step.ok:
            break
    return steps


# --- report ---------------------------------------------------------------------------


def ffmpeg_line() -> str:
    return subprocess.run(["ffmpeg", "-version"], capture_output=True, text=True,
                          timeout=10).stdout.split("\n", 1)[0]


def report(args: argparse.Namespace, machine: str, start: StartResult | None,
           g2g: G2GResult | None, steps: list[Step], hold: Step | None) -> str:
    profile = PROFILES[args.profile]
    lines = [
        "## Streaming benchmark", "",
        f"Run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {machine}. The service runs in-process "
        "(uvicorn, FFmpeg engine with production defaults: 1 s HLS segments, 6 in the "
        "playlist, stream copy); cameras come from the RTSP simulator on 127.0.0.1 "
        f"({SIZE[0]}x{SIZE[1]} @ {FPS} fps, H.264 baseline, 1 s GOP, ~600 kbit/s for the "
        f"latencies; {profile.describe()} for the load). The machine may be shared with "
        "other work, so absolute numbers are noisy.", "",
    ]
    if start is not None and g2g is not None:
        lines += latency_section(start, g2g)
    lines += capacity_section(args, profile, steps)
    if hold is not None:
        lines += hold_section(args, profile, hold)
    return "\n".join(lines)


def latency_section(start: StartResult, g2g: G2GResult) -> list[str]:
    lines = [
        "### Stream start latency", "",
        "`POST /api/streaming/streams/{id}/start` → playlist lists a segment and that segment "
        "downloads (over HTTP, media token in the URL).", "",
        "| runs | API call p50 / p95 (ms) | playable p50 (s) | playable p95 (s) | failures |",
        "|---:|---:|---:|---:|---:|",
        f"| {len(start.playable_s)} | {percentile(start.api_ms, 0.5):.0f} / "
        f"{percentile(start.api_ms, 0.95):.0f} | {p50_p95(start.playable_s)} | "
        f"{start.failures} |" if start.api_ms else "| 0 | n/a | n/a | n/a | n/a |",
        "",
        "### HLS glass-to-glass latency", "",
        "Wall clock burned into each frame (machine-readable strip) vs the moment a player "
        "polling the playlist every 100 ms has downloaded the newest segment. *Newest frame*: "
        "age of the segment's last frame (the best any HLS player here can do); *live edge*: "
        "age of its first frame (what a player starting that segment shows first).", "",
        "| segments | segment length (s) | newest frame p50 (s) | p95 (s) | live edge p50 (s) "
        "| p95 (s) | frames read |",
        "|---:|---:|---:|---:|---:|---:|---:|",
        f"| {len(g2g.newest_s)} | "
        f"{statistics.fmean(g2g.segment_s) if g2g.segment_s else 0:.2f} | "
        f"{p50_p95(g2g.newest_s)} | {p50_p95(g2g.edge_s)} | "
        f"{g2g.frames - g2g.unreadable_frames}/{g2g.frames} |",
        "",
    ]
    if g2g.newest_s:
        seg = statistics.fmean(g2g.segment_s)
        newest = percentile(g2g.newest_s, 0.5)
        lines += [
            "A player plays behind the end of the playlist by a hold-back: hls.js's default "
            f"(3 target durations) shows frames ~{newest + 3 * seg:.1f} s old; a low-latency "
            f"setting of 1 target duration ~{newest + seg:.1f} s (SPEC target: HLS < 3 s).",
            "",
        ]
    return lines


def capacity_section(args: argparse.Namespace, profile: Profile, steps: list[Step]) -> list[str]:
    lines = [
        f"### Concurrent streams per instance ({profile.name} profile)", "",
        "N cameras, each a looping pre-encoded clip (read once per 25 cameras and sent to "
        "each by ffmpeg's `tee` muxer into the GStreamer RTSP server), started through "
        "the API; "
        f"{profile.describe()}. Over a {args.window:g} s window, HLS media produced per "
        "stream vs wall time (playlists read from disk: no viewers). *ffmpeg CPU* is per "
        "stream, % of one core; *service* is this process (API, engine supervisors, "
        "recording uploads, the benchmark's own polling); *simulator* is the RTSP server "
        "plus the clip publishers; *written* is what the engine's ffmpegs and the service "
        "wrote (live HLS, local recording, uploads to the object store).", "",
        STEP_HEADER, STEP_RULE,
    ]
    lines += [step_row(s) for s in steps]
    held = [s.cameras for s in steps if s.ok]
    failed = next((s for s in steps if not s.ok), None)
    lines.append("")
    if failed is not None and failed.simulator_limit:
        lines.append(f"**Held every step up to {max(held) if held else 0} concurrent streams; "
                     f"the ramp ended at {failed.cameras} because {failed.note}: the source, "
                     "not the engine, ran out first.**")
    elif failed is not None:
        lines.append(f"**Held {max(held) if held else 0} concurrent streams; at "
                     f"{failed.cameras} {failed.note}.**")
    elif held:
        lines.append(f"**Held every step up to {max(held)} concurrent streams (the ramp's "
                     "end or its time budget, not a failure).**")
    best = max((s for s in steps if s.ok), key=lambda s: s.cameras, default=None)
    if best is not None:
        per_stream = best.ffmpeg_cpu_pct + best.service_cpu_pct / best.cameras
        cores = os.cpu_count() or 1
        lines.append(
            f"At N={best.cameras} the engine costs {per_stream:.2f} % of one core per stream "
            f"(its ffmpeg plus the service's share) and {best.ffmpeg_pss_mb:.1f} MB PSS: CPU "
            f"alone would allow ~{0.8 * cores * 100 / per_stream:.0f} streams at 80 % of "
            f"{cores} cores (an extrapolation, not a measurement).")
    lines.append("")
    return lines


STEP_HEADER = (
    "| N | all live after (s) | media/real time min / mean | left LIVE | restarts "
    "| ffmpeg CPU %/stream | ffmpeg RSS / PSS MB/stream | service CPU % | simulator CPU % "
    "| written MB/s | machine busy % | load1 | ok |")
STEP_RULE = "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|:--|"


def step_row(s: Step) -> str:
    live_after = (f"{s.all_live_s:.1f}" if s.all_live_s is not None
                  else f"{s.live}/{s.cameras} live")
    return (
        f"| {s.cameras} | {live_after} | {s.min_ratio:.2f} / {s.mean_ratio:.2f} | "
        f"{s.left_live} | {s.restarts} | {s.ffmpeg_cpu_pct:.2f} | "
        f"{s.ffmpeg_rss_mb:.0f} / {s.ffmpeg_pss_mb:.1f} | "
        f"{s.service_cpu_pct:.0f} | {s.sim_cpu_pct:.0f} | {s.written_mb_s:.1f} | "
        f"{s.machine_busy_pct:.0f} | {s.load1:.1f} | {'yes' if s.ok else 'no: ' + s.note} |")


def hold_section(args: argparse.Namespace, profile: Profile, hold: Step) -> list[str]:
    lines = [
        f"### {hold.cameras} streams held for {args.hold_seconds / 60:g} minutes "
        f"({profile.name} profile)", "",
        f"{hold.cameras} cameras ({profile.describe()}) started through the API and kept "
        f"for {hold.window_s:.0f} s, measured as a ramp step is.", "",
        STEP_HEADER, STEP_RULE, step_row(hold), "",
    ]
    r = hold.recordings
    if r is not None:
        lines += [
            "Recording, read back from the service's database after the streams stopped "
            f"(a gap is more than {GAP_TOLERANCE_S:g} s between consecutive segments of a "
            "camera):", "",
            "| segments | failed | gaps (longest s) | cameras without any | recorded / live "
            "time | MB per stream-minute |",
            "|---:|---:|---:|---:|---:|---:|",
            f"| {r.segments} | {r.failed} | {r.gaps} ({r.max_gap_s:.1f}) | {r.without_any} | "
            f"{r.recorded_s / max(r.expected_s, 1e-9):.1%} | {r.mb_per_stream_min:.1f} |", "",
        ]
    per_stream = hold.ffmpeg_cpu_pct + hold.service_cpu_pct / hold.cameras
    lines += [
        f"**{'Held' if hold.ok else 'Did not hold'} {hold.cameras} streams for "
        f"{hold.window_s / 60:.1f} minutes**{'' if hold.ok else ': ' + hold.note}. Per "
        f"stream: {per_stream:.2f} % of one core (its ffmpeg plus the service's share), "
        f"{hold.ffmpeg_rss_mb:.0f} MB RSS / {hold.ffmpeg_pss_mb:.1f} MB PSS, "
        f"{hold.written_mb_s / hold.cameras:.2f} MB/s written; the simulator took "
        f"{hold.sim_cpu_pct:.0f} % of a core on the same machine.", "",
    ]
    return lines


async def main_async(args: argparse.Namespace) -> str:
    machine = machine_line(f", {ffmpeg_line()}")
    work = Path(tempfile.mkdtemp(prefix="gtv-streaming-bench-"))
    profile = PROFILES[args.profile]
    start: StartResult | None = None
    g2g: G2GResult | None = None
    hold: Step | None = None
    try:
        print(f"  rendering the {profile.name} load-test clips ...", file=sys.stderr,
              flush=True)
        clips = await render_clips(profile, work)
        async with running_service(work) as bench:
            if not args.skip_latency:
                with CameraSimulator([CameraSpec("bench1", ("ABC1D23", "BRA2E19"))],
                                     user=CAM_USER, password=CAM_PASSWORD, fps=FPS,
                                     size=SIZE) as sim:
                    print("  start latency ...", file=sys.stderr, flush=True)
                    async with asyncio.timeout(args.runs * 25 + 30):
                        start = await measure_start_latency(bench, sim.url("bench1"),
                                                            args.runs)
                    print("  glass-to-glass ...", file=sys.stderr, flush=True)
                    async with asyncio.timeout(args.g2g_seconds + 60):
                        g2g = await measure_glass_to_glass(bench, sim.url("bench1"),
                                                           args.g2g_seconds, work)
            ramp = [n for n in args.ramp if n <= args.max_cameras]
            # The budget bounds when a step may start; a step past the instance's ceiling
            # (timeouts everywhere) can take minutes to start and stop its cameras.
            async with asyncio.timeout(args.budget + 900):
                steps = await measure_capacity(bench, clips, profile, ramp, args.window,
                                               args.budget)
            if args.hold:
                print(f"  holding {args.hold} cameras for {args.hold_seconds:.0f} s ...",
                      file=sys.stderr, flush=True)
                async with asyncio.timeout(args.hold_seconds + 600):
                    hold = await measure_step(bench, clips, profile, args.hold,
                                              args.hold_seconds)
                print(f"    {hold}", file=sys.stderr, flush=True)
        return report(args, machine, start, g2g, steps, hold)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--runs", type=int, default=10, help="start-latency runs")
    parser.add_argument("--g2g-seconds", type=float, default=20.0,
                        help="how long to watch for glass-to-glass samples")
    parser.add_argument("--max-cameras", type=int, default=128, help="end of the ramp")
    parser.add_argument("--window", type=float, default=15.0,
                        help="seconds measured at each step of the ramp")
    parser.add_argument("--budget", type=float, default=420.0,
                        help="seconds the capacity ramp may start new steps for")
    parser.add_argument("--profile", choices=sorted(PROFILES), default="light",
                        help="what each load camera sends (city: 1080p main + sub stream, "
                             "4 Mbit/s, continuous recording)")
    parser.add_argument("--ramp", type=lambda v: [int(n) for n in v.split(",") if n],
                        default=[1, 2, 4, 8, 16, 24, 32, 48, 64, 96, 128, 192, 256],
                        help="camera counts of the capacity ramp, comma-separated")
    parser.add_argument("--hold", type=int, default=0,
                        help="after the ramp, keep this many cameras for --hold-seconds")
    parser.add_argument("--hold-seconds", type=float, default=600.0)
    parser.add_argument("--skip-latency", action="store_true",
                        help="only the load (start and glass-to-glass latency skipped)")
    parser.add_argument("--output", type=Path, default=OUTPUT)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    text = asyncio.run(main_async(args))
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
