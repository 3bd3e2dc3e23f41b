"""Bad input to the streaming service (the AI and streaming routers, served by uvicorn)
gets a 4xx in the one error shape, never a 500: what the fuzzer of issue 9 found.

Pagination (one rule, ``shared_kernel.pagination``), control characters in bodies and
query parameters, unknown body fields, unsupported methods, signatures with non-ASCII
characters, and request bodies over the size limit — declared or chunked.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from shared_kernel.pagination import MAX_PAGE
from streaming_service.settings import StreamingSettings


def _error(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, (response.status_code, response.text)
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "details"}
    assert isinstance(body["error"]["details"], dict)
    return dict(body["error"])


def _bad_locations(error: dict[str, Any]) -> list[list[str]]:
    return [e["loc"] for e in error["details"]["errors"]]


# --- pagination -------------------------------------------------------------------------


@pytest.mark.parametrize("query", [
    "page=6274421071329961705472",
    "page=40733941332469409120256",
    "page=121645100408831999&page_size=1055",
    f"page={MAX_PAGE + 1}",
    "page=0",
    "page=-3",
    "page_size=0",
    "page_size=-799",
])
@pytest.mark.parametrize("path", ["/api/ai/detections/", "/api/ai/watchlists/",
                                  "/api/ai/alerts/"])
async def test_out_of_range_pages_are_400_naming_the_parameter(
    http: httpx.AsyncClient, make_caller: Any, path: str, query: str
) -> None:
    caller = make_caller("viewer")
    error = _error(await http.get(f"{path}?{query}", headers=caller.headers), 400)
    assert error["code"] == "validation_error"
    assert {loc[-1] for loc in _bad_locations(error)} <= {"page", "page_size"}


async def test_recordings_page_bound_is_checked_before_the_camera(
    http: httpx.AsyncClient, make_caller: Any
) -> None:
    caller = make_caller("viewer")
    response = await http.get(
        "/api/streaming/recordings/", headers=caller.headers,
        params={"camera_id": str(uuid.uuid4()), "start": "2026-01-01T00:00:00Z",
                "end": "2026-01-01T01:00:00Z", "page": "99999999999999999999"})
    assert _bad_locations(_error(response, 400)) == [["query", "page"]]


async def test_page_past_the_end_is_404_and_page_one_of_an_empty_list_is_200(
    http: httpx.AsyncClient, make_caller: Any
) -> None:
    operator = make_caller("operator")
    for name in ("a", "b", "c"):
        created = await http.post("/api/ai/watchlists/", headers=operator.headers,
                                  json={"name": name})
        assert created.status_code == 201, created.text
    last = await http.get("/api/ai/watchlists/?page=2&page_size=2", headers=operator.headers)
    assert last.status_code == 200 and len(last.json()["results"]) == 1
    past = _error(await http.get("/api/ai/watchlists/?page=3&page_size=2",
                                 headers=operator.headers), 404)
    assert past["code"] == "not_found" and past["details"]["last_page"] == 2
    far = await http.get(f"/api/ai/watchlists/?page={MAX_PAGE}", headers=operator.headers)
    _error(far, 404)
    empty = await http.get("/api/ai/alerts/", headers=operator.headers)
    assert empty.status_code == 200 and empty.json()["results"] == []


async def test_page_size_above_the_maximum_is_clamped(
    http: httpx.AsyncClient, make_caller: Any, streaming_settings: StreamingSettings
) -> None:
    caller = make_caller("viewer")
    response = await http.get("/api/ai/detections/?page_size=1000000000000000000000",
                              headers=caller.headers)
    assert response.status_code == 200, response.text
    assert response.json()["page_size"] == streaming_settings.page_size_max


# --- control characters, unknown fields ---------------------------------------------------


@pytest.mark.parametrize(("body", "field"), [
    ({"name": "stolen\u0000"}, "name"),
    ({"name": "ok", "description": "evil\u0000"}, "description"),
    ({"name": "two\nlines"}, "name"),
    ({"name": "bell\u0007"}, "name"),
    ({"name": "ok", "description": "c1\u0085"}, "description"),
])
async def test_control_characters_in_a_new_watchlist_are_400_naming_the_field(
    http: httpx.AsyncClient, make_caller: Any, body: dict[str, str], field: str
) -> None:
    operator = make_caller("operator")
    error = _error(await http.post("/api/ai/watchlists/", headers=operator.headers,
                                   json=body), 400)
    assert _bad_locations(error) == [["body", field]]
    listed = await http.get("/api/ai/watchlists/", headers=operator.headers)
    assert listed.json()["count"] == 0


async def test_nul_in_a_watchlist_patch_and_entry_is_400_and_changes_nothing(
    http: httpx.AsyncClient, make_caller: Any
) -> None:
    operator = make_caller("operator")
    created = await http.post("/api/ai/watchlists/", headers=operator.headers,
                              json={"name": "Roubados", "description": "multi\nline ok"})
    assert created.status_code == 201, created.text
    url = f"/api/ai/watchlists/{created.json()['id']}"
    for body, field in (({"name": "x\u0000"}, "name"), ({"description": "\u0000"},
                                                       "description")):
        error = _error(await http.patch(url, headers=operator.headers, json=body), 400)
        assert _bad_locations(error) == [["body", field]]
    entry = await http.post(f"{url}/entries/", headers=operator.headers,
                            json={"plate": "ABC1234", "reason": "nul\u0000"})
    assert _bad_locations(_error(entry, 400)) == [["body", "reason"]]
    unchanged = await http.get(url, headers=operator.headers)
    assert unchanged.json()["name"] == "Roubados"
    assert unchanged.json()["description"] == "multi\nline ok"


async def test_unknown_fields_are_400_naming_the_field(
    http: httpx.AsyncClient, make_caller: Any
) -> None:
    operator = make_caller("operator")
    error = _error(await http.post(
        "/api/ai/watchlists/", headers=operator.headers,
        json={"name": "x", "entries": [{"plate": "ABC1234"}]}), 400)
    assert _bad_locations(error) == [["body", "entries"]]
    assert (await http.get("/api/ai/watchlists/", headers=operator.headers)).json()["count"] == 0
    created = await http.post("/api/ai/watchlists/", headers=operator.headers,
                              json={"name": "y"})
    url = f"/api/ai/watchlists/{created.json()['id']}"
    patch = await http.patch(url, headers=operator.headers, json={"nme": "typo"})
    assert _bad_locations(_error(patch, 400)) == [["body", "nme"]]
    entry = await http.post(f"{url}/entries/", headers=operator.headers,
                            json={"plate": "ABC1234", "severity": "high", "colour": "red"})
    assert _bad_locations(_error(entry, 400)) == [["body", "colour"]]
    export = await http.post("/api/streaming/exports", headers=operator.headers,
                             json={"camera_id": str(uuid.uuid4()), "start": "2026-01-01T00:00:00Z",
                                   "end": "2026-01-01T00:10:00Z", "format": "avi"})
    assert _bad_locations(_error(export, 400)) == [["body", "format"]]


@pytest.mark.parametrize("query", ["plate=%00", "plate=ABC%0A1234", "camera_id=%00",
                                   "x%00=1", "status=new%07"])
async def test_control_characters_in_query_parameters_are_400(
    http: httpx.AsyncClient, make_caller: Any, query: str
) -> None:
    caller = make_caller("viewer")
    path = "/api/ai/alerts/" if query.startswith("status") else "/api/ai/detections/"
    error = _error(await http.get(f"{path}?{query}", headers=caller.headers), 400)
    assert error["code"] == "validation_error"
    assert _bad_locations(error)[0][0] == "query"


# --- date-times at the ends of the calendar -------------------------------------------------

# 9999-12-31T23:00-05:00 is no datetime in UTC (year 10000); year 1 leaves no room for the
# day a recording search subtracts or the week a report's default start does.
EDGE_INSTANTS = ["9999-12-31T23:00:00-05:00", "0001-01-01T00:00:00+14:00",
                 "0001-01-01T00:00:00Z", "9999-12-31T23:59:59Z"]


@pytest.mark.parametrize("instant", EDGE_INSTANTS)
async def test_date_times_out_of_the_service_range_are_400_everywhere(
    http: httpx.AsyncClient, make_caller: Any, instant: str
) -> None:
    viewer, operator = make_caller("viewer"), make_caller("operator")
    admin = make_caller("tenant_admin")
    camera = str(uuid.uuid4())
    ordinary = "2026-01-01T00:00:00Z"
    requests = [
        ("GET", "/api/ai/detections/", viewer, {"start": instant}, None),
        ("GET", "/api/ai/detections/", viewer, {"end": instant}, None),
        ("GET", "/api/streaming/recordings/", viewer,
         {"camera_id": camera, "start": instant, "end": ordinary}, None),
        ("GET", "/api/streaming/recordings/gaps", viewer,
         {"camera_id": camera, "start": ordinary, "end": instant}, None),
        ("GET", "/api/ai/reports/traffic", admin, {"end": instant}, None),
        ("GET", "/api/ai/reports/plates", admin, {"start": instant}, None),
        ("GET", "/api/streaming/reports/availability", admin, {"end": instant}, None),
        ("POST", "/api/streaming/exports", operator, None,
         {"camera_id": camera, "start": instant, "end": ordinary}),
        ("POST", f"/api/ai/watchlists/{uuid.uuid4()}/entries/", operator, None,
         {"plate": "ABC1234", "active_until": instant}),
    ]
    for method, path, caller, params, body in requests:
        response = await http.request(method, path, headers=caller.headers, params=params,
                                      json=body)
        error = _error(response, 400)
        assert error["code"] == "validation_error", (path, error)


async def test_a_date_time_with_an_offset_is_read_as_the_same_instant(
    http: httpx.AsyncClient, make_caller: Any
) -> None:
    caller = make_caller("tenant_admin")
    response = await http.get("/api/ai/reports/traffic", headers=caller.headers,
                              params={"start": "2026-03-01T00:00:00-03:00",
                                      "end": "2026-03-02T00:00:00-03:00"})
    assert response.status_code == 200, response.text
    assert response.json()["start"].startswith("2026-03-01T03:00:00")


# --- ranges of files ----------------------------------------------------------------------


@pytest.mark.parametrize("range_header,status", [("bytes=abc", 400), ("bytes=99999999-", 416)])
async def test_a_bad_range_of_a_file_is_answered_in_the_error_shape(
    http: httpx.AsyncClient, range_header: str, status: int
) -> None:
    """Starlette's file responses answer these themselves, in plain text."""
    response = await http.get("/api/streaming/docs-assets/swagger-ui.css",
                              headers={"Range": range_header})
    error = _error(response, status)
    assert response.headers["content-type"] == "application/json"
    if status == 416:
        assert error["code"] == "range_not_satisfiable"
        assert response.headers["content-range"].startswith("bytes */")
    whole = await http.get("/api/streaming/docs-assets/swagger-ui.css",
                           headers={"Range": "bytes=0-9"})
    assert whole.status_code == 206 and len(whole.content) == 10


