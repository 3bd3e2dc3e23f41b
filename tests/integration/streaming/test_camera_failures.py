"""Why a camera cannot be streamed reaches clients as a stable code, never as ffmpeg's
own text (which quotes addresses and ports: a port scanner in the status list), and the
camera network policy is applied again at connect time, on the address actually used.

Real ffmpeg against real listeners: a closed port (``unreachable``), the simulator with
a wrong password (``auth_failed``), a TCP service that is not RTSP (``not_a_stream``), a
listener that never answers (``timeout``), and cameras whose stored address the policy
refuses (``address_not_allowed``)."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from shared_kernel.camera_network import DEFAULT_POLICY
from streaming_service.domain.errors import CameraSourceRefused
from streaming_service.domain.stream import Backoff, StreamFailure, StreamSource, StreamState
from streaming_service.infrastructure.engines.ffmpeg.engine import FFmpegEngine, FFmpegEngineOptions
from streaming_service.infrastructure.ffmpeg_tools import MediaToolError, snapshot
from streaming_service.settings import StreamingSettings
from tests.integration.conftest import CAMERA_PASSWORD, SIMULATOR_POLICY
from tests.integration.streaming.conftest import EventTap, bearer
from tests.integration.streaming.live_server import (
    LiveServer,
    processes_mentioning,
    serve_ffmpeg_app,
)
from tools.camera_sim.simulator import CameraSimulator

# Words of ffmpeg's that must never reach a client.
FFMPEG_WORDS = ("Connection refused", "Invalid data", "tcp://", "rtsp://",
                "Server returned", "Unauthorized", "exited with")


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def tcp_listener(answer: bytes | None) -> Iterator[int]:
    """A TCP service on loopback that is not RTSP: it answers ``answer`` to whatever it
    is sent and closes, or (``None``) accepts and never says anything."""
    server = socket.socket()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    server.settimeout(0.2)
    stop = threading.Event()
    held: list[socket.socket] = []

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                continue
            if answer is None:
                held.append(conn)
                continue
            with conn:
                conn.settimeout(2)
                with contextlib.suppress(OSError):
                    conn.recv(4096)
                    conn.sendall(answer)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield int(server.getsockname()[1])
    finally:
        stop.set()
        thread.join(2)
        for conn in held:
            conn.close()
        server.close()


# --- the engine, with real ffmpeg ----------------------------------------------------------

ONE_TRY = FFmpegEngineOptions(stall_timeout=4.0, start_timeout=15.0, socket_timeout=2.0,
                              status_interval=1.0, backoff=Backoff(max_attempts=1))


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[FFmpegEngine]:
    engine = FFmpegEngine(tmp_path / "media", options=ONE_TRY, address_policy=SIMULATOR_POLICY)
    yield engine
    await engine.close()


async def _failure_of(engine: FFmpegEngine, url: str) -> StreamFailure | None:
    source = StreamSource(camera_id=uuid.uuid4(), tenant_id=uuid.uuid4(), url=url)
    await engine.start(source)
    status = await engine.wait_for_state(source.camera_id, StreamState.FAILED, timeout=30)
    return status.error


async def test_a_closed_port_is_unreachable(engine: FFmpegEngine) -> None:
    assert await _failure_of(engine, f"rtsp://u:p@127.0.0.1:{closed_port()}/x") \
        is StreamFailure.UNREACHABLE


async def test_a_wrong_password_is_auth_failed(engine: FFmpegEngine,
                                               private_camera: CameraSimulator) -> None:
    url = private_camera.url("solo").replace(CAMERA_PASSWORD, "not-the-password")
    assert await _failure_of(engine, url) is StreamFailure.AUTH_FAILED


async def test_a_tcp_service_that_is_not_rtsp_is_not_a_stream(engine: FFmpegEngine) -> None:
    with tcp_listener(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n") as port:
        assert await _failure_of(engine, f"rtsp://127.0.0.1:{port}/x") \
            is StreamFailure.NOT_A_STREAM
    with tcp_listener(b"-ERR unknown command 'OPTIONS'\r\n") as port:  # Redis-like
        assert await _failure_of(engine, f"rtsp://127.0.0.1:{port}/x") \
            is StreamFailure.NOT_A_STREAM


async def test_a_listener_that_never_answers_is_a_timeout(engine: FFmpegEngine) -> None:
    with tcp_listener(None) as port:
        assert await _failure_of(engine, f"rtsp://127.0.0.1:{port}/x") \
            is StreamFailure.TIMEOUT


async def test_a_camera_that_redirects_the_stream_elsewhere_is_refused(
    engine: FFmpegEngine, private_camera: CameraSimulator
) -> None:
    """ffmpeg follows an RTSP 3xx past the policy: the stream stops before a frame of the
    redirect's target is served, even a working camera's."""
    target = private_camera.url("solo")
    answer = f"RTSP/1.0 302 Moved\r\nCSeq: 1\r\nLocation: {target}\r\n\r\n".encode()
    with tcp_listener(answer) as port:
        assert await _failure_of(engine, f"rtsp://127.0.0.1:{port}/cam") \
            is StreamFailure.ADDRESS_NOT_ALLOWED


async def test_the_engine_refuses_a_stored_url_the_policy_denies_before_running_ffmpeg(
    tmp_path: Path, private_camera: CameraSimulator
) -> None:
    """A camera saved before the policy existed (or a name that now resolves to a
    denied address) is refused where the connection would be made."""
    engine = FFmpegEngine(tmp_path / "media", options=ONE_TRY, address_policy=DEFAULT_POLICY)
    try:
        for url in (private_camera.url("solo"),
                    private_camera.url("solo").replace("127.0.0.1", "localhost"),
                    "rtsp://admin:pw@169.254.169.254/latest/meta-data"):
            source = StreamSource(camera_id=uuid.uuid4(), tenant_id=uuid.uuid4(), url=url)
            with pytest.raises(CameraSourceRefused) as refused:
                await engine.start(source)
            assert refused.value.failure is StreamFailure.ADDRESS_NOT_ALLOWED
            assert await engine.status(source.camera_id) is None
            assert processes_mentioning(str(source.camera_id)) == []
    finally:
        await engine.close()


async def test_ffmpeg_connects_to_the_checked_address_and_the_check_runs_at_every_connect(
    tmp_path: Path, private_camera: CameraSimulator
) -> None:
    """ffmpeg gets the address the policy checked, not the name (no second lookup to
    rebind), and every reconnect checks again: once the address is refused the stream
    fails with ``address_not_allowed`` and is not retried."""
    options = FFmpegEngineOptions(stall_timeout=3.0, start_timeout=15.0, status_interval=1.0,
                                  backoff=Backoff(initial_seconds=0.3, max_seconds=0.5))
    engine = FFmpegEngine(tmp_path / "media", options=options, address_policy=SIMULATOR_POLICY)
    try:
        url = private_camera.url("solo").replace("127.0.0.1", "localhost")
        source = StreamSource(camera_id=uuid.uuid4(), tenant_id=uuid.uuid4(), url=url)
        await engine.start(source)
        await engine.wait_for_state(source.camera_id, StreamState.LIVE, timeout=20)
        pid = engine.pid(source.camera_id)
        assert pid is not None
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        inputs = [arg.decode() for arg in argv if arg.startswith(b"rtsp://")]
        assert len(inputs) == 1 and "localhost" not in inputs[0]
        assert f"@127.0.0.1:{private_camera.port}/solo" in inputs[0] \
            or f"@[::1]:{private_camera.port}/solo" in inputs[0]

        # The name now leads somewhere the policy refuses (as after a DNS change).
        engine.address_policy = DEFAULT_POLICY
        private_camera.pause("solo")
        failed = await engine.wait_for_state(source.camera_id, StreamState.FAILED, timeout=20)
        assert failed.error is StreamFailure.ADDRESS_NOT_ALLOWED
        restarts = failed.restarts
        private_camera.resume("solo")
        await asyncio.sleep(2)
        status = await engine.status(source.camera_id)
        assert status is not None and status.state is StreamState.FAILED
        assert status.restarts == restarts and engine.pid(source.camera_id) is None
    finally:
        await engine.close()


async def test_snapshots_refuse_a_denied_camera_and_report_codes(
    private_camera: CameraSimulator
) -> None:
    with pytest.raises(CameraSourceRefused):
        await snapshot(private_camera.url("solo"), timeout=10)  # default policy: loopback
    wrong = private_camera.url("solo").replace(CAMERA_PASSWORD, "nope")
    with pytest.raises(MediaToolError) as failed:
        await snapshot(wrong, timeout=10, address_policy=SIMULATOR_POLICY)
    assert failed.value.failure is StreamFailure.AUTH_FAILED
    assert "nope" not in str(failed.value) and "401" not in str(failed.value)


# --- through the API -------------------------------------------------------------------------


@pytest.fixture(scope="module")
async def ffmpeg_server(
    streaming_settings: StreamingSettings, event_tap: EventTap,
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[LiveServer]:
    root = tmp_path_factory.mktemp("camera-failures")
    async with serve_ffmpeg_app(streaming_settings, root, "camera-failures") as server:
        yield server


@pytest.fixture
async def http(ffmpeg_server: LiveServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=ffmpeg_server.base_url, timeout=10.0) as client:
        yield client


async def _status_of(http: httpx.AsyncClient, token: str, camera_id: uuid.UUID,
                     timeout: float = 20) -> tuple[dict[str, Any], str]:
    """The camera's entry in GET /streams/ once it reports a failure, and the body."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        response = await http.get("/api/streaming/streams/", headers=bearer(token))
        assert response.status_code == 200, response.text
        for item in response.json()["results"]:
            if item["camera_id"] == str(camera_id) and item["error_code"]:
                return item, response.text
        assert asyncio.get_running_loop().time() < deadline, response.text
        await asyncio.sleep(0.2)


