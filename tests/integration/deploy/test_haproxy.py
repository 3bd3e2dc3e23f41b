"""The real HAProxy with deploy/haproxy/haproxy.cfg, in front of two tiny real backends.

The backends are uvicorn servers (in threads) running an ASGI app that answers every
HTTP request with which backend it is and the headers it got, and echoes WebSocket
messages. HAProxy runs as a subprocess on free ports of 127.0.0.1.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
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


def echo_app(name: str, seen: list[dict[str, Any]]) -> Callable[..., Any]:
    """Answers with its name, the path, every header (repeated ones joined with ", ", as
    a service reading them would) and how many body bytes arrived; remembers each
    request in ``seen`` so a test can tell that one never reached it."""

    async def app(
        scope: dict[str, Any], receive: Callable[..., Any], send: Callable[..., Any]
    ) -> None:
        if scope["type"] == "http":
            headers: dict[str, str] = {}
            for key, value in scope["headers"]:
                k, v = key.decode().lower(), value.decode("latin-1")
                headers[k] = f"{headers[k]}, {v}" if k in headers else v
            received = 0
            while True:
                message = await receive()
                received += len(message.get("body", b""))
                if not message.get("more_body"):
                    break
            if scope["path"] == "/health":
                body = b'{"status":"ok"}'
            else:
                seen.append({"method": scope["method"], "path": scope["path"],
                             "query": scope["query_string"].decode(), "body_bytes": received})
                body = json.dumps(
                    {"backend": name, "path": scope["path"], "headers": headers,
                     "body_bytes": received}
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
    seen: list[dict[str, Any]]


def start_backend(name: str) -> Backend:
    port = free_port()
    seen: list[dict[str, Any]] = []
    config = uvicorn.Config(
        echo_app(name, seen), host="127.0.0.1", port=port, log_level="warning",
        lifespan="off", access_log=False,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name=f"backend-{name}", daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError(f"backend {name} did not start")
        time.sleep(0.05)
    return Backend(name, port, server, thread, seen)


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


# --- the security edge (issue 9): forwarded headers, internal paths, body caps, logins,
# --- security headers, tokens kept out of the log ---------------------------------------


@pytest.fixture(scope="module")
def edge_backends() -> Iterator[dict[str, Backend]]:
    started = {name: start_backend(name) for name in ("admin", "streaming", "dashboard")}
    try:
        yield started
    finally:
        for backend in started.values():
            stop_backend(backend)


def edge_env(backends: dict[str, Backend], **extra: str) -> dict[str, str]:
    return {
        "GTV_ADMIN_ADDR": f"127.0.0.1:{backends['admin'].port}",
        "GTV_STREAMING_ADDR": f"127.0.0.1:{backends['streaming'].port}",
        "GTV_DASHBOARD_ADDR": f"127.0.0.1:{backends['dashboard'].port}",
        **extra,
    }


@pytest.fixture(scope="module")
def edge(
    edge_backends: dict[str, Backend], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Haproxy]:
    """HAProxy with every backend up (the dashboard too)."""
    proxy = start_haproxy(tmp_path_factory.mktemp("edge"), edge_env(edge_backends))
    try:
        assert wait_for(
            lambda: all(
                server_states(proxy).get(key) == "UP"
                for key in (("be_admin_api", "admin1"), ("be_streaming_api", "streaming1"),
                            ("be_dashboard", "dashboard1"))
            )
        ), server_states(proxy)
        yield proxy
    finally:
        stop_haproxy(proxy)


def paths_seen(backends: dict[str, Backend]) -> list[str]:
    return [r["path"] for b in backends.values() for r in b.seen]


def assert_error_shape(response: httpx.Response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "details"}
    assert body["error"]["code"] == code


def raw_exchange(base: str, head: str, body: bytes = b"") -> httpx.Response:
    """Send ``head`` (request line and headers) and ``body`` on a plain socket and parse
    the answer: for a refused body the gateway answers before the client has sent it
    all, which an ordinary client reports as a broken pipe instead of a response."""
    host, port = base.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=15) as sock:
        sock.sendall(head.encode("latin-1") + body)
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
        head_bytes, _, rest = data.partition(b"\r\n\r\n")
        lines = head_bytes.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        headers = [tuple(line.split(": ", 1)) for line in lines[1:] if ": " in line]
        length = int({k.lower(): v for k, v in headers}.get("content-length", "0"))
        while len(rest) < length:
            chunk = sock.recv(65536)
            if not chunk:
                break
            rest += chunk
    return httpx.Response(status, headers=headers, content=rest[:length])


def chunked(body: bytes, size: int = 4096) -> bytes:
    out = b"".join(
        f"{len(body[i:i + size]):x}\r\n".encode() + body[i:i + size] + b"\r\n"
        for i in range(0, len(body), size)
    )
    return out + b"0\r\n\r\n"


def test_client_sent_forwarded_headers_are_replaced_not_appended(edge: Haproxy) -> None:
    forged = {
        "X-Forwarded-For": "6.6.6.6",
        "Forwarded": "for=6.6.6.6;proto=https",
        "X-Real-IP": "6.6.6.6",
        "X-Forwarded-Proto": "https",
        "X-Forwarded-Host": "evil.example",
        "X-Forwarded-Prefix": "/evil",
    }
    for path in ("/api/admin/me", "/api/streaming/streams/", "/admin/", "/"):
        headers = httpx.get(f"{edge.http}{path}", headers=forged, timeout=5).json()["headers"]
        assert headers["x-forwarded-for"] == "127.0.0.1", path  # the real peer, alone
        assert "forwarded" not in headers and "x-real-ip" not in headers
        assert "x-forwarded-prefix" not in headers
        assert headers["x-forwarded-proto"] == "http"
        assert headers["x-forwarded-host"] == edge.http.removeprefix("http://")


@pytest.mark.parametrize(
    "path",
    [
        "/api/streaming/mediamtx/auth",
        "/api/streaming/mediamtx/segment-complete",
        "/api/streaming/mediamtx",
        "/api/streaming/%6Dediamtx/auth",
        "/api/streaming%2Fmediamtx/segment-complete",
    ],
)
def test_mediamtx_hooks_are_not_reachable_from_outside(
    edge: Haproxy, edge_backends: dict[str, Backend], path: str
) -> None:
    response = httpx.post(
        f"{edge.http}{path}", json={"path": "cam", "segment_path": "/recordings/x.mp4"},
        headers={"X-GTV-Hook-Token": "guess"}, timeout=5,
    )
    assert_error_shape(response, 404, "not_found")
    assert not any("mediamtx" in p for p in paths_seen(edge_backends))


@pytest.mark.parametrize("path", ["/metrics", "/metrics/", "/ready", "/%6Detrics"])
def test_service_metrics_and_readiness_are_not_published(
    edge: Haproxy, edge_backends: dict[str, Backend], path: str
) -> None:
    assert_error_shape(httpx.get(f"{edge.http}{path}", timeout=5), 404, "not_found")
    assert not any(p.startswith(("/metrics", "/ready")) for p in paths_seen(edge_backends))


def test_haproxy_metrics_stay_on_the_stats_port(edge: Haproxy) -> None:
    assert "haproxy_backend_status" in httpx.get(f"{edge.stats}/metrics", timeout=5).text


def test_a_2_mb_json_body_is_refused_with_413_before_reaching_a_service(
    edge: Haproxy, edge_backends: dict[str, Backend]
) -> None:
    body = b'{"name": "' + b"x" * 2_000_000 + b'"}'
    response = raw_exchange(
        edge.http,
        "POST /api/ai/watchlists/ HTTP/1.1\r\nHost: gtv\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n",
        body[:65536],
    )
    assert_error_shape(response, 413, "payload_too_large")
    assert "/api/ai/watchlists/" not in paths_seen(edge_backends)


def test_a_chunked_body_past_the_buffer_is_refused_with_413(
    edge: Haproxy, edge_backends: dict[str, Backend]
) -> None:
    response = raw_exchange(
        edge.http,
        "POST /api/admin/users/ HTTP/1.1\r\nHost: gtv\r\nContent-Type: application/json\r\n"
        "Transfer-Encoding: chunked\r\n\r\n",
        chunked(b"x" * 2_000_000)[:131072],
    )
    assert_error_shape(response, 413, "payload_too_large")
    assert "/api/admin/users/" not in paths_seen(edge_backends)


def test_big_headers_cannot_hide_a_chunked_body_from_the_cap(
    edge: Haproxy, edge_backends: dict[str, Backend]
) -> None:
    """Headers that fill most of the buffer leave room for only a few body bytes; the cap
    counts the whole request, so the rest of the body cannot slip past unmeasured."""
    padding = "".join(f"X-Pad-{i}: {'p' * 900}\r\n" for i in range(12))
    response = raw_exchange(
        edge.http,
        "POST /api/cidades/cameras/ HTTP/1.1\r\nHost: gtv\r\nTransfer-Encoding: chunked\r\n"
        f"{padding}\r\n",
        chunked(b"x" * 500_000)[:65536],
    )
    assert_error_shape(response, 413, "payload_too_large")
    assert "/api/cidades/cameras/" not in paths_seen(edge_backends)


def test_small_chunked_and_sized_bodies_pass_whole(edge: Haproxy) -> None:
    def generate() -> Iterator[bytes]:
        yield b'{"name": "'
        yield b"y" * 3000
        yield b'"}'

    small = httpx.post(f"{edge.http}/api/ai/watchlists/", content=generate(), timeout=5)
    assert small.status_code == 200
    assert small.json()["body_bytes"] == 3012
    sized = httpx.post(f"{edge.http}/api/admin/users/", content=b"z" * 900_000, timeout=10)
    assert sized.status_code == 200
    assert sized.json()["body_bytes"] == 900_000


def test_lpr_uploads_get_the_larger_cap(edge: Haproxy, edge_backends: dict[str, Backend]) -> None:
    files = {"image": ("plate.jpg", b"\xff\xd8" + b"i" * 5_000_000, "image/jpeg")}
    accepted = httpx.post(f"{edge.http}/api/ai/lpr/recognize", files=files, timeout=30)
    assert accepted.status_code == 200
    assert accepted.json()["body_bytes"] > 5_000_000
    too_big = raw_exchange(
        edge.http,
        "POST /api/ai/lpr/recognize HTTP/1.1\r\nHost: gtv\r\n"
        "Content-Type: multipart/form-data; boundary=b\r\nContent-Length: 10000000\r\n\r\n",
    )
    assert_error_shape(too_big, 413, "payload_too_large")


def directives(csp: str) -> dict[str, list[str]]:
    parsed = [part.split() for part in csp.split(";") if part.strip()]
    return {words[0]: words[1:] for words in parsed}


def test_dashboard_gets_a_content_security_policy_and_security_headers(edge: Haproxy) -> None:
    for path in ("/", "/live", "/assets/index-abc.js"):
        headers = httpx.get(f"{edge.http}{path}", timeout=5).headers
        csp = directives(headers["content-security-policy"])
        assert csp["default-src"] == ["'self'"]
        assert csp["script-src"] == ["'self'"], "no inline or eval'd script on the dashboard"
        assert csp["frame-ancestors"] == ["'none'"]
        assert csp["object-src"] == ["'none'"]
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["referrer-policy"] == "same-origin"
        assert headers["x-frame-options"] == "DENY"


def test_admin_and_swagger_pages_get_policies_they_can_work_with(edge: Haproxy) -> None:
    admin = directives(
        httpx.get(f"{edge.http}/admin/login/", timeout=5).headers["content-security-policy"])
    assert admin["script-src"] == ["'self'"]  # Django 5's admin has no inline script
    assert admin["frame-ancestors"] == ["'none'"]
    for docs in ("/api/admin/docs/", "/api/streaming/docs"):
        csp = directives(
            httpx.get(f"{edge.http}{docs}", timeout=5).headers["content-security-policy"])
        # Both Swagger UIs start from an inline script; nothing else may load or connect.
        assert csp["script-src"] == ["'self'", "'unsafe-inline'"]
        assert csp["connect-src"] == ["'self'"]
        assert csp["frame-ancestors"] == ["'none'"]


def test_api_and_media_responses_carry_no_page_policy(edge: Haproxy) -> None:
    for path in ("/api/admin/me", "/api/streaming/media/exports/a.mp4", "/api/ai/alerts/"):
        headers = httpx.get(f"{edge.http}{path}", timeout=5).headers
        assert "content-security-policy" not in headers, path
        assert headers["x-content-type-options"] == "nosniff"


def test_login_posts_have_their_own_tighter_limit(
    edge_backends: dict[str, Backend], tmp_path: Path
) -> None:
    proxy = start_haproxy(
        tmp_path, edge_env(edge_backends, GTV_HAPROXY_LOGIN_RATE_LIMIT="5")
    )
    try:
        with httpx.Client(timeout=5) as client:
            api = [client.post(f"{proxy.http}/api/admin/auth/token", json={}).status_code
                   for _ in range(4)]
            web = [client.post(f"{proxy.http}/admin/login/", data={}).status_code
                   for _ in range(3)]
            form = client.get(f"{proxy.http}/admin/login/")
            other = client.post(f"{proxy.http}/api/admin/auth/refresh", json={})
        assert api == [200] * 4
        assert web[0] == 200 and web[-1] == 429, web  # both forms share one counter
        assert form.status_code == 200, "viewing the form is not an attempt"
        assert other.status_code == 200, "only the login forms have the tighter limit"
        limited = httpx.post(f"{proxy.http}/api/admin/auth/token", json={}, timeout=5)
        assert_error_shape(limited, 429, "rate_limited")
    finally:
        stop_haproxy(proxy)


def test_tokens_in_query_strings_never_reach_the_log(edge: Haproxy) -> None:
    marker = "log-no-token-1"
    secrets = ("eyJhbGciOiJSUzI1NiJ9.SECRETPAYLOAD.SIG", "S1GNATUREVALUE", "MEDIATOKENVALUE")
    with httpx.Client(timeout=5, headers={"X-Correlation-ID": marker}) as client:
        client.get(f"{edge.http}/api/streaming/live/cam-1/index.m3u8",
                   params={"token": secrets[2]})
        client.get(f"{edge.http}/api/streaming/media/exports/a.mp4",
                   params={"expires": "1700000000", "sig": secrets[1]})
        client.get(f"{edge.http}/api/streaming/mediamtx/auth", params={"token": secrets[0]})
    url = edge.http.replace("http://", "ws://") + f"/ws/alerts?token={secrets[0]}"
    with ws_connect(url, open_timeout=5, close_timeout=2,
                    additional_headers={"X-Correlation-ID": marker}) as ws:
        ws.send("ping")
        ws.recv(timeout=5)

    def lines() -> list[str]:
        return [line for line in edge.log.read_text().splitlines() if marker in line]

    assert wait_for(lambda: len(lines()) >= 4, seconds=10), edge.log.read_text()[-2000:]
    time.sleep(0.5)  # the WebSocket's line is written when it closes
    text = edge.log.read_text()
    assert "token=" not in text and "sig=" not in text
    for secret in secrets:
        assert secret not in text
    paths = {json.loads(line)["path"] for line in lines()}
    assert "/api/streaming/live/cam-1/index.m3u8" in paths


def test_edge_body_caps_sit_just_above_the_services_own_limits() -> None:
    """The services answer 413 themselves, with details, for bodies between their limit
    and the edge's; the edge stops anything bigger before it costs a service anything."""
    from streaming_service.settings import StreamingSettings

    defaults = dict(
        re.findall(r"^\s*presetenv (GTV_HAPROXY_MAX_\w+)\s+(\d+)\s*$", CONFIG.read_text(), re.M)
    )
    lpr_max = StreamingSettings.model_fields["lpr_upload_max_bytes"].default
    admin_api_max = 256 * 1024  # admin_service/config/settings.py api_max_body_bytes
    assert admin_api_max <= int(defaults["GTV_HAPROXY_MAX_BODY"]) <= 2 * 1024 * 1024
    assert lpr_max + 64 * 1024 <= int(defaults["GTV_HAPROXY_MAX_UPLOAD_BODY"]) <= 16 * 1024 * 1024
    # A body of unknown length is measured inside one 16 KiB buffer: the cap must leave room.
    assert int(defaults["GTV_HAPROXY_MAX_UNSIZED_REQUEST"]) <= 12 * 1024