# --- methods ------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/health", "/ready", "/api/ai/watchlists/",
                                  "/api/streaming/openapi.json",
                                  "/api/streaming/docs-assets/swagger-ui.css"])
@pytest.mark.parametrize("method", ["TRACE", "OPTIONS", "CONNECT", "PROPFIND"])
async def test_unsupported_methods_are_405_in_the_shape_with_allow(
    http: httpx.AsyncClient, path: str, method: str
) -> None:
    response = await http.request(method, path)
    assert _error(response, 405)["code"] == "method_not_allowed"
    assert "GET" in response.headers["allow"]


async def test_405_lists_every_method_of_the_path(http: httpx.AsyncClient,
                                                  make_caller: Any) -> None:
    caller = make_caller("operator")
    path = f"/api/ai/watchlists/{uuid.uuid4()}"
    response = await http.request("OPTIONS", path, headers=caller.headers)
    _error(response, 405)
    assert set(response.headers["allow"].split(", ")) == {"GET", "PATCH", "DELETE"}
    response = await http.put(f"{path}/entries/", headers=caller.headers, json={})
    _error(response, 405)
    assert set(response.headers["allow"].split(", ")) == {"GET", "POST"}


# --- signatures ---------------------------------------------------------------------------


@pytest.mark.parametrize("sig", ["é", "%C3%A9" * 20, "%F0%9F%93%B7", "%ED%A0%80", "%00"])
async def test_non_ascii_media_signature_is_403(http: httpx.AsyncClient, sig: str) -> None:
    expires = int(time.time()) + 600
    response = await http.get(f"/api/streaming/media/snapshots/a/b.jpg?expires={expires}"
                              f"&sig={sig}")
    assert response.status_code in (400, 403), response.text
    _error(response, response.status_code)


