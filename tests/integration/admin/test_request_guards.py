"""What the fuzzer of issue 9 found in the admin service, and its general fixes: every
bad request is a 4xx in the one error shape, never a 500 or a bare framework page.

Pagination of every list (``shared_kernel.pagination``), date-time filters, control
characters in bodies (the JSON parser, one-line serializer fields) and query parameters,
methods no view answers (on every path), and chunked bodies under gunicorn.
"""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from audit.models import AuditEntry
from cameras.models import Camera, Location, Zone
from rest_framework.test import APIClient
from tenancy.models import Tenant

from shared_kernel.pagination import MAX_PAGE
from tests.factories import CameraFactory
from tests.integration.admin.conftest import gunicorn_server

pytestmark = pytest.mark.django_db

TENANT_LISTS = ["/api/cidades/cameras/", "/api/cidades/locations/", "/api/cidades/zones/",
                "/api/admin/users/", "/api/admin/audit-logs/"]


def _error(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, (response.status_code, response.content[:500])
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "details"}
    assert isinstance(body["error"]["details"], dict)
    return dict(body["error"])


@pytest.fixture
def admin_client(tenant_a: Any, client_for: Any) -> APIClient:
    return client_for(tenant_a.tenant_admin)


@pytest.fixture
def root_client(superadmin: Any, client_for: Any) -> APIClient:
    return client_for(superadmin)


# --- pagination -------------------------------------------------------------------------


@pytest.mark.parametrize(("query", "field"), [
    ({"page_size": "-799"}, "page_size"),
    ({"page_size": "0"}, "page_size"),
    ({"page_size": "ten"}, "page_size"),
    ({"page": "0"}, "page"),
    ({"page": "-1"}, "page"),
    ({"page": "1.5"}, "page"),
    ({"page": str(MAX_PAGE + 1)}, "page"),
    ({"page": "6274421071329961705472"}, "page"),
])
@pytest.mark.parametrize("path", TENANT_LISTS)
def test_unusable_page_or_page_size_is_400_naming_it_on_every_list(
    admin_client: APIClient, path: str, query: dict[str, str], field: str
) -> None:
    error = _error(admin_client.get(path, query), 400)
    assert error["code"] == "validation_error"
    assert list(error["details"]) == [field]


def test_prefeituras_list_follows_the_same_pagination_rule(root_client: APIClient) -> None:
    error = _error(root_client.get("/api/cidades/prefeituras/", {"page_size": "-1"}), 400)
    assert list(error["details"]) == ["page_size"]
    _error(root_client.get("/api/cidades/prefeituras/", {"page": "999"}), 404)


def test_audit_log_with_an_exotic_offset_and_negative_page_size_is_400(
    admin_client: APIClient,
) -> None:
    response = admin_client.get("/api/admin/audit-logs/",
                                {"from": "2949-02-05T03:22:55+19:07", "page_size": "-799"})
    assert list(_error(response, 400)["details"]) == ["page_size"]


@pytest.mark.parametrize("offset", ["+19:07", "-23:59", "+14:00", "Z"])
def test_audit_log_dates_with_any_offset_python_reads_are_queried_in_utc(
    admin_client: APIClient, tenant_a: Any, offset: str
) -> None:
    AuditEntry.objects.create(action="camera.created", tenant_id=tenant_a.tenant.id,
                              object_type="camera", object_id="x")
    since = admin_client.get("/api/admin/audit-logs/", {"from": f"2001-01-01T00:00:00{offset}"})
    assert since.status_code == 200, since.content
    assert since.json()["count"] >= 1
    until = admin_client.get("/api/admin/audit-logs/", {"to": f"2001-01-01T00:00:00{offset}"})
    assert until.status_code == 200 and until.json()["count"] == 0


@pytest.mark.parametrize("value", ["9999-12-31T23:59:59-05:00", "0001-01-01T00:00:00+05:00",
                                   "2026-13-01T00:00:00Z"])
