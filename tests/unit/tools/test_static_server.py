"""The dashboard's static server: SPA fallback, caching of hashed assets, no escapes."""

from __future__ import annotations

import http.client
import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tools.static_server import IMMUTABLE, NO_CACHE, make_server, resolve


@pytest.fixture()
def dist(tmp_path: Path) -> Path:
    root = tmp_path / "dist"
    (root / "assets").mkdir(parents=True)
    (root / "index.html").write_text("<!doctype html><div id=root></div>")
    (root / "assets" / "index-abc123.js").write_text("console.log(1)")
    (root / "favicon.svg").write_text("<svg/>")
    (tmp_path / "secret.txt").write_text("no")
    return root


@pytest.fixture()
def server(dist: Path) -> Iterator[tuple[str, int]]:
    srv = make_server(dist, "127.0.0.1", 0)
    thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield "127.0.0.1", srv.server_address[1]
    finally:
        srv.shutdown()
        srv.server_close()


def get(addr: tuple[str, int], path: str, headers: dict[str, str] | None = None
        ) -> tuple[int, dict[str, str], bytes]:
    conn = http.client.HTTPConnection(*addr, timeout=5)
    conn.request("GET", path, headers=headers or {})
    response = conn.getresponse()
    body = response.read()
    conn.close()
    return response.status, {k.lower(): v for k, v in response.getheaders()}, body


def test_client_side_routes_get_index_html_uncached(server: tuple[str, int]) -> None:
    status, headers, body = get(server, "/alerts?x=1")
    assert status == 200
    assert b"id=root" in body
    assert headers["cache-control"] == NO_CACHE
    assert headers["content-type"].startswith("text/html")


def test_hashed_assets_are_cached_for_a_year(server: tuple[str, int]) -> None:
    status, headers, _ = get(server, "/assets/index-abc123.js")
    assert status == 200
    assert headers["cache-control"] == IMMUTABLE
    assert headers["content-type"].startswith("text/javascript")


def test_unchanged_files_answer_304(server: tuple[str, int]) -> None:
    _, headers, _ = get(server, "/favicon.svg")
    status, _, body = get(server, "/favicon.svg", {"If-None-Match": headers["etag"]})
    assert status == 304
    assert body == b""


def test_missing_assets_and_api_paths_are_404_not_the_app(server: tuple[str, int]) -> None:
    assert get(server, "/assets/gone-123.js")[0] == 404
    assert get(server, "/api/admin/me")[0] == 404
    assert get(server, "/robots.txt")[0] == 404


def test_health(server: tuple[str, int]) -> None:
    status, _, body = get(server, "/health")
    assert status == 200
    assert b"ok" in body


def test_paths_never_escape_the_root(dist: Path) -> None:
    root = dist.resolve()
    assert resolve(root, "/../secret.txt") is None
    assert resolve(root, "/%2e%2e/secret.txt") is None
    assert resolve(root, "/..%2fsecret.txt") is None
    assert resolve(root, "/") == root / "index.html"


def test_query_strings_are_not_logged(
    server: tuple[str, int], caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level("INFO", logger="gtv.static"):
        status, _, _ = get(server, "/live?token=eyJSECRET.PAYLOAD.SIG&camera=1")
    assert status == 200
    logged = "\n".join(r.getMessage() for r in caplog.records if r.name == "gtv.static")
    assert "GET /live HTTP/1.1" in logged
    assert "SECRET" not in logged and "token" not in logged


@pytest.mark.parametrize("method", ["TRACE", "OPTIONS", "CONNECT", "PROPFIND", "POST"])
@pytest.mark.parametrize("path", ["/health", "/ready", "/", "/alerts"])
def test_other_methods_are_405_in_the_error_shape_with_allow(
    server: tuple[str, int], method: str, path: str
) -> None:
    conn = http.client.HTTPConnection(*server, timeout=5)
    conn.request(method, path)
    response = conn.getresponse()
    body = json.loads(response.read())
    conn.close()
    assert response.status == 405
    assert response.getheader("Allow") == "GET, HEAD"
    assert body["error"]["code"] == "method_not_allowed"
    assert set(body["error"]) == {"code", "message", "details"}
