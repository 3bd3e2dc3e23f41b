"""Management commands (bootstrap_superadmin, seed_demo) and the users API's rules."""

from __future__ import annotations

from io import StringIO
from typing import Any

import pytest
from accounts.models import User
from cameras.models import Camera
from django.core.management import call_command
from outbox.models import OutboxEvent
from rest_framework.test import APIClient

from shared_kernel.camera_network import CameraNetworkPolicy
from shared_kernel.crypto import CredentialCipher

pytestmark = pytest.mark.django_db


def _run(name: str, *args: str) -> str:
    out = StringIO()
    call_command(name, *args, stdout=out, stderr=out)
    return out.getvalue()


def _login(username: str, password: str) -> int:
    return APIClient().post("/api/admin/auth/token",
                            {"username": username, "password": password},
                            format="json").status_code


def test_bootstrap_superadmin_from_environment_is_idempotent(
    monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GTV_SUPERADMIN_USERNAME", "chief")
    monkeypatch.setenv("GTV_SUPERADMIN_PASSWORD", "Chief-Pass-2024!")
    assert "created" in _run("bootstrap_superadmin")
    assert "already exists" in _run("bootstrap_superadmin")
    user = User.objects.get(username="chief")
    assert user.is_superadmin and user.tenant is None and user.is_staff
    assert _login("chief", "Chief-Pass-2024!") == 200
    assert OutboxEvent.objects.filter(event_type="UserRoleChanged").count() == 1


def test_bootstrap_superadmin_generates_a_password_when_unset(
    monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GTV_SUPERADMIN_USERNAME", "boss")
    monkeypatch.delenv("GTV_SUPERADMIN_PASSWORD", raising=False)
    output = _run("bootstrap_superadmin")
    password = output.split("generated password: ")[1].strip()
    assert len(password) >= 16
    assert _login("boss", password) == 200


@pytest.fixture
def demo_networks(settings: Any) -> None:
    """The demo's simulator runs on loopback, which the demo allows explicitly."""
    settings.CAMERA_NETWORK_POLICY = CameraNetworkPolicy.from_strings(allowed=["127.0.0.0/8"])


@pytest.mark.usefixtures("demo_networks")
def test_seed_demo_creates_a_usable_tenant(monkeypatch: pytest.MonkeyPatch) -> None:
    output = _run("seed_demo", "--camera-url", "rtsp://127.0.0.1:8554/cam1",
                  "--camera-url", "rtsp://u:p4ss@127.0.0.1:8554/cam2", "--cameras", "3",
                  "--password", "Demo-Pass-2024!")
    assert "demo-tenant-admin / Demo-Pass-2024!" in output
    cameras = list(Camera.objects.filter(tenant__slug="demo").order_by("name"))
    assert [c.rtsp_url() for c in cameras] == [
        "rtsp://127.0.0.1:8554/cam1", "rtsp://u:p4ss@127.0.0.1:8554/cam2",
        "rtsp://127.0.0.1:8554/cam1"]
    assert [c.lpr_enabled for c in cameras] == [True, False, False]
    assert "p4ss" not in output
    for role in ("viewer", "operator", "tenant-admin"):
        assert _login(f"demo-{role}", "Demo-Pass-2024!") == 200
    assert OutboxEvent.objects.filter(event_type="CameraRegistered").count() == 3
    _run("seed_demo", "--cameras", "3", "--password", "Demo-Pass-2024!")  # idempotent
    assert Camera.objects.filter(tenant__slug="demo").count() == 3


@pytest.mark.usefixtures("demo_networks")
def test_seed_demo_again_follows_a_changed_camera_url() -> None:
    """A new demo run may give the simulator new credentials: cameras follow them once."""
    _run("seed_demo", "--camera-url", "rtsp://demo:old@127.0.0.1:8554/cam1", "--cameras", "1",
         "--password", "Demo-Pass-2024!")
    _run("seed_demo", "--camera-url", "rtsp://demo:new@127.0.0.1:8554/cam1", "--cameras", "1",
         "--password", "Demo-Pass-2024!")
    camera = Camera.objects.get(tenant__slug="demo")
    assert camera.rtsp_url() == "rtsp://demo:new@127.0.0.1:8554/cam1"
    assert OutboxEvent.objects.filter(event_type="CameraUpdated").count() == 1
    _run("seed_demo", "--camera-url", "rtsp://demo:new@127.0.0.1:8554/cam1", "--cameras", "1",
         "--password", "Demo-Pass-2024!")
    assert OutboxEvent.objects.filter(event_type="CameraUpdated").count() == 1


def test_tenant_admin_creates_users_only_in_own_tenant(tenant_a: Any, tenant_b: Any,
                                                        client_for: Any) -> None:
    response = client_for(tenant_a.tenant_admin).post(
        "/api/admin/users/", {"username": "new-op", "password": "Very-Strong-pass-9",
                              "role": "operator"}, format="json")
    assert response.status_code == 201
    body = response.json()
    assert body["tenant"] == str(tenant_a.tenant.pk) and body["roles"] == ["operator"]
    assert body["is_superadmin"] is False and "password" not in body
    assert _login("new-op", "Very-Strong-pass-9") == 200


def test_superadmin_can_create_another_superadmin(superadmin: Any, client_for: Any) -> None:
    response = client_for(superadmin).post(
        "/api/admin/users/", {"username": "root2", "password": "Very-Strong-pass-9",
                              "is_superadmin": True}, format="json")
    assert response.status_code == 201
    assert response.json()["roles"] == ["superadmin"] and response.json()["tenant"] is None


def test_superadmin_cannot_give_a_superadmin_a_tenant(superadmin: Any, tenant_a: Any,
                                                      client_for: Any) -> None:
    response = client_for(superadmin).post(
        "/api/admin/users/", {"username": "mixed", "password": "Very-Strong-pass-9",
                              "is_superadmin": True, "tenant": str(tenant_a.tenant.pk)},
        format="json")
    assert response.status_code == 400


def test_nobody_changes_their_own_role(tenant_a: Any, client_for: Any) -> None:
    me = tenant_a.tenant_admin
    client = client_for(me)
    assert client.patch(f"/api/admin/users/{me.pk}/", {"role": "viewer"},
                        format="json").status_code == 400
    assert client.delete(f"/api/admin/users/{me.pk}/").status_code == 400
    me.refresh_from_db()
    assert me.role == "tenant_admin" and me.is_active


def test_password_change_through_the_api(tenant_a: Any, client_for: Any) -> None:
    target = tenant_a.viewer
    response = client_for(tenant_a.tenant_admin).patch(
        f"/api/admin/users/{target.pk}/", {"password": "Brand-New-pass-7"}, format="json")
    assert response.status_code == 200 and "password" not in response.json()
    assert _login(target.username, "Brand-New-pass-7") == 200


def test_a_tenant_admin_cannot_set_a_peer_admins_password(
    tenant_a: Any, client_for: Any
) -> None:
    from tests.factories import DEFAULT_PASSWORD, UserFactory

    peer = UserFactory(username="alpha-admin-2", tenant=tenant_a.tenant, role="tenant_admin")
    client = client_for(tenant_a.tenant_admin)
    for change in ({"password": "Brand-New-pass-7"},
                   {"password": "Brand-New-pass-7", "role": "viewer"}):  # demote and reset
        response = client.patch(f"/api/admin/users/{peer.pk}/", change, format="json")
        assert response.status_code == 403, response.content
        assert "superadmin" in response.json()["error"]["message"]
    peer.refresh_from_db()
    assert peer.role == "tenant_admin" and peer.check_password(DEFAULT_PASSWORD)
    assert _login(peer.username, "Brand-New-pass-7") == 401


def test_a_superadmin_resets_a_tenant_admins_password(
    tenant_a: Any, superadmin: Any, client_for: Any
) -> None:
    response = client_for(superadmin).patch(
        f"/api/admin/users/{tenant_a.tenant_admin.pk}/", {"password": "Brand-New-pass-7"},
        format="json")
    assert response.status_code == 200, response.content
    assert _login(tenant_a.tenant_admin.username, "Brand-New-pass-7") == 200


@pytest.mark.parametrize("role", ["tenant_admin", "superadmin"])
def test_own_password_only_through_me_password(
    tenant_a: Any, superadmin: Any, client_for: Any, role: str
) -> None:
    from tests.factories import DEFAULT_PASSWORD

    me = superadmin if role == "superadmin" else tenant_a.tenant_admin
    client = client_for(me)
    response = client.patch(f"/api/admin/users/{me.pk}/", {"password": "Brand-New-pass-7"},
                            format="json")
    assert response.status_code == 400, response.content
    assert "me/password" in str(response.json())
    assert _login(me.username, "Brand-New-pass-7") == 401
    response = client.post("/api/admin/me/password",
                           {"current_password": DEFAULT_PASSWORD,
                            "new_password": "Brand-New-pass-7"}, format="json")
    assert response.status_code == 200, response.content
    assert _login(me.username, "Brand-New-pass-7") == 200


def test_deactivated_user_loses_access(tenant_a: Any, client_for: Any) -> None:
    viewer_client = client_for(tenant_a.viewer)
    assert client_for(tenant_a.tenant_admin).delete(
        f"/api/admin/users/{tenant_a.viewer.pk}/").status_code == 204
    assert viewer_client.get("/api/admin/me").status_code == 401
    assert User.objects.get(pk=tenant_a.viewer.pk).is_active is False


@pytest.mark.usefixtures("demo_networks")
def test_seed_demo_replaces_a_url_encrypted_with_a_lost_key() -> None:
    """Another checkout on the same database has other generated keys."""
    _run("seed_demo", "--camera-url", "rtsp://demo:pw@127.0.0.1:8554/cam1", "--cameras", "1",
         "--password", "Demo-Pass-2024!")
    other_key = CredentialCipher(CredentialCipher.generate_key())
    Camera.objects.update(rtsp_url_encrypted=other_key.encrypt("rtsp://x:y@h/cam1"))
    _run("seed_demo", "--camera-url", "rtsp://demo:pw@127.0.0.1:8554/cam1", "--cameras", "1",
         "--password", "Demo-Pass-2024!")
    assert Camera.objects.get(tenant__slug="demo").rtsp_url() == \
        "rtsp://demo:pw@127.0.0.1:8554/cam1"
