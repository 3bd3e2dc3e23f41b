"""RBAC matrix (SPEC §3): every endpoint x every role x own/other tenant.

Another tenant's object answers 404 for every role (never 403, never its data).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from rest_framework.test import APIClient

from tests.factories import CameraFactory, LocationFactory, UserFactory, ZoneFactory

pytestmark = pytest.mark.django_db

ROLES = ["anonymous", "viewer", "operator", "tenant_admin", "superadmin"]
RANK = {"anonymous": 0, "viewer": 1, "operator": 2, "tenant_admin": 3, "superadmin": 4}


@dataclass
class World:
    a: Any
    b: Any
    superadmin: Any
    objects: dict[str, dict[str, Any]]  # resource -> {"own": obj, "other": obj}

    def actor(self, role: str) -> Any:
        if role == "superadmin":
            return self.superadmin
        return None if role == "anonymous" else self.a.by_role(role)


@pytest.fixture
def world(tenant_a: Any, tenant_b: Any, superadmin: Any) -> World:
    objects: dict[str, dict[str, Any]] = {}
    for key, tenants in (("own", tenant_a), ("other", tenant_b)):
        t = tenants.tenant
        objects.setdefault("cameras", {})[key] = CameraFactory(tenant=t)
        objects.setdefault("locations", {})[key] = LocationFactory(tenant=t)
        objects.setdefault("zones", {})[key] = ZoneFactory(tenant=t)
        objects.setdefault("users", {})[key] = UserFactory(tenant=t, role="viewer",
                                                           username=f"target-{key}")
    return World(tenant_a, tenant_b, superadmin, objects)


def _client(world: World, role: str, client_for: Any) -> APIClient:
    actor = world.actor(role)
    return APIClient() if actor is None else client_for(actor)


TENANT_OWNED = {
    "cameras": ("/api/cidades/cameras/",
                {"name": "New cam", "rtsp_url": "rtsp://cam:pw@10.1.1.1/live"},
                {"name": "Renamed cam"}),
    "locations": ("/api/cidades/locations/", {"name": "New place"}, {"address": "Rua 1"}),
    "zones": ("/api/cidades/zones/", {"name": "New zone"}, {"description": "north"}),
    "users": ("/api/admin/users/",
              {"username": "newbie", "password": "Very-Strong-pass-9", "role": "viewer"},
              {"first_name": "Renamed"}),
}


def _expected(resource: str, role: str, action: str, target: str) -> int:
    if role == "anonymous":
        return 401
    read_rank = RANK["tenant_admin"] if resource == "users" else RANK["viewer"]
    write_rank = RANK["tenant_admin"]
    superadmin = role == "superadmin"
    if action == "list":
        return 200 if RANK[role] >= read_rank else 403
    if action == "create":
        return 201 if RANK[role] >= write_rank else 403
    if target == "other" and not superadmin:
        return 404
    needed = read_rank if action == "retrieve" else write_rank
    if RANK[role] < needed:
        return 403
    return {"retrieve": 200, "update": 200, "delete": 204}[action]


@pytest.mark.parametrize("resource", list(TENANT_OWNED))
@pytest.mark.parametrize("role", ROLES)
def test_tenant_owned_endpoints_matrix(
    world: World, client_for: Any, resource: str, role: str
) -> None:
    url, create_body, patch_body = TENANT_OWNED[resource]
    client = _client(world, role, client_for)
    own, other = world.objects[resource]["own"], world.objects[resource]["other"]
    mismatches: list[str] = []

    def check(action: str, target: str, response: Any) -> None:
        expected = _expected(resource, role, action, target)
        if response.status_code != expected:
            mismatches.append(f"{action}/{target}: {response.status_code} != {expected}")
        if response.status_code >= 400:
            assert set(response.json()) == {"error"}, response.json()
            if target == "other" and role != "superadmin":
                assert str(other.pk) not in response.content.decode()

    # list: own tenant's rows only (superadmin: every tenant's)
    response = client.get(url, {"page_size": 200})
    check("list", "own", response)
    if response.status_code == 200:
        ids = {row["id"] for row in response.json()["results"]}
        assert str(own.pk) in ids
        assert (str(other.pk) in ids) == (role == "superadmin")
        if role != "superadmin" and resource != "users":
            tenant_ids = {row["tenant"] for row in response.json()["results"]}
            assert tenant_ids == {str(world.a.tenant.pk)}

    for target, obj in (("own", own), ("other", other)):
        response = client.get(f"{url}{obj.pk}/")
        check("retrieve", target, response)
        if response.status_code == 200:
            assert response.json()["id"] == str(obj.pk)

    body = dict(create_body)
    if role == "superadmin":
        body["tenant"] = str(world.a.tenant.pk)
    response = client.post(url, body, format="json")
    check("create", "own", response)
    if response.status_code == 201:
        assert response.json()["tenant"] == str(world.a.tenant.pk)

    for target, obj in (("own", own), ("other", other)):
        response = client.patch(f"{url}{obj.pk}/", patch_body, format="json")
        check("update", target, response)
        if response.status_code == 200:
            field, value = next(iter(patch_body.items()))
            assert response.json()[field] == value

    for target, obj in (("own", own), ("other", other)):
        check("delete", target, client.delete(f"{url}{obj.pk}/"))

    assert mismatches == []


@pytest.mark.parametrize("role", ROLES)
def test_prefeituras_are_for_superadmins_only(
    world: World, client_for: Any, role: str
) -> None:
    client = _client(world, role, client_for)
    url = "/api/cidades/prefeituras/"
    expected_denied = 401 if role == "anonymous" else 403
    own, other = world.a.tenant, world.b.tenant
    calls = {
        "list": lambda: client.get(url),
        "retrieve own": lambda: client.get(f"{url}{own.pk}/"),
        "retrieve other": lambda: client.get(f"{url}{other.pk}/"),
        "create": lambda: client.post(url, {"name": "Nova", "slug": "nova"}, format="json"),
        "update": lambda: client.patch(f"{url}{own.pk}/", {"name": "Renamed"}, format="json"),
    }
    allowed = {"list": 200, "retrieve own": 200, "retrieve other": 200, "create": 201,
               "update": 200}
    for name, call in calls.items():
        response = call()
        expected = allowed[name] if role == "superadmin" else expected_denied
        assert response.status_code == expected, (name, response.json())
        if expected >= 400:
            assert response.json()["error"]["code"] in {"not_authenticated",
                                                        "permission_denied"}
    if role == "superadmin":
        listed = {row["slug"] for row in client.get(url).json()["results"]}
        assert {"alpha", "beta", "nova"} <= listed
        # Prefeituras are deactivated, never deleted.
        assert client.delete(f"{url}{own.pk}/").status_code == 405


@pytest.mark.parametrize("role", ROLES)
def test_me_describes_the_caller(world: World, client_for: Any, role: str) -> None:
    response = _client(world, role, client_for).get("/api/admin/me")
    if role == "anonymous":
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "not_authenticated"
        return
    assert response.status_code == 200
    body = response.json()
    actor = world.actor(role)
    assert body["id"] == str(actor.pk)
    assert body["roles"] == [role]
    assert body["tenant"] == (None if role == "superadmin" else str(world.a.tenant.pk))
    assert "password" not in body


def test_user_of_deactivated_tenant_is_refused(world: World, client_for: Any) -> None:
    client = client_for(world.a.viewer)
    world.a.tenant.is_active = False
    world.a.tenant.save()
    assert client.get("/api/cidades/cameras/").status_code == 401


def test_superadmin_must_name_the_tenant_of_a_new_camera(world: World, client_for: Any) -> None:
    response = client_for(world.superadmin).post(
        "/api/cidades/cameras/", {"name": "x", "rtsp_url": "rtsp://h/s"}, format="json"
    )
    assert response.status_code == 400
    assert "tenant" in response.json()["error"]["details"]