def test_audit_log_dates_that_are_no_instant_are_400(admin_client: APIClient,
                                                     value: str) -> None:
    error = _error(admin_client.get("/api/admin/audit-logs/", {"from": value}), 400)
    assert list(error["details"]) == ["from"]


def test_page_past_the_end_is_404_and_big_page_sizes_are_clamped(
    admin_client: APIClient, tenant_a: Any
) -> None:
    for i in range(3):
        CameraFactory(tenant=tenant_a.tenant, name=f"cam {i}")
    assert admin_client.get("/api/cidades/cameras/", {"page": "2", "page_size": "2"}
                            ).status_code == 200
    error = _error(admin_client.get("/api/cidades/cameras/", {"page": "3", "page_size": "2"}),
                   404)
    assert error["message"] == "Page 3 is past the end of the list."
    _error(admin_client.get("/api/cidades/cameras/", {"page": str(MAX_PAGE)}), 404)
    huge = admin_client.get("/api/cidades/cameras/", {"page_size": "9" * 40})
    assert huge.status_code == 200 and len(huge.json()["results"]) == 3
    assert admin_client.get("/api/cidades/cameras/", {"page": "last"}).status_code == 200


def test_the_schema_documents_the_page_bounds(client: Any) -> None:
    schema = client.get("/api/admin/schema/", HTTP_ACCEPT="application/json").json()
    params = {p["name"]: p["schema"] for p in schema["paths"]["/api/cidades/cameras/"]["get"]
              ["parameters"]}
    assert params["page"]["minimum"] == 1 and params["page"]["maximum"] == MAX_PAGE
    assert params["page_size"]["minimum"] == 1


# --- control characters -----------------------------------------------------------------


def _counts() -> tuple[int, ...]:
    return (Camera.all_objects.count(), Location.objects.count(), Zone.objects.count(),
            Tenant.objects.count())


@pytest.mark.parametrize(("path", "body", "field"), [
    ("/api/cidades/cameras/", {"name": "cam\u0000", "rtsp_url": "rtsp://10.0.0.9/x"}, "name"),
    ("/api/cidades/cameras/", {"name": "cam", "rtsp_url": "rtsp://10.0.0.9/x",
                               "metadata": {"note": "nul\u0000"}}, "metadata.note"),
    ("/api/cidades/cameras/", {"name": "cam", "rtsp_url": "rtsp://10.0.0.9/x",
                               "metadata": {"tags": ["ok", "\u0007"]}}, "metadata.tags.1"),
    ("/api/cidades/cameras/", {"name": "two\nlines", "rtsp_url": "rtsp://10.0.0.9/x"}, "name"),
    ("/api/cidades/locations/", {"name": "Centro", "address": "Rua\u0000 1"}, "address"),
    ("/api/cidades/zones/", {"name": "Z", "description": "esc\u001b[31m"}, "description"),
    ("/api/admin/users/", {"username": "nul\u0000", "password": "Very-Strong-pass-9",
                           "role": "viewer"}, "username"),
    ("/api/admin/users/", {"username": "maria", "password": "Very-Strong-pass-9",
                           "role": "viewer", "first_name": "Ma\u0085ria"}, "first_name"),
])
def test_control_characters_in_a_body_are_400_naming_the_field(
    admin_client: APIClient, path: str, body: dict[str, Any], field: str
) -> None:
    before = _counts()
    error = _error(admin_client.post(path, body, format="json"), 400)
    assert error["code"] == "validation_error"
    assert field in error["details"], error
    assert _counts() == before


def test_a_description_may_span_lines(admin_client: APIClient) -> None:
    response = admin_client.post("/api/cidades/zones/",
                                 {"name": "Z", "description": "line 1\nline 2\tend"},
                                 format="json")
    assert response.status_code == 201, response.content


def test_control_characters_in_a_patch_and_a_prefeitura_are_400(
    admin_client: APIClient, root_client: APIClient, tenant_a: Any
) -> None:
    camera = CameraFactory(tenant=tenant_a.tenant, name="cam")
    error = _error(admin_client.patch(f"/api/cidades/cameras/{camera.id}/",
                                      {"metadata": {"k\u0000": 1}}, format="json"), 400)
    assert list(error["details"]) == ["metadata.'k\\x00'"]
    error = _error(root_client.post("/api/cidades/prefeituras/",
                                    {"name": "Nul\u0000", "slug": "nul"}, format="json"), 400)
    assert list(error["details"]) == ["name"]


