"""The real HAProxy with deploy/haproxy/haproxy.cfg, in front of two tiny real backends.

The backends are uvicorn servers (in threads) running an ASGI app that answers every
HTTP request with which backend it is and the headers it got, and echoes WebSocket
messages. HAProxy runs as a subprocess on free ports of 127.0.0.1.
"""

from __future__ import annotations

import json
import os
import shutil
import ssl
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from websockets.sync.client import connect as ws_connect

from tests.integration.deploy.deploy_support import DEPLOY, REPO_ROOT, free_port

CONFIG = DEPLOY / "haproxy" / "haproxy.cfg"
HAPROXY = shutil.which("haproxy") or "/usr/sbin/haproxy"

pytestmark = pytest.mark.skipif(not Path(HAPROXY).exists(), reason="haproxy is not installed")


def echo_app(name: str) -> Callable[..., Any]:
    async def app(
        scope: dict[str, Any], receive: Callable[..., Any], send: Callable[..., Any]
    ) -> None:
        if scope["type"] == "http":
            headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
            if scope["path"] == "/health":
                body = b'{"status":"ok"}'
            else:
                body = json.dumps(
                    {"backend": name, "path": scope["path"], "headers": headers}
                ).encode()
            await send(
                {
                    "type": "http.response.start",
                    "status": 200,
                    "headers": [(b"content-type", b"application/json"), (b"server", b"echo")],
                }
            )
            await send({"type": "http.response.body", "body": body})
        elif scope["type"] == "websocket":
            await receive()  # websocket.connect
            await send({"type": "websocket.accept"})
            while True:
                message = await receive()
                if message["type"] != "websocket.receive":
                    return
                await send({"type": "websocket.send", "text": f"{name}:{message.get('text')}"})

    return app


@dataclass
class Backend:
    name: str
    port: int
    server: uvicorn.Server
    thread: threading.Thread


def start_backend(name: str) -> Backend:
    port = free_port()
    config = uvicorn.Config(
        echo_app(name), host="127.0.0.1", port=port, log_level="warning", lifespan="off"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name=f"backend-{name}", daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError(f"backend {name} did not start")
        time.sleep(0.05)
    return Backend(name, port, server, thread)


def stop_backend(backend: Backend) -> None:
    backend.server.should_exit = True
    backend.thread.join(timeout=10)


@dataclass
class Haproxy:
    http: str
    https: str
    stats: str
    cert: Path
    log: Path
    process: subprocess.Popen[bytes]


def start_haproxy(tmp: Path, env_overrides: dict[str, str]) -> Haproxy:
    http_port, https_port, stats_port = free_port(), free_port(), free_port()
    cert = tmp / "haproxy.pem"
    if not cert.exists():
        subprocess.run(
            [str(REPO_ROOT / "tools" / "scripts" / "gen_dev_cert.sh"), str(cert)],
            check=True,
            capture_output=True,
            timeout=60,
        )
    ours = ("GTV_HAPROXY", "GTV_ADMIN", "GTV_STREAMING", "GTV_DASHBOARD", "GTV_HTTP")
    env = {k: v for k, v in os.environ.items() if not k.startswith(ours)}
    env.update(
        {
            "GTV_HAPROXY_BIND_ADDR": "127.0.0.1",
            "GTV_HTTP_PORT": str(http_port),
            "GTV_HTTPS_PORT": str(https_port),
            "GTV_HAPROXY_CERT": str(cert),
            "GTV_HAPROXY_STATS_BIND": f"127.0.0.1:{stats_port}",
            "GTV_HAPROXY_CHECK_INTER": "200ms",
            **env_overrides,
        }
    )
    log = tmp / f"haproxy-{http_port}.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [HAPROXY, "-db", "-f", str(CONFIG)], env=env, stdout=out, stderr=subprocess.STDOUT
        )
    proxy = Haproxy(
        f"http://127.0.0.1:{http_port}",
        f"https://127.0.0.1:{https_port}",
        f"http://127.0.0.1:{stats_port}",
        cert,
        log,
        process,
    )
    deadline = time.monotonic() + 15
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"haproxy exited: {log.read_text()}")
        try:
            if httpx.get(f"{proxy.http}/haproxy/health", timeout=1).status_code == 200:
                break
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            stop_haproxy(proxy)
            raise RuntimeError(f"haproxy did not answer: {log.read_text()}")
        time.sleep(0.1)
    return proxy


def stop_haproxy(proxy: Haproxy) -> None:
    proxy.process.terminate()
    try:
        proxy.process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proxy.process.kill()
        proxy.process.wait(timeout=10)


def server_states(proxy: Haproxy) -> dict[tuple[str, str], str]:
    """(backend, server) -> status, from the stats page's CSV export."""
    text = httpx.get(f"{proxy.stats}/;csv", timeout=5).text
    lines = text.lstrip("# ").splitlines()
    fields = lines[0].split(",")
    states = {}
    for line in lines[1:]:
        row = dict(zip(fields, line.split(","), strict=False))
        states[(row["pxname"], row["svname"])] = row["status"]
    return states