async def test_stream_list_shows_a_code_and_a_fixed_message_never_ffmpeg_text(
    ffmpeg_server: LiveServer, http: httpx.AsyncClient, make_token: Any, seed_camera: Any,
    event_tap: EventTap,
) -> None:
    port = closed_port()
    camera = await seed_camera(rtsp_url=f"rtsp://admin:Pw-Never-Shown@127.0.0.1:{port}/x")
    operator = make_token(roles=("operator",), tenant_id=camera.tenant_id)
    viewer = make_token(roles=("viewer",), tenant_id=camera.tenant_id)
    started = await http.post(f"/api/streaming/streams/{camera.camera_id}/start",
                              headers=bearer(operator))
    assert started.status_code == 200, started.text

    item, body = await _status_of(http, viewer, camera.camera_id)
    assert item["state"] in ("reconnecting", "failed")
    assert item["error_code"] == "unreachable"
    assert item["error"] == StreamFailure.UNREACHABLE.message
    for word in (*FFMPEG_WORDS, f":{port}", "Pw-Never-Shown", "127.0.0.1"):
        assert word not in body, word

    event = await event_tap.wait_for(
        lambda e: e.type == "StreamFailed" and e.payload["camera_id"] == str(camera.camera_id))
    assert event.version == 2
    assert event.payload["code"] == "unreachable"
    assert event.payload["message"] == StreamFailure.UNREACHABLE.message
    dumped = event.model_dump_json()
    for word in (*FFMPEG_WORDS, f":{port}", "127.0.0.1"):
        assert word not in dumped, word
    stopped = await http.post(f"/api/streaming/streams/{camera.camera_id}/stop",
                              headers=bearer(operator))
    assert stopped.status_code == 204