async def test_non_ascii_live_media_token_is_401(http: httpx.AsyncClient) -> None:
    camera = uuid.uuid4()
    token = f"{uuid.uuid4().hex}.{int(time.time()) + 60}.sig-é"
    response = await http.get(f"/api/streaming/live/{camera}/index.m3u8",
                              params={"token": token})
    assert _error(response, 401)["code"] == "invalid_media_token"


# --- MediaMTX hooks (internal, not in the OpenAPI document) ------------------------------


@pytest.mark.parametrize(("hook", "body"), [
    ("auth", '{"action": "read", "path": "x", "token": "\\ud800"}'),
    ("auth", '{"action": "read", "path": "x", "query": "jwt=\\ud800"}'),
    ("segment-complete", '{"MTX_PATH": "x", "MTX_SEGMENT_PATH": "/r/x.mp4", '
                         '"MTX_SEGMENT_DURATION": "99999999999999999999999999h"}'),
    ("segment-complete", '{"MTX_PATH": "x", "MTX_SEGMENT_PATH": "/r/x.mp4", '
                         '"MTX_SEGMENT_DURATION": "1e400"}'),
])
async def test_malformed_mediamtx_hook_calls_are_4xx_not_500(
    http: httpx.AsyncClient, hook: str, body: str
) -> None:
    response = await http.post(f"/api/streaming/mediamtx/{hook}", content=body.encode(),
                               headers={"Content-Type": "application/json"})
    assert 400 <= response.status_code < 500, response.text
    _error(response, response.status_code)