def wait_for(predicate: Callable[[], bool], seconds: float = 10) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return predicate()


@pytest.fixture(scope="module")
def backends() -> Iterator[dict[str, Backend]]:
    started = {name: start_backend(name) for name in ("admin", "streaming")}
    try:
        yield started
    finally:
        for backend in started.values():
            stop_backend(backend)


@pytest.fixture(scope="module")
def haproxy(
    backends: dict[str, Backend], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Haproxy]:
    dead_port = free_port()  # nothing listens there: the dashboard backend stays down
    proxy = start_haproxy(
        tmp_path_factory.mktemp("haproxy"),
        {
            "GTV_ADMIN_ADDR": f"127.0.0.1:{backends['admin'].port}",
            "GTV_STREAMING_ADDR": f"127.0.0.1:{backends['streaming'].port}",
            "GTV_DASHBOARD_ADDR": f"127.0.0.1:{dead_port}",
        },
    )
    try:
        assert wait_for(
            lambda: (
                server_states(proxy).get(("be_admin_api", "admin1")) == "UP"
                and server_states(proxy).get(("be_streaming_api", "streaming1")) == "UP"
            )
        ), server_states(proxy)
        yield proxy
    finally:
        stop_haproxy(proxy)


def test_config_is_valid_with_defaults_and_with_every_option(tmp_path: Path) -> None:
    plain = subprocess.run(
        [HAPROXY, "-c", "-f", str(CONFIG)], capture_output=True, text=True, timeout=30
    )
    assert plain.returncode == 0, plain.stderr
    cert = tmp_path / "haproxy.pem"
    subprocess.run(
        [str(REPO_ROOT / "tools" / "scripts" / "gen_dev_cert.sh"), str(cert)],
        check=True,
        capture_output=True,
        timeout=60,
    )
    env = {
        **os.environ,
        "GTV_HAPROXY_CERT": str(cert),
        "GTV_HAPROXY_DNS": "127.0.0.11:53",
        "GTV_HAPROXY_STATS_PASSWORD": "example",
        "GTV_ADMIN_API_ADDR": "kong:8000",
        "GTV_STREAMING_API_ADDR": "kong:8000",
        "GTV_STREAMING_SERVERS": "3",
    }
    full = subprocess.run(
        [HAPROXY, "-c", "-f", str(CONFIG)], capture_output=True, text=True, timeout=30, env=env
    )
    assert full.returncode == 0, full.stderr


def test_production_defaults_are_in_the_config() -> None:
    text = CONFIG.read_text()
    assert "presetenv GTV_HAPROXY_RATE_LIMIT      1000" in text
    assert "presetenv GTV_HTTP_PORT               8080" in text
    assert "timeout tunnel 3600s" in text
    for timeout in ("http-request", "client", "server"):
        assert f"timeout {timeout} 30s" in text
    assert text.count("balance roundrobin") >= 3
    assert "option httpchk GET /health" in text


@pytest.mark.parametrize(
    ("path", "backend"),
    [
        ("/api/admin/me", "admin"),
        ("/api/admin/auth/token", "admin"),
        ("/api/cidades/cameras/", "admin"),
        ("/admin/", "admin"),
        ("/static/admin/css/base.css", "admin"),
        ("/api/streaming/streams/", "streaming"),
        ("/api/streaming/openapi.json", "streaming"),
        ("/api/ai/detections/?plate=ABC1D23", "streaming"),
    ],
)
def test_path_prefixes_route_to_their_service(haproxy: Haproxy, path: str, backend: str) -> None:
    response = httpx.get(f"{haproxy.http}{path}", timeout=5)
    assert response.status_code == 200
    assert response.json()["backend"] == backend


def test_unrelated_prefix_is_not_routed_to_an_api(haproxy: Haproxy) -> None:
    # /api/adminx is no prefix of SPEC §1; it falls to the dashboard backend (down here).
    response = httpx.get(f"{haproxy.http}/api/adminx", timeout=5)
    assert response.status_code == 503


def test_correlation_id_is_minted_when_absent_and_echoed(haproxy: Haproxy) -> None:
    response = httpx.get(f"{haproxy.http}/api/admin/me", timeout=5)
    seen = response.json()["headers"]["x-correlation-id"]
    assert len(seen) == 36 and seen.count("-") == 4
    assert response.headers["x-correlation-id"] == seen


def test_client_correlation_id_is_forwarded_unchanged(haproxy: Haproxy) -> None:
    response = httpx.get(
        f"{haproxy.http}/api/ai/alerts/", headers={"X-Correlation-ID": "req-42.abc"}, timeout=5
    )
    assert response.json()["headers"]["x-correlation-id"] == "req-42.abc"
    assert response.headers["x-correlation-id"] == "req-42.abc"


def test_forwarded_headers_reach_the_backend(haproxy: Haproxy) -> None:
    headers = httpx.get(f"{haproxy.http}/api/admin/me", timeout=5).json()["headers"]
    assert headers["x-forwarded-for"] == "127.0.0.1"
    assert headers["x-forwarded-proto"] == "http"


