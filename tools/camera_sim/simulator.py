"""Start and stop a set of simulated RTSP cameras: the Python API behind the CLI.

    with CameraSimulator([CameraSpec("cam1", ("ABC1D23",))], user="u", password="p") as sim:
        url = sim.url("cam1")          # rtsp://u:p@127.0.0.1:PORT/cam1
        sim.pause("cam1")              # the camera disappears (clients dropped, 404)
        sim.resume("cam1")             # and comes back

Processes: one RTSP server (system Python + gst-rtsp-server, see ``rtsp_server.py``)
and one publisher per camera (``publisher.py``: frames → ffmpeg → RTP). With
``clip=`` (see ``render_clip``) each camera instead loops a pre-encoded H.264 file with
``ffmpeg -re -stream_loop -1 -c copy``: almost no CPU per camera, for load tests where
the simulator must not be what runs out of CPU (the clock in such a clip is the clip's,
not the wall clock). The clip is read once per ``clip_fanout`` cameras (one ffmpeg sends
it to each of them through its ``tee`` muxer), so the publishers of a hundred 1080p
cameras at 4 Mbit/s cost a fifth of a core; ``sub_clip=`` gives every camera a second,
sub stream at ``.../NAME/sub``, as city cameras have. Every one of them is stopped by
``stop()``/``__exit__``, and each also exits by itself if this process dies (the server
on end of stdin, the publishers when their parent changes).
"""

from __future__ import annotations

import base64
import collections
import contextlib
import json
import os
import queue
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import quote, urlsplit

from shared_kernel.plates import PlateNumber, normalise
from tools.camera_sim.onvif.discovery import Advertised, DiscoveryResponder
from tools.camera_sim.onvif.ptz import PtzHead
from tools.camera_sim.onvif.server import OnvifCamera

REPO_ROOT = Path(__file__).resolve().parents[2]
SERVER_SCRIPT = Path(__file__).resolve().with_name("rtsp_server.py")
DEFAULT_SYSTEM_PYTHON = "/usr/bin/python3"
STDERR_LINES = 40
"""How many of the RTSP server's last stderr lines an error carries."""


class SimulatorError(RuntimeError):
    pass


