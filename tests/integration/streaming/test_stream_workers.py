"""The workers of one streaming replica with the FFmpeg engine, pulling the real camera
simulator, driven over real HTTP. Requests land on either worker: a camera runs in one
ffmpeg whichever worker started it, either worker serves its live HLS, switches its
recording and stops it, and a stop through the worker that does not run the stream has
ended it (and freed the camera) before it answers, so a start right after it starts the
camera again.

Two ways: two apps in this test's process (each its own engine, holder id and leases, one
media root, one Redis), where the test can look inside each engine; and the real thing,
``python -m streaming_service.serve`` with two uvicorn worker processes on uvloop, where
an ffmpeg must neither hold the API's listening socket nor outlive its worker."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import httpx
import pytest

from streaming_service.domain.stream import StreamState, StreamStatus
from streaming_service.settings import StreamingSettings
from tests.integration.conftest import SIMULATOR_NETWORKS
from tests.integration.streaming.conftest import bearer
from tests.integration.streaming.live_server import (
    LiveServer,
    processes_mentioning,
    serve_ffmpeg_app,
)
from tests.integration.streaming.test_streaming_ffmpeg_api import eventually


@pytest.fixture(scope="module")
async def workers(
    streaming_settings: StreamingSettings, tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[tuple[LiveServer, LiveServer, Path]]:
    shared = tmp_path_factory.mktemp("workers-media")
    prefix = f"gtv-test-{uuid.uuid4().hex[:8]}:"
    async with AsyncExitStack() as stack:
        a, b = [await stack.enter_async_context(serve_ffmpeg_app(
            streaming_settings, tmp_path_factory.mktemp(f"worker-{name}"), f"worker-{name}",
            media_root=shared, redis_prefix=prefix, recording_keeper=False))
            for name in ("a", "b")]
        yield a, b, shared
    assert not processes_mentioning(str(shared)), "ffmpeg left running after shutdown"


async def live_on(server: LiveServer, camera_id: uuid.UUID) -> StreamStatus | None:
    status = await server.engine.status(camera_id)
    return status if status is not None and status.state is StreamState.LIVE else None


def ffmpegs_of(camera_id: uuid.UUID) -> list[int]:
    return processes_mentioning(f"live/{camera_id}")


async def test_requests_on_either_worker_drive_the_one_stream_of_a_camera(
    workers: tuple[LiveServer, LiveServer, Path], make_token: Any, seed_camera: Any,
    camera_urls: dict[str, str],
) -> None:
    a, b, _ = workers
    camera = await seed_camera(rtsp_url=camera_urls["cam1"], recording_mode="off")
    headers = bearer(make_token(roles=("operator",), tenant_id=camera.tenant_id))
    path = f"/api/streaming/streams/{camera.camera_id}"
    async with (httpx.AsyncClient(base_url=a.base_url, timeout=20.0) as on_a,
                httpx.AsyncClient(base_url=b.base_url, timeout=20.0) as on_b):
        started = await on_a.post(f"{path}/start", headers=headers)
        assert started.status_code == 200, started.text
        await eventually(lambda: live_on(a, camera.camera_id), 20, "live on worker a")

        # The other worker: the same stream, its URLs, its live playlist; no second ffmpeg.
        again = await on_b.post(f"{path}/start", headers=headers)
        assert again.status_code == 200, again.text
        assert await b.engine.status(camera.camera_id) is None
        assert len(ffmpegs_of(camera.camera_id)) == 1
        playlist_url = httpx.URL(again.json()["hls_url"])
        playlist = await on_b.get(playlist_url.path, params=playlist_url.params)
        assert playlist.status_code == 200 and "#EXTINF" in playlist.text

        # Recording switched through b is switched by a, which runs the stream.
        recording = await on_b.post(f"{path}/recording/start", headers=headers)
        assert recording.status_code == 200, recording.text
        assert recording.json()["recording"] is True
        status = await a.engine.status(camera.camera_id)
        assert status is not None and status.recording

        # Stopped through b: a's ffmpeg is gone and the camera free when b answers ...
        stopped = await on_b.post(f"{path}/stop", headers=headers)
        assert stopped.status_code == 204, stopped.text
        assert await a.engine.status(camera.camera_id) is None
        assert ffmpegs_of(camera.camera_id) == []
        listing = await on_a.get("/api/streaming/streams/", headers=headers)
        assert listing.status_code == 200 and listing.json()["results"] == []

        # ... so a start right after it, through b again, starts the camera there.
        restarted = await on_b.post(f"{path}/start", headers=headers)
        assert restarted.status_code == 200, restarted.text
        await eventually(lambda: live_on(b, camera.camera_id), 20, "live on worker b")
        assert await a.engine.status(camera.camera_id) is None

        # Recording on a stream nobody runs is refused by either worker.
        assert (await on_a.post(f"{path}/stop", headers=headers)).status_code == 204
        assert await b.engine.status(camera.camera_id) is None
        refused = await on_b.post(f"{path}/recording/start", headers=headers)
        assert refused.status_code == 409, refused.text
        assert refused.json()["error"]["code"] == "stream_not_running"


ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def served(streaming_settings: StreamingSettings,
           tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """``python -m streaming_service.serve`` with two workers and the FFmpeg engine, on a
    free loopback port; its base URL and media root."""
    root = tmp_path_factory.mktemp("served-workers")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    base_url = f"http://127.0.0.1:{port}"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "GTV_STREAMING_WORKERS": "2",
           "GTV_ENGINE": "ffmpeg",
           "GTV_STREAMING_DB_NAME": str(streaming_settings.streaming_db_name),
           "GTV_AMQP_URL": streaming_settings.amqp_url,
           "GTV_REDIS_PREFIX": f"gtv-test-{uuid.uuid4().hex[:8]}:",
           "GTV_MEDIA_ROOT": str(root / "media"), "GTV_OBJECT_STORE_ROOT": str(root / "objects"),
           "GTV_PUBLIC_BASE_URL": base_url,
           "GTV_CAMERA_ALLOWED_NETWORKS": ",".join(SIMULATOR_NETWORKS),
           "GTV_RECORDING_KEEPER": "false", "GTV_EVENT_CLIPS": "false",
           "GTV_STREAM_CONTROL_LISTENER": "false", "GTV_DB_POOL_SIZE": "4"}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    log = (root / "serve.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "streaming_service.serve", "--host", "127.0.0.1", "--port",
         str(port), "--timeout-graceful-shutdown", "5"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, (root / "serve.log").read_text()[-3000:]
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{base_url}/health", timeout=2).status_code == 200:
                    break
            assert time.monotonic() < deadline, "the service did not come up"
            time.sleep(0.2)
        yield base_url, root / "media"
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
        log.close()
    assert not processes_mentioning(str(root)), "ffmpeg left running after shutdown"


def _parent_of(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("PPid:"):
            return int(line.split()[1])
    raise AssertionError(f"no parent of {pid}")


def _listening_inode(port: int) -> str:
    """The inode of the socket listening on ``port`` (``/proc/net/tcp``, state 0A)."""
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if fields[1].endswith(f":{port:04X}") and fields[3] == "0A":
            return fields[9]
    raise AssertionError(f"nothing listens on {port}")


def _holds(pid: int, inode: str) -> bool:
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        with contextlib.suppress(FileNotFoundError):  # closed meanwhile (a segment file)
            if os.readlink(fd) == f"socket:[{inode}]":
                return True
    return False


def _running(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie nobody reaped yet has died)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


async def test_the_served_workers_run_each_camera_once_and_take_its_ffmpeg_with_them(
    served: tuple[str, Path], make_token: Any, seed_camera: Any, camera_urls: dict[str, str],
) -> None:
    base_url, media = served
    camera = await seed_camera(rtsp_url=camera_urls["cam2"], recording_mode="off")
    headers = bearer(make_token(roles=("operator",), tenant_id=camera.tenant_id))
    path = f"/api/streaming/streams/{camera.camera_id}"

    async def the_one_ffmpeg() -> int | None:
        found = processes_mentioning(str(media / "live" / str(camera.camera_id)))
        assert len(found) <= 1, f"two ffmpegs on one camera: {found}"
        return found[0] if found else None

    async def call(method: str, url: str) -> httpx.Response:
        async with httpx.AsyncClient(base_url=base_url, timeout=20.0) as http:
            return await http.request(method, url, headers=headers)

    async def past(worker: int, method: str, url: str) -> tuple[httpx.Response, bool]:
        """The request, answered by the other worker: ``worker`` is frozen (SIGSTOP) for
        a second, so the other one accepts the connection; and whether it was still
        waiting when ``worker`` thawed (as one it has to hand to ``worker`` does)."""
        os.kill(worker, signal.SIGSTOP)
        try:
            request = asyncio.create_task(call(method, url))
            await asyncio.sleep(1.0)
            waited = not request.done()
        finally:
            os.kill(worker, signal.SIGCONT)
        return await request, waited

    assert (await call("POST", f"{path}/start")).status_code == 200
    owner = _parent_of(await eventually(the_one_ffmpeg, 20, "the camera's ffmpeg"))

    switched, waited = await past(owner, "POST", f"{path}/recording/start")
    assert switched.status_code == 200, switched.text
    assert switched.json()["recording"] is True
    assert waited, "answered by the other worker, once the owner had done it"
    switched = await call("POST", f"{path}/recording/stop")
    assert switched.status_code == 200 and switched.json()["recording"] is False

    stopped, waited = await past(owner, "POST", f"{path}/stop")
    assert stopped.status_code == 204, stopped.text
    assert waited
    assert await the_one_ffmpeg() is None, "stopped when the stop answered"
    # Started again through the other worker at once: it runs the camera now.
    assert (await past(owner, "POST", f"{path}/start"))[0].status_code == 200
    ffmpeg = await eventually(the_one_ffmpeg, 20, "the camera's ffmpeg")
    assert _parent_of(ffmpeg) != owner

    assert not _holds(ffmpeg, _listening_inode(httpx.URL(base_url).port or 0))
    os.kill(_parent_of(ffmpeg), signal.SIGKILL)  # its worker, killed outright

    async def gone() -> bool:
        return not _running(ffmpeg)

    await eventually(gone, 10, "the ffmpeg of the killed worker gone")