@pytest.mark.parametrize("username", ["\\u0000", "ad\\ud800min", "x\\u0007"])
def test_login_with_control_characters_is_400_not_500(api: APIClient, username: str) -> None:
    # Raw JSON: a lone surrogate escape cannot be encoded by the test client itself.
    body = '{"username": "' + username + '", "password": "x"}'
    response = api.post("/api/admin/auth/token", data=body.encode(),
                        content_type="application/json")
    assert _error(response, 400)["code"] == "validation_error"


@pytest.mark.parametrize(("query", "name"), [
    ("search=%00", "search"), ("name=cam%07", "name"), ("ordering=%00name", "ordering"),
    ("object_id=a%0Ab", "object_id"),
])
@pytest.mark.parametrize("path", ["/api/cidades/cameras/", "/api/admin/audit-logs/"])
def test_control_characters_in_query_parameters_are_400_naming_them(
    admin_client: APIClient, path: str, query: str, name: str
) -> None:
    error = _error(admin_client.get(f"{path}?{query}"), 400)
    assert list(error["details"]) == [name]


# --- methods ----------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["TRACE", "CONNECT", "PROPFIND"])
@pytest.mark.parametrize(("path", "allow"), [
    ("/health", "GET, HEAD, OPTIONS"),
    ("/ready", "GET, HEAD, OPTIONS"),
    ("/metrics", "GET, HEAD, OPTIONS"),
    ("/api/admin/me", "GET, HEAD, OPTIONS"),
    ("/api/cidades/cameras/", "GET, POST, HEAD, OPTIONS"),
    ("/api/admin/schema/", "GET, HEAD, OPTIONS"),
    ("/admin/", "GET, HEAD, POST"),
    ("/admin/login/", "GET, HEAD, POST"),
])
def test_methods_no_view_answers_are_405_in_the_shape_on_every_path(
    client: Any, method: str, path: str, allow: str
) -> None:
    response = client.generic(method, path)
    assert _error(response, 405)["code"] == "method_not_allowed"
    assert set(response["Allow"].split(", ")) == set(allow.split(", "))


@pytest.mark.parametrize("path", ["/health", "/ready", "/metrics"])
def test_wrong_method_on_a_probe_is_405_in_the_shape(client: Any, path: str) -> None:
    response = client.post(path)
    assert _error(response, 405)["code"] == "method_not_allowed"
    assert "GET" in response["Allow"]


# --- chunked bodies under gunicorn -------------------------------------------------------


def _raw(base: str, request: bytes) -> bytes:
    url = urlsplit(base)
    with socket.create_connection((url.hostname, url.port), timeout=10) as sock:
        sock.sendall(request)
        chunks = []
        while data := sock.recv(65536):
            chunks.append(data)
    return b"".join(chunks)


def test_chunked_bodies_are_refused_under_gunicorn(tmp_path: Path) -> None:
    body = b'{"username": "root", "password": "whatever-it-is"}'
    chunked = (b"POST /api/admin/auth/token HTTP/1.1\r\nHost: 127.0.0.1\r\n"
               b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n"
               b"Connection: close\r\n\r\n"
               + f"{len(body):x}\r\n".encode() + body + b"\r\n0\r\n\r\n")
    endless = (b"POST /api/cidades/cameras/ HTTP/1.1\r\nHost: 127.0.0.1\r\n"
               b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n"
               b"Connection: close\r\n\r\n" + b"4000\r\n" + b" " * 0x4000 + b"\r\n")
    with gunicorn_server(tmp_path, workers=1) as base:
        for request in (chunked, endless):
            answer = _raw(base, request)
            head, _, payload = answer.partition(b"\r\n\r\n")
            assert head.startswith(b"HTTP/1.1 411"), answer[:300]
            assert b'"length_required"' in payload