def test_backend_server_header_is_removed(haproxy: Haproxy) -> None:
    response = httpx.get(f"{haproxy.http}/api/admin/me", timeout=5)
    assert "server" not in response.headers


def test_tls_bind_serves_with_the_generated_certificate(haproxy: Haproxy) -> None:
    context = ssl.create_default_context(cafile=str(haproxy.cert))
    response = httpx.get(f"{haproxy.https}/api/streaming/streams/", verify=context, timeout=5)
    assert response.status_code == 200
    assert response.json()["headers"]["x-forwarded-proto"] == "https"
    assert "strict-transport-security" in response.headers


def test_dead_backend_is_marked_down_and_answers_503_in_error_shape(haproxy: Haproxy) -> None:
    assert wait_for(lambda: server_states(haproxy).get(("be_dashboard", "dashboard1")) == "DOWN")
    response = httpx.get(f"{haproxy.http}/", timeout=5)
    assert response.status_code == 503
    assert response.headers["content-type"] == "application/json"
    error = response.json()["error"]
    assert error["code"] == "service_unavailable"
    assert error["details"] == {}


def test_websocket_upgrade_passes_through_with_a_sticky_cookie(haproxy: Haproxy) -> None:
    url = haproxy.http.replace("http://", "ws://") + "/ws/alerts?token=x"
    with ws_connect(url, open_timeout=5, close_timeout=2) as ws:
        ws.send("ping")
        assert ws.recv(timeout=5) == "streaming:ping"
        assert "GTV_WS=" in (ws.response.headers.get("set-cookie") or "")


def test_stats_page_and_prometheus_metrics_answer(haproxy: Haproxy) -> None:
    page = httpx.get(f"{haproxy.stats}/", timeout=5)
    assert page.status_code == 200
    assert "be_streaming_api" in page.text
    metrics = httpx.get(f"{haproxy.stats}/metrics", timeout=5)
    assert metrics.status_code == 200
    assert "haproxy_backend_status" in metrics.text


def test_access_log_lines_are_json_with_correlation_id(haproxy: Haproxy) -> None:
    httpx.get(
        f"{haproxy.http}/api/cidades/zones/", headers={"X-Correlation-ID": "log-me-1"}, timeout=5
    )

    def logged() -> dict[str, Any] | None:
        for line in haproxy.log.read_text().splitlines():
            if line.startswith("{") and "log-me-1" in line:
                return dict(json.loads(line))
        return None

    assert wait_for(lambda: logged() is not None, seconds=5)
    entry = logged()
    assert entry is not None
    assert entry["path"] == "/api/cidades/zones/"
    assert entry["status"] == 200
    assert entry["backend"] == "be_admin_api"


def test_requests_past_the_limit_get_429_in_error_shape(
    backends: dict[str, Backend], tmp_path: Path
) -> None:
    proxy = start_haproxy(
        tmp_path,
        {
            "GTV_HAPROXY_RATE_LIMIT": "20",
            "GTV_ADMIN_ADDR": f"127.0.0.1:{backends['admin'].port}",
            "GTV_STREAMING_ADDR": f"127.0.0.1:{backends['streaming'].port}",
        },
    )
    try:
        statuses = []
        with httpx.Client(timeout=5) as client:
            for _ in range(30):
                statuses.append(client.get(f"{proxy.http}/api/admin/me").status_code)
            limited = client.get(f"{proxy.http}/api/streaming/streams/")
        assert statuses[:15] == [200] * 15
        assert 429 in statuses
        assert limited.status_code == 429
        assert limited.headers["content-type"] == "application/json"
        assert limited.json()["error"]["code"] == "rate_limited"
    finally:
        stop_haproxy(proxy)


def test_live_media_has_its_own_higher_limit(
    backends: dict[str, Backend], tmp_path: Path
) -> None:
    """A live wall's segment requests must not exhaust the API limit, nor the reverse."""
    proxy = start_haproxy(
        tmp_path,
        {
            "GTV_HAPROXY_RATE_LIMIT": "10",
            "GTV_HAPROXY_MEDIA_RATE_LIMIT": "25",
            "GTV_ADMIN_ADDR": f"127.0.0.1:{backends['admin'].port}",
            "GTV_STREAMING_ADDR": f"127.0.0.1:{backends['streaming'].port}",
        },
    )
    try:
        with httpx.Client(timeout=5) as client:
            media = [
                client.get(f"{proxy.http}/api/streaming/live/cam/seg_{i}.ts").status_code
                for i in range(20)
            ]
            api_after_media = client.get(f"{proxy.http}/api/admin/me").status_code
            more_media = [
                client.get(f"{proxy.http}/api/streaming/media/recordings/k{i}").status_code
                for i in range(10)
            ]
        assert media == [200] * 20, "20 media requests stay under the media limit"
        assert api_after_media == 200, "media requests do not count against the API limit"
        assert 429 in more_media, "the media limit applies past 25 requests"
    finally:
        stop_haproxy(proxy)
