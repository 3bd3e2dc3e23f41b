"""Bad input gets a 400 (or 404/405/413/415) in the one error shape, and nothing is
written: no row, no audit entry, no outbox event (SPEC §6, §10)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from accounts.models import User
from audit.models import AuditEntry
from cameras.models import Camera, Location
from outbox.models import OutboxEvent
from rest_framework.test import APIClient
from tenancy.models import Tenant

from tests.factories import CameraFactory, LocationFactory, ZoneFactory

pytestmark = pytest.mark.django_db

CAMERAS = "/api/cidades/cameras/"
SECRET = "pw-Never-Echo-9"


def _counts() -> tuple[int, ...]:
    return (Camera.all_objects.count(), Location.objects.count(), User.objects.count(),
            Tenant.objects.count(), AuditEntry.objects.count(), OutboxEvent.objects.count())


@pytest.fixture
def admin_client(tenant_a: Any, client_for: Any) -> APIClient:
    return client_for(tenant_a.tenant_admin)


@pytest.fixture
def nothing_written(tenant_a: Any, tenant_b: Any) -> Iterator[None]:
    before = _counts()
    yield
    assert _counts() == before


def _assert_error(response: Any, status: int, code: str, field: str | None = None) -> dict:
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "details"}
    assert body["error"]["code"] == code
    if field is not None:
        assert field in body["error"]["details"], body
    assert SECRET not in response.content.decode()
    return body["error"]


def _camera(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"name": "Cam", "rtsp_url": f"rtsp://admin:{SECRET}@10.0.0.7/live"}
    body.update(overrides)
    return body


BAD_RTSP_URLS = [
    f"http://admin:{SECRET}@10.0.0.7/live",
    f"rtmp://admin:{SECRET}@10.0.0.7/live",
    "rtsp://",
    "rtsp:///no-host",
    f"rtsp://admin:{SECRET}@/no-host",
    "rtsp://10.0.0.7:99999/x",
    "rtsp://10.0.0.7:port/x",
    "rtsp://bad host/x",
    "rtsp://host/has space",
    "rtsp:10.0.0.7/x",
    "rtsp://10.0.0.7/x#frag",
    "rtsp://under_score!.example/x",
    "javascript:alert(1)",
    "rtsp://10.0.0.7/" + "a" * 2100,
    "",
    "rtsp://[zz::1]/x",
]


@pytest.mark.parametrize("url", BAD_RTSP_URLS)
def test_malformed_rtsp_url_is_400(admin_client: APIClient, nothing_written: None,
                                   url: str) -> None:
    _assert_error(admin_client.post(CAMERAS, _camera(rtsp_url=url), format="json"),
                  400, "validation_error", "rtsp_url")


@pytest.mark.parametrize("field,value", [
    ("latitude", 90.5), ("latitude", -91), ("longitude", 180.01), ("longitude", -200),
    ("latitude", "10"), ("latitude", True), ("retention_days", 0), ("retention_days", 3651),
    ("retention_days", "90"), ("retention_days", 1.5), ("retention_days", False),
    ("recording_mode", "sometimes"), ("recording_mode", 1), ("status", "decommissioned"),
    ("lpr_enabled", "yes"), ("lpr_enabled", 1), ("name", 123), ("name", ""),
    ("name", "x" * 201), ("name", None), ("rtsp_url", 42), ("rtsp_url", None),
    ("metadata", []), ("metadata", "text"), ("metadata", {"blob": "x" * 20000}),
    ("metadata", {"a": {"b": {"c": {"d": {"e": {"f": {"g": {"h": {"i": 1}}}}}}}}}),
    ("location", "not-a-uuid"), ("location", "00000000-0000-0000-0000-000000000000"),
    ("zone", 12), ("revision", 7), ("rtsp_url_masked", "rtsp://x/y"), ("id", "x"),
    ("tenant", "00000000-0000-0000-0000-000000000000"), ("unexpected", 1),
    ("latitude", 10**400), ("longitude", -(10**400)),
])
def test_bad_camera_field_is_400_and_nothing_written(
    admin_client: APIClient, nothing_written: None, field: str, value: Any
) -> None:
    _assert_error(admin_client.post(CAMERAS, _camera(**{field: value}), format="json"),
                  400, "validation_error", field)


def test_unknown_fields_are_listed(admin_client: APIClient, nothing_written: None) -> None:
    error = _assert_error(
        admin_client.post(CAMERAS, _camera(colour="red", revision=3), format="json"),
        400, "validation_error",
    )
    assert error["details"] == {"colour": ["Unknown field."],
                                "revision": ["This field is read-only."]}


def test_location_of_another_tenant_is_400(admin_client: APIClient, tenant_b: Any) -> None:
    foreign = LocationFactory(tenant=tenant_b.tenant)
    before = _counts()
    _assert_error(admin_client.post(CAMERAS, _camera(location=str(foreign.pk)), format="json"),
                  400, "validation_error", "location")
    assert _counts() == before


def test_superadmin_cannot_mix_tenants(client_for: Any, superadmin: Any, tenant_a: Any,
                                       tenant_b: Any) -> None:
    foreign = LocationFactory(tenant=tenant_b.tenant)
    response = client_for(superadmin).post(
        CAMERAS, _camera(tenant=str(tenant_a.tenant.pk), location=str(foreign.pk)),
        format="json")
    _assert_error(response, 400, "validation_error", "location")
    assert not Camera.all_objects.exists()


def test_duplicate_camera_name_is_400(admin_client: APIClient, tenant_a: Any) -> None:
    CameraFactory(tenant=tenant_a.tenant, name="Dup")
    before = _counts()
    _assert_error(admin_client.post(CAMERAS, _camera(name="Dup"), format="json"),
                  400, "validation_error")
    assert _counts() == before


def test_bad_update_leaves_the_camera_unchanged(admin_client: APIClient, tenant_a: Any) -> None:
    camera = CameraFactory(tenant=tenant_a.tenant, name="Keep")
    before = _counts()
    for body in ({"latitude": 100}, {"rtsp_url": "http://x/y"}, {"name": "New", "bogus": 1},
                 {"retention_days": "7"}):
        _assert_error(admin_client.patch(f"{CAMERAS}{camera.pk}/", body, format="json"),
                      400, "validation_error")
    camera.refresh_from_db()
    assert (camera.name, camera.revision, camera.latitude) == ("Keep", 1, None)
    assert _counts() == before


def test_oversized_body_is_413(admin_client: APIClient, nothing_written: None,
                               settings: Any) -> None:
    body = json.dumps(_camera(metadata={"x": "y" * (settings.API_MAX_BODY_BYTES + 10)}))
    response = admin_client.generic("POST", CAMERAS, body, content_type="application/json")
    _assert_error(response, 413, "payload_too_large")


def test_malformed_json_is_400(admin_client: APIClient, nothing_written: None) -> None:
    response = admin_client.generic("POST", CAMERAS, '{"name": "x",',
                                    content_type="application/json")
    _assert_error(response, 400, "parse_error")


def test_nan_is_not_json(admin_client: APIClient, nothing_written: None) -> None:
    response = admin_client.generic(
        "POST", CAMERAS, '{"name": "x", "rtsp_url": "rtsp://h/s", "latitude": NaN}',
        content_type="application/json")
    _assert_error(response, 400, "parse_error")


@pytest.mark.parametrize("body", [
    "[" * 3000 + "]" * 3000,                       # past the parser's recursion limit
    '{"metadata": {"a": ' + "[" * 40 + "1" + "]" * 40 + "}}",  # deeper than any API body
])
def test_bodies_nested_too_deep_are_400_even_anonymous(
    admin_client: APIClient, nothing_written: None, body: str
) -> None:
    _assert_error(admin_client.generic("POST", CAMERAS, body, content_type="application/json"),
                  400, "parse_error")
    _assert_error(APIClient().generic("POST", "/api/admin/auth/token", body,
                                      content_type="application/json"), 400, "parse_error")


@pytest.mark.parametrize("number", ["1" + "0" * 400, "1e999", "-1e999"])
def test_numbers_no_field_holds_are_400_by_path(
    admin_client: APIClient, nothing_written: None, number: str
) -> None:
    body = '{"name": "x", "metadata": {"tags": [1, ' + number + "]}}"
    response = admin_client.generic("POST", CAMERAS, body, content_type="application/json")
    _assert_error(response, 400, "validation_error", field="metadata.tags.1")


def test_a_zone_corner_beyond_a_float_is_refused() -> None:
    from cameras.validators import InvalidGeometry, validate_zone_geometry

    huge = 10**400
    with pytest.raises(InvalidGeometry):
        validate_zone_geometry({"type": "Polygon",
                                "coordinates": [[[huge, 0], [1, 1], [2, 0], [huge, 0]]]})


def test_json_array_body_is_400(admin_client: APIClient, nothing_written: None) -> None:
    _assert_error(admin_client.post(CAMERAS, [_camera()], format="json"),
                  400, "validation_error")


def test_form_encoded_body_is_415(admin_client: APIClient, nothing_written: None) -> None:
    response = admin_client.post(CAMERAS, {"name": "x", "rtsp_url": "rtsp://h/s"},
                                 format="multipart")
    _assert_error(response, 415, "unsupported_media_type")


def test_unknown_api_path_is_404_in_shape(admin_client: APIClient) -> None:
    _assert_error(admin_client.get("/api/cidades/nothing-here/"), 404, "not_found")
    _assert_error(admin_client.get(f"{CAMERAS}not-a-uuid/"), 404, "not_found")


def test_wrong_method_is_405(admin_client: APIClient) -> None:
    _assert_error(admin_client.put("/api/admin/me", {}, format="json"),
                  405, "method_not_allowed")


def test_page_size_is_bounded_and_bad_page_is_404(admin_client: APIClient,
                                                  tenant_a: Any) -> None:
    for i in range(3):
        CameraFactory(tenant=tenant_a.tenant, name=f"c{i}")
    body = admin_client.get(CAMERAS, {"page_size": 2}).json()
    assert body["count"] == 3 and len(body["results"]) == 2 and body["next"]
    assert len(admin_client.get(CAMERAS, {"page_size": 100000}).json()["results"]) == 3
    _assert_error(admin_client.get(CAMERAS, {"page": 99}), 404, "not_found")


def test_bad_filter_value_is_400(admin_client: APIClient) -> None:
    _assert_error(admin_client.get(CAMERAS, {"status": "exploded"}), 400, "validation_error")
    _assert_error(admin_client.get(CAMERAS, {"location": "nope"}), 400, "validation_error")


@pytest.mark.parametrize("path,name,of_b", [
    (CAMERAS, "location", lambda b: LocationFactory(tenant=b.tenant).pk),
    (CAMERAS, "zone", lambda b: ZoneFactory(tenant=b.tenant).pk),
    (CAMERAS, "tenant", lambda b: b.tenant.pk),
    ("/api/cidades/zones/", "location", lambda b: LocationFactory(tenant=b.tenant).pk),
    ("/api/cidades/locations/", "tenant", lambda b: b.tenant.pk),
    ("/api/admin/users/", "tenant", lambda b: b.tenant.pk),
])
def test_a_filter_on_another_tenants_object_answers_as_on_an_unknown_one(
    admin_client: APIClient, tenant_a: Any, tenant_b: Any, path: str, name: str, of_b: Any
) -> None:
    """Another tenant's id and an id that exists nowhere get the same empty page: the
    answer does not tell which ids exist in other tenants."""
    CameraFactory(tenant=tenant_b.tenant)
    theirs = admin_client.get(path, {name: str(of_b(tenant_b))})
    nobodys = admin_client.get(path, {name: "00000000-0000-0000-0000-00000000abcd"})
    assert theirs.status_code == nobodys.status_code == 200, (theirs.content, nobodys.content)
    assert theirs.json() == nobodys.json()
    assert theirs.json()["count"] == 0


def test_a_nul_in_the_user_agent_is_kept_out_of_the_audit_log(
    api: APIClient, tenant_a: Any
) -> None:
    response = api.post("/api/admin/auth/token", {"username": "nobody-here", "password": "x"},
                        format="json", HTTP_USER_AGENT="probe\x00agent\n")
    assert response.status_code == 401, response.content
    failure = AuditEntry.objects.get(action="login.failure", username="nobody-here")
    assert failure.user_agent == "probeagent"


@pytest.mark.parametrize("path,name", [
    (CAMERAS, "lpr_enabled"),
    ("/api/admin/users/", "is_active"),
    ("/api/admin/users/", "is_superadmin"),
])
@pytest.mark.parametrize("value", ["perhaps", "yes", "2", "null"])
def test_unreadable_boolean_filter_is_400(admin_client: APIClient, path: str, name: str,
                                         value: str) -> None:
    error = _assert_error(admin_client.get(path, {name: value}), 400, "validation_error")
    assert error["details"] == {name: ["Must be true or false."]}


def test_unreadable_boolean_filter_on_prefeituras_is_400(client_for: Any,
                                                          superadmin: Any) -> None:
    response = client_for(superadmin).get("/api/cidades/prefeituras/", {"is_active": "perhaps"})
    _assert_error(response, 400, "validation_error")


def test_boolean_filters_read_true_false_1_0(admin_client: APIClient, tenant_a: Any) -> None:
    CameraFactory(tenant=tenant_a.tenant, name="lpr", lpr_enabled=True)
    CameraFactory(tenant=tenant_a.tenant, name="plain", lpr_enabled=False)

    def names(value: str) -> list[str]:
        response = admin_client.get(CAMERAS, {"lpr_enabled": value})
        assert response.status_code == 200
        return [c["name"] for c in response.json()["results"]]

    assert names("true") == names("True") == names("1") == ["lpr"]
    assert names("false") == names("0") == ["plain"]
    assert names("") == ["lpr", "plain"]


@pytest.mark.parametrize("body,field", [
    ({"username": "weak", "password": "123", "role": "viewer"}, "password"),
    ({"username": "weak", "password": "weak", "role": "viewer"}, "password"),
    ({"username": "norole", "password": "Very-Strong-pass-9"}, "role"),
    ({"username": "badrole", "password": "Very-Strong-pass-9", "role": "god"}, "role"),
    ({"username": "su", "password": "Very-Strong-pass-9", "role": "viewer",
      "is_superadmin": True}, "is_superadmin"),
    ({"username": "other", "password": "Very-Strong-pass-9", "role": "viewer",
      "tenant": "00000000-0000-0000-0000-000000000000"}, "tenant"),
    ({"username": "bad name!", "password": "Very-Strong-pass-9", "role": "viewer"},
     "username"),
    ({"username": "alpha-viewer", "password": "Very-Strong-pass-9", "role": "viewer"},
     "username"),
    ({"username": "nopw", "role": "viewer"}, "password"),
])
def test_bad_user_input_is_400(admin_client: APIClient, nothing_written: None,
                               body: dict[str, Any], field: str) -> None:
    _assert_error(admin_client.post("/api/admin/users/", body, format="json"),
                  400, "validation_error", field)


@pytest.mark.parametrize("body,field", [
    ({"name": "X", "slug": "x", "timezone": "Mars/Olympus"}, "timezone"),
    ({"name": "X", "slug": "alpha"}, "slug"),
    ({"name": "X", "slug": "not a slug"}, "slug"),
    ({"name": "X", "slug": "x", "is_active": "true"}, "is_active"),
    ({"slug": "x"}, "name"),
])
def test_bad_prefeitura_input_is_400(client_for: Any, superadmin: Any, nothing_written: None,
                                     body: dict[str, Any], field: str) -> None:
    _assert_error(client_for(superadmin).post("/api/cidades/prefeituras/", body, format="json"),
                  400, "validation_error", field)