async def test_a_camera_stored_with_a_denied_address_is_refused_with_its_code(
    ffmpeg_server: LiveServer, http: httpx.AsyncClient, make_token: Any, seed_camera: Any,
    event_tap: EventTap,
) -> None:
    """Saved before the policy existed: the streaming service refuses it on its own."""
    camera = await seed_camera(rtsp_url="rtsp://admin:pw@169.254.169.254:80/latest")
    operator = make_token(roles=("operator",), tenant_id=camera.tenant_id)
    viewer = make_token(roles=("viewer",), tenant_id=camera.tenant_id)
    started = await http.post(f"/api/streaming/streams/{camera.camera_id}/start",
                              headers=bearer(operator))
    assert started.status_code == 422, started.text
    error = started.json()["error"]
    assert error["code"] == "address_not_allowed"
    assert "169.254" not in started.text

    item, body = await _status_of(http, viewer, camera.camera_id, timeout=5)
    assert item["state"] == "failed" and item["error_code"] == "address_not_allowed"
    assert "169.254" not in body
    event = await event_tap.wait_for(
        lambda e: e.type == "StreamFailed" and e.payload["camera_id"] == str(camera.camera_id))
    assert event.payload["code"] == "address_not_allowed"
    assert event.payload["will_retry"] is False
    assert processes_mentioning(str(camera.camera_id)) == []

    snap = await http.post(f"/api/streaming/cameras/{camera.camera_id}/snapshot",
                           headers=bearer(operator))
    assert snap.status_code == 422 and snap.json()["error"]["code"] == "address_not_allowed"