@dataclass(frozen=True)
class CameraSpec:
    """One simulated camera: its path name and the plates of the vehicles it shows."""

    name: str
    plates: tuple[str, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        if not self.name or not all(c.isalnum() or c in "-_" for c in self.name):
            raise ValueError(f"camera name must be letters, digits, '-' or '_': {self.name!r}")
        object.__setattr__(
            self, "plates", tuple(PlateNumber(normalise(p)).value for p in self.plates)
        )

    @classmethod
    def parse(cls, text: str) -> CameraSpec:
        """``cam1:ABC1D23,BRA2E19`` (plates optional: ``cam1``)."""
        name, _, plates = text.partition(":")
        return cls(name.strip(), tuple(p.strip() for p in plates.split(",") if p.strip()))


def rtsp_describe(url: str, timeout: float = 5.0) -> int:
    """Send one RTSP DESCRIBE and return the status code (0 when nothing answered).

    The simulator's mounts answer 200 only once video flows, so this doubles as a
    readiness probe that needs no ffmpeg.
    """
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 554
    bare = f"rtsp://{host}:{port}{parts.path or '/'}"
    lines = [f"DESCRIBE {bare} RTSP/1.0", "CSeq: 1", "Accept: application/sdp",
             "User-Agent: gtv-camera-sim"]
    if parts.username is not None:
        from urllib.parse import unquote

        pair = f"{unquote(parts.username)}:{unquote(parts.password or '')}"
        lines.append("Authorization: Basic " + base64.b64encode(pair.encode()).decode())
    request = ("\r\n".join(lines) + "\r\n\r\n").encode()
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            sock.settimeout(timeout)
            sock.sendall(request)
            data = b""
            while b"\r\n" not in data:
                chunk = sock.recv(4096)
                if not chunk:
                    break
                data += chunk
    except OSError:
        return 0
    status_line = data.split(b"\r\n", 1)[0].decode("latin-1").split()
    if len(status_line) >= 2 and status_line[1].isdigit():
        return int(status_line[1])
    return 0


class CameraSimulator:
    """A real RTSP server on 127.0.0.1 with one synthetic H.264 camera per spec."""

    def __init__(
        self,
        cameras: Iterable[CameraSpec],
        *,
        port: int = 0,
        user: str | None = None,
        password: str | None = None,
        fps: int = 10,
        size: tuple[int, int] = (640, 360),
        gop_seconds: float = 1.0,
        system_python: str | None = None,
        verbose: bool = False,
        ready_timeout: float = 45.0,
        clip: Path | None = None,
        sub_clip: Path | None = None,
        clip_fanout: int = 25,
        onvif: bool | Iterable[str] = False,
        discovery_port: int = 0,
        http_digest: Iterable[str] = (),
    ) -> None:
        self.cameras = {c.name: c for c in cameras}
        if not self.cameras:
            raise ValueError("at least one camera is required")
        if (user is None) != (password is None):
            raise ValueError("give both user and password, or neither")
        # ``onvif``: True for every camera, or the names of the cameras that are ONVIF
        # PTZ cameras (the others keep their traffic scene, with no pose).
        self.onvif_cameras = (frozenset(self.cameras) if onvif is True
                              else frozenset() if onvif is False else frozenset(onvif))
        if self.onvif_cameras - set(self.cameras):
            raise ValueError("onvif names a camera that is not simulated")
        self.onvif_enabled = bool(self.onvif_cameras)
        if self.onvif_enabled and user is None:
            raise ValueError("ONVIF cameras need a user and password")
        self.requested_discovery_port = discovery_port
        # Cameras whose ONVIF services also want HTTP Digest authentication.
        self.http_digest = frozenset(http_digest)
        if self.http_digest - self.onvif_cameras:
            raise ValueError("http_digest names a camera that is not an ONVIF camera")
        self._onvif: dict[str, OnvifCamera] = {}
        self._heads: dict[str, PtzHead] = {}
        self._pose_dir: Path | None = None
        self._discovery: DiscoveryResponder | None = None
        self.requested_port = port
        self.user, self.password = user, password
        self.fps, self.size, self.gop_seconds = fps, size, gop_seconds
        self.system_python = system_python or os.environ.get(
            "GTV_SYSTEM_PYTHON", DEFAULT_SYSTEM_PYTHON
        )
        self.verbose = verbose
        self.ready_timeout = ready_timeout
        self.clip = clip
        if sub_clip is not None and clip is None:
            raise ValueError("a sub stream clip needs a main stream clip")
        self.sub_clip = sub_clip
        self.clip_fanout = max(1, clip_fanout)
        self.port = 0
        self.rtp_ports: dict[str, int] = {}
        self.paused: set[str] = set()
        self._server: subprocess.Popen[str] | None = None
        self._events: queue.Queue[dict[str, Any]] = queue.Queue()
        self._publishers: dict[str, subprocess.Popen[bytes]] = {}
        self._lock = threading.Lock()

    # -- lifecycle -------------------------------------------------------------------

    def __enter__(self) -> CameraSimulator:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    def start(self, wait: bool = True) -> CameraSimulator:
        if self._server is not None:
            return self
        if shutil.which(self.system_python) is None:
            raise SimulatorError(f"system python not found: {self.system_python}")
        command = [self.system_python, str(SERVER_SCRIPT), "--port", str(self.requested_port)]
        for mount in self._mounts():
            command += ["--camera", mount]
        if self.user is not None:
            # "=" keeps a generated password that starts with "-" from reading as an option.
            command += [f"--user={self.user}", f"--password={self.password or ''}"]
        try:
            ready = self._start_server(command)
            self.port = int(ready["port"])
            self.rtp_ports = {k: int(v) for k, v in ready["cameras"].items()}
            if self.onvif_enabled:
                self._make_heads()
            if self.clip is not None:
                self._start_clip_publishers()
            else:
                for spec in self.cameras.values():
                    self._start_publisher(spec)
            if self.onvif_enabled:
                self._start_onvif()
            if wait:
                for name in self.cameras:
                    self.wait_ready(name, timeout=self.ready_timeout)
                    if self.sub_clip is not None:
                        self.wait_ready(name, timeout=self.ready_timeout, stream="sub")
        except BaseException:
            self.stop()
            raise
        return self

    def _start_server(self, command: list[str], attempts: int = 3) -> dict[str, Any]:
        """Starts the RTSP server and returns its "ready" event. A server that exits before
        it is ready (seen once, under load, right after many containers stopped) is started
        again; the error names the last lines it printed on stderr."""
        for attempt in range(1, attempts + 1):
            events: queue.Queue[dict[str, Any]] = queue.Queue()
            stderr_tail: collections.deque[str] = collections.deque(maxlen=STDERR_LINES)
            self._events = events
            server = self._server = subprocess.Popen(
                command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                text=True, bufsize=1,
            )
            threading.Thread(target=self._read_server, args=(server, events),
                             daemon=True).start()
            threading.Thread(target=self._read_stderr, args=(server, stderr_tail),
                             daemon=True).start()
            try:
                return self._expect("ready", timeout=self.ready_timeout)
            except SimulatorError as exc:
                self._server = None
                exited = server.poll() is not None or "exited" in str(exc)
                _end_server(server)
                detail = "".join(stderr_tail).strip() or "(empty)"
                if attempt == attempts or not exited:
                    raise SimulatorError(f"{exc}; its stderr: {detail}") from exc
                print(f"camera simulator: RTSP server exited before ready (attempt {attempt}),"
                      f" starting it again; its stderr: {detail}", file=sys.stderr)
        raise AssertionError("unreachable")

    def _read_stderr(self, server: subprocess.Popen[str],
                     tail: collections.deque[str]) -> None:
        """Keeps the server's last stderr lines (for an error), echoing them when verbose."""
        assert server.stderr is not None
        with contextlib.suppress(OSError, ValueError):
            for line in server.stderr:
                tail.append(line)
                if self.verbose:
                    sys.stderr.write(line)

    def stop(self) -> None:
        """Stop every publisher and the server; waits for each, kills stragglers."""
        if self._discovery is not None:
            self._discovery.stop()
            self._discovery = None
        for camera in self._onvif.values():
            camera.stop()
        self._onvif.clear()
        for name in list(self._publishers):
            self._stop_publisher(name)
        if self._pose_dir is not None:
            shutil.rmtree(self._pose_dir, ignore_errors=True)
            self._pose_dir = None
        server, self._server = self._server, None
        if server is not None:
            _end_server(server)

    # -- cameras ---------------------------------------------------------------------

    def url(self, name: str, *, credentials: bool = True, stream: str = "main") -> str:
        """The camera's RTSP URL, with ``user:password@`` when the server has them;
        ``stream="sub"`` is its sub stream (``sub_clip=``)."""
        if name not in self.cameras:
            raise KeyError(name)
        if stream not in ("main", "sub") or (stream == "sub" and self.sub_clip is None):
            raise KeyError(f"{name} has no {stream} stream")
        auth = ""
        if credentials and self.user is not None:
            auth = f"{quote(self.user, safe='')}:{quote(self.password or '', safe='')}@"
        path = name if stream == "main" else f"{name}/sub"
        return f"rtsp://{auth}127.0.0.1:{self.port}/{path}"

    def onvif(self, name: str) -> OnvifCamera:
        """The camera's ONVIF side (``onvif=True``): ``.device_url``, ``.head`` (PTZ)."""
        return self._onvif[name]

    @property
    def discovery_port(self) -> int:
        """The UDP port on 127.0.0.1 answering WS-Discovery probes (``onvif=True``)."""
        if self._discovery is None:
            raise SimulatorError("ONVIF is not enabled")
        return self._discovery.port

    def _make_heads(self) -> None:
        """One PTZ head per camera, whose every move is written to a pose file the
        camera's publisher reads: the picture follows the head."""
        self._pose_dir = Path(tempfile.mkdtemp(prefix="gtv-camera-sim-"))
        for name in sorted(self.onvif_cameras):
            path = self._pose_dir / f"{name}.json"
            head = PtzHead(on_change=lambda motion, path=path: _write_atomically(
                path, json.dumps(motion)))
            _write_atomically(path, json.dumps(head.motion()))
            self._heads[name] = head

    def pose_file(self, name: str) -> Path | None:
        if self._pose_dir is None or name not in self.onvif_cameras:
            return None
        return self._pose_dir / f"{name}.json"

    def _start_onvif(self) -> None:
        for name in sorted(self.onvif_cameras):
            self._onvif[name] = OnvifCamera(
                name, stream_uri=self.url(name, credentials=False), user=self.user or "",
                password=self.password or "", head=self._heads[name], size=self.size,
                fps=self.fps, http_digest=name in self.http_digest,
            ).start()
        self._discovery = DiscoveryResponder(lambda: [
            Advertised(c.endpoint_uuid, n, c.device_url, c.head is not None)
            for n, c in self._onvif.items()
        ], port=self.requested_discovery_port).start()

    @property
    def urls(self) -> dict[str, str]:
        return {name: self.url(name) for name in self.cameras}

    def wait_ready(self, name: str, timeout: float = 10.0, stream: str = "main") -> None:
        """Block until the camera answers DESCRIBE with 200 (video is flowing)."""
        deadline = time.monotonic() + timeout
        status = 0
        while time.monotonic() < deadline:
            status = rtsp_describe(self.url(name, stream=stream), timeout=min(5.0, timeout))
            if status == 200:
                return
            time.sleep(0.2)
        raise SimulatorError(f"camera {name} not ready after {timeout:.0f} s (last {status})")

    def pause(self, name: str) -> None:
        """The camera disappears: its viewers are dropped and its path answers 404."""
        self._command("pause", name, "paused")
        self.paused.add(name)

    def resume(self, name: str, wait: bool = True) -> None:
        self._command("resume", name, "resumed")
        self.paused.discard(name)
        if wait:
            self.wait_ready(name, timeout=self.ready_timeout)
            if self.sub_clip is not None:
                self.wait_ready(name, timeout=self.ready_timeout, stream="sub")

    def freeze(self, name: str) -> None:
        """The camera goes silent without closing anything (its encoder is SIGSTOPped):
        viewers stay connected but get no frames, like a hung camera or a dead link.
        Not for ``clip=`` cameras: they share their publisher with others."""
        self._own_publisher(name).send_signal(signal.SIGSTOP)

    def unfreeze(self, name: str) -> None:
        self._own_publisher(name).send_signal(signal.SIGCONT)

    def _own_publisher(self, name: str) -> subprocess.Popen[bytes]:
        if self.clip is not None:
            raise SimulatorError("clip cameras share their publisher: they cannot freeze "
                                 "one by one")
        return self._publishers[name]

    def pids(self) -> list[int]:
        """Process ids of the server and the publishers (for leak checks)."""
        pids = sorted({p.pid for p in self._publishers.values()})
        if self._server is not None:
            pids.append(self._server.pid)
        return pids

    # -- internals -------------------------------------------------------------------

    def _start_publisher(self, spec: CameraSpec) -> None:
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(
            [str(REPO_ROOT), *filter(None, [env.get("PYTHONPATH")])]
        )
        command = [
            sys.executable, "-m", "tools.camera_sim.publisher",
            "--name", spec.name, "--plates", ",".join(spec.plates),
            "--rtp-port", str(self.rtp_ports[spec.name]), "--fps", str(self.fps),
            "--size", f"{self.size[0]}x{self.size[1]}", "--gop-seconds", str(self.gop_seconds),
        ]
        pose_file = self.pose_file(spec.name)
        if pose_file is not None:
            command += ["--pose-file", str(pose_file)]
        sink = None if self.verbose else subprocess.DEVNULL
        self._publishers[spec.name] = subprocess.Popen(
            command, stdin=subprocess.DEVNULL, stdout=sink, stderr=sink, env=env,
            cwd=str(REPO_ROOT),
        )

    def _mounts(self) -> dict[str, Path | None]:
        """Every RTSP mount and the clip it loops (None: a live publisher)."""
        mounts: dict[str, Path | None] = {}
        for name in self.cameras:
            mounts[name] = self.clip
            if self.sub_clip is not None:
                mounts[f"{name}/sub"] = self.sub_clip
        return mounts

    def _start_clip_publishers(self) -> None:
        """One ffmpeg per ``clip_fanout`` mounts of a clip: it reads the clip once and its
        ``tee`` muxer packetises it to each mount's RTP port."""
        by_clip: dict[Path, list[str]] = {}
        for mount, clip in self._mounts().items():
            assert clip is not None
            by_clip.setdefault(clip, []).append(mount)
        for clip, mounts in by_clip.items():
            for first in range(0, len(mounts), self.clip_fanout):
                group = mounts[first:first + self.clip_fanout]
                outputs = "|".join(
                    f"[f=rtp:payload_type=96:onfail=ignore]"
                    f"rtp://127.0.0.1:{self.rtp_ports[m]}?pkt_size=1400"
                    for m in group)
                command = [
                    "ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "error",
                    "-re", "-stream_loop", "-1", "-i", str(clip), "-map", "0:v:0",
                    "-c", "copy", "-f", "tee", outputs,
                ]
                sink = None if self.verbose else subprocess.DEVNULL
                # ffmpeg itself would outlive a dead parent: ask the kernel to end it with us.
                proc = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=sink,
                                        stderr=sink, preexec_fn=_die_with_parent)
                for mount in group:
                    self._publishers[mount] = proc

    def _stop_publisher(self, name: str) -> None:
        proc = self._publishers.pop(name, None)
        if proc is not None and proc.poll() is None:
            with contextlib.suppress(OSError):
                proc.send_signal(signal.SIGCONT)  # a frozen one could not act on SIGTERM
            _terminate(proc, grace=5.0)

    def _read_server(self, server: subprocess.Popen[str],
                     events: queue.Queue[dict[str, Any]]) -> None:
        assert server.stdout is not None
        try:
            for line in server.stdout:
                try:
                    events.put(json.loads(line))
                except json.JSONDecodeError:
                    continue
        except (OSError, ValueError):
            pass
        events.put({"event": "exited"})

    def _expect(self, event: str, timeout: float) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise SimulatorError(f"RTSP server: no {event!r} within {timeout:.0f} s")
            try:
                message = self._events.get(timeout=remaining)
            except queue.Empty:
                continue
            if message.get("event") == event:
                return message
            if message.get("event") in ("error", "exited"):
                raise SimulatorError(f"RTSP server: {message}")

    def _command(self, command: str, name: str, reply: str) -> None:
        if name not in self.cameras:
            raise KeyError(name)
        with self._lock:
            if self._server is None or self._server.stdin is None:
                raise SimulatorError("simulator is not running")
            self._server.stdin.write(f"{command} {name}\n")
            self._server.stdin.flush()
            self._expect(reply, timeout=5.0)