def test_presigned_object_urls_reach_the_store_as_signed_and_nothing_else_does(
    tmp_path: Path,
) -> None:
    """``GTV_OBJECTS_ADDR`` set: ``/objects/<bucket>/<key>?X-Amz-...`` goes to the object
    store without the prefix and with the Host the URL was signed for (the store's own
    name), without the caller's credentials; an unsigned request or another method never
    reaches it."""
    store = start_backend("objects")
    address = f"127.0.0.1:{store.port}"
    proxy = start_haproxy(tmp_path, {"GTV_OBJECTS_ADDR": address,
                                     "GTV_ADMIN_ADDR": f"127.0.0.1:{free_port()}",
                                     "GTV_STREAMING_ADDR": f"127.0.0.1:{free_port()}"})
    try:
        signed = ("/objects/recordings/t1/c1/2026/12/05/seg.mp4"
                  "?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Expires=600&X-Amz-Signature=ab12")
        answer = httpx.get(proxy.http + signed, timeout=5,
                           headers={"Authorization": "Bearer secret", "Cookie": "s=1"})
        assert answer.status_code == 200, answer.text
        seen = answer.json()
        assert seen["backend"] == "objects"
        assert seen["path"] == "/recordings/t1/c1/2026/12/05/seg.mp4"
        assert seen["headers"]["host"] == address
        assert "authorization" not in seen["headers"]
        assert "cookie" not in seen["headers"]
        assert "x-forwarded-host" not in seen["headers"]
        assert store.seen[-1]["query"].endswith("X-Amz-Signature=ab12")
        count = len(store.seen)
        unsigned = httpx.get(proxy.http + "/objects/recordings/", timeout=5)
        assert unsigned.status_code == 403
        written = httpx.put(proxy.http + signed, content=b"x", timeout=5)
        assert written.status_code == 403
        assert len(store.seen) == count
    finally:
        stop_haproxy(proxy)
        stop_backend(store)