# --- body size ----------------------------------------------------------------------------


async def _raw_request(base_url: str, head: str, chunks: list[bytes] | None = None, *,
                       finish: bool = True) -> tuple[int, bytes]:
    """Send a request by hand: headers, then ``chunks`` in chunked encoding (ended by
    the last-chunk marker only when ``finish``), and wait for the answer."""
    url = urlsplit(base_url)
    reader, writer = await asyncio.open_connection(url.hostname, url.port)
    try:
        writer.write(head.encode() + b"\r\n")
        for chunk in chunks or []:
            writer.write(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
        if chunks is not None and finish:
            writer.write(b"0\r\n\r\n")
        await writer.drain()
        raw = bytearray()
        with contextlib.suppress(ConnectionResetError):
            while block := await asyncio.wait_for(reader.read(65536), timeout=20):
                raw += block
    finally:
        writer.close()
    status_line, _, rest = bytes(raw).partition(b"\r\n")
    return int(status_line.split()[1]), rest.partition(b"\r\n\r\n")[2]


async def test_declared_body_over_the_limit_is_413_before_reading(
    server: Any, make_caller: Any, streaming_settings: StreamingSettings
) -> None:
    caller = make_caller("operator")
    size = streaming_settings.api_max_body_bytes + 1
    head = (f"POST /api/ai/watchlists/ HTTP/1.1\r\nHost: test\r\nConnection: close\r\n"
            f"Authorization: Bearer {caller.token}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {size}\r\n")
    status, payload = await _raw_request(server.base_url, head)  # not a byte of body
    assert status == 413
    assert b'"payload_too_large"' in payload and b'"max_bytes"' in payload


async def test_chunked_body_is_cut_off_once_it_passes_the_limit(
    server: Any, make_caller: Any, streaming_settings: StreamingSettings
) -> None:
    caller = make_caller("operator")
    chunk = b" " * 16384
    just_over = streaming_settings.api_max_body_bytes // len(chunk) + 2
    head = (f"POST /api/ai/watchlists/ HTTP/1.1\r\nHost: test\r\nConnection: close\r\n"
            f"Authorization: Bearer {caller.token}\r\nContent-Type: application/json\r\n"
            f"Transfer-Encoding: chunked\r\n")
    # The body never ends: a server that read it whole before checking would never answer.
    status, payload = await _raw_request(server.base_url, head, [chunk] * just_over,
                                         finish=False)
    assert status == 413, payload
    assert b'"payload_too_large"' in payload


async def test_chunked_body_within_the_limit_is_accepted(
    server: Any, make_caller: Any
) -> None:
    caller = make_caller("operator")
    body = b'{"name": "chunked"}'
    head = (f"POST /api/ai/watchlists/ HTTP/1.1\r\nHost: test\r\nConnection: close\r\n"
            f"Authorization: Bearer {caller.token}\r\nContent-Type: application/json\r\n"
            f"Transfer-Encoding: chunked\r\n")
    status, payload = await _raw_request(server.base_url, head, [body[:7], body[7:]])
    assert status == 201, payload


async def test_the_upload_route_has_its_own_larger_limit(
    http: httpx.AsyncClient, make_caller: Any, streaming_settings: StreamingSettings
) -> None:
    caller = make_caller("viewer")
    # Over the JSON limit but well under the upload limit: not refused for its size.
    junk = b"\x00" * (streaming_settings.api_max_body_bytes * 2)
    response = await http.post("/api/ai/lpr/recognize", headers=caller.headers,
                               files={"image": ("a.jpg", junk, "image/jpeg")})
    assert _error(response, 400)["code"] == "invalid_image"
    too_big = b"\x00" * (streaming_settings.lpr_upload_max_bytes + 128 * 1024)
    response = await http.post("/api/ai/lpr/recognize", headers=caller.headers,
                               files={"image": ("a.jpg", too_big, "image/jpeg")})
    error = _error(response, 413)
    assert error["code"] == "payload_too_large"