def _write_atomically(path: Path, text: str) -> None:
    temporary = path.with_suffix(".tmp")
    temporary.write_text(text)
    os.replace(temporary, path)


def _end_server(server: subprocess.Popen[str]) -> None:
    """Asks the RTSP server to quit, stops it if it does not, and closes its pipes."""
    with contextlib.suppress(OSError):
        if server.stdin is not None:
            server.stdin.write("quit\n")
            server.stdin.close()
    _terminate(server, grace=3.0)
    for pipe in (server.stdin, server.stdout, server.stderr):
        if pipe is not None:
            with contextlib.suppress(OSError):
                pipe.close()


def _terminate(proc: subprocess.Popen[Any], grace: float) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5.0)


def _die_with_parent() -> None:
    """In the child before exec: SIGTERM when the parent dies (Linux ``PR_SET_PDEATHSIG``)."""
    import ctypes

    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)


def render_clip(path: Path, *, seconds: float = 10.0, fps: int = 10,
                size: tuple[int, int] = (640, 360), gop_seconds: float = 1.0,
                plates: Sequence[str] = ("ABC1D23", "BRA2E19"), timeout: float = 120.0,
                bitrate_kbps: int = 600, constant_bitrate: bool = False) -> Path:
    """Encode ``seconds`` of a simulated camera (same encoder settings as a live one) into
    an MPEG-TS file that ``CameraSimulator(clip=...)`` loops."""
    from datetime import UTC, datetime, timedelta

    from tools.camera_sim.publisher import encoder_command
    from tools.camera_sim.scene import Scene

    command = encoder_command(size[0], size[1], fps, gop_seconds, 0,
                              bitrate_kbps=bitrate_kbps, constant_bitrate=constant_bitrate)
    output_at = command.index("-f", command.index("-bufsize"))
    command = [*command[:output_at], "-f", "mpegts", "-y", str(path)]
    path.parent.mkdir(parents=True, exist_ok=True)
    scene = Scene("clip", list(plates), size[0], size[1])
    start = datetime.now(UTC)
    encoder = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    assert encoder.stdin is not None
    try:
        for n in range(max(1, round(seconds * fps))):
            encoder.stdin.write(scene.frame(start + timedelta(seconds=n / fps), n / fps))
        encoder.stdin.close()
        if encoder.wait(timeout=timeout) != 0:
            raise SimulatorError(f"encoding the clip failed ({encoder.returncode})")
    finally:
        if encoder.poll() is None:
            encoder.kill()
            encoder.wait(timeout=5)
    return path


def parse_cameras(values: Sequence[str]) -> list[CameraSpec]:
    return [CameraSpec.parse(v) for v in values]
