"""The Django admin: usable lists for every model, masked camera URLs, and saves that go
through the services (audit entry + outbox event)."""

from __future__ import annotations

from typing import Any

import pytest
from audit.models import AuditEntry
from cameras.models import Camera
from django.test import Client
from outbox.models import OutboxEvent

from tests.factories import CameraFactory, LocationFactory, ZoneFactory

pytestmark = pytest.mark.django_db

SECRET = "Adm1n-Form-Secret"


@pytest.fixture
def admin_site(superadmin: Any) -> Client:
    client = Client()
    client.force_login(superadmin)
    return client


def test_every_changelist_and_search_works(admin_site: Client, tenant_a: Any) -> None:
    CameraFactory(tenant=tenant_a.tenant)
    LocationFactory(tenant=tenant_a.tenant)
    ZoneFactory(tenant=tenant_a.tenant)
    for path in ("/admin/tenancy/tenant/", "/admin/accounts/user/", "/admin/cameras/camera/",
                 "/admin/cameras/location/", "/admin/cameras/zone/"):
        assert admin_site.get(path).status_code == 200, path
        assert admin_site.get(path, {"q": "alpha"}).status_code == 200, path
    assert admin_site.get("/admin/cameras/camera/", {"status": "active"}).status_code == 200
    for path in ("/admin/tenancy/tenant/add/", "/admin/accounts/user/add/",
                 "/admin/cameras/camera/add/", "/admin/cameras/zone/add/"):
        assert admin_site.get(path).status_code == 200, path


def test_camera_pages_show_only_the_masked_url(admin_site: Client, tenant_a: Any) -> None:
    camera = CameraFactory(tenant=tenant_a.tenant,
                           url=f"rtsp://root:{SECRET}@10.9.9.9/ch1")
    listing = admin_site.get("/admin/cameras/camera/").content.decode()
    change = admin_site.get(f"/admin/cameras/camera/{camera.pk}/change/").content.decode()
    for page in (listing, change):
        assert SECRET not in page
        assert camera.rtsp_url_encrypted not in page
    assert "rtsp://***:***@10.9.9.9/ch1" in listing


def test_adding_a_camera_in_the_admin_audits_and_announces(admin_site: Client,
                                                           tenant_a: Any) -> None:
    response = admin_site.post("/admin/cameras/camera/add/", {
        "tenant": str(tenant_a.tenant.pk), "name": "From admin",
        "new_rtsp_url": f"rtsp://u:{SECRET}@10.1.2.3/live", "recording_mode": "events",
        "retention_days": "30", "status": "active", "metadata": "{}",
    })
    assert response.status_code == 302, response.content.decode()[:2000]
    camera = Camera.objects.get(name="From admin")
    assert camera.rtsp_url() == f"rtsp://u:{SECRET}@10.1.2.3/live"
    assert OutboxEvent.objects.filter(event_type="CameraRegistered").count() == 1
    entry = AuditEntry.objects.get(action="create", object_type="camera")
    assert entry.username == "root"


def test_admin_rejects_a_bad_url_without_echoing_it(admin_site: Client, tenant_a: Any) -> None:
    response = admin_site.post("/admin/cameras/camera/add/", {
        "tenant": str(tenant_a.tenant.pk), "name": "Bad",
        "new_rtsp_url": f"http://u:{SECRET}@10.1.2.3/live", "recording_mode": "off",
        "retention_days": "30", "status": "active", "metadata": "{}",
    })
    assert response.status_code == 200
    assert SECRET not in response.content.decode()
    assert not Camera.all_objects.exists()


def test_editing_a_camera_keeps_the_url_and_bumps_the_revision(admin_site: Client,
                                                                tenant_a: Any) -> None:
    camera = CameraFactory(tenant=tenant_a.tenant, name="Before")
    response = admin_site.post(f"/admin/cameras/camera/{camera.pk}/change/", {
        "name": "After", "new_rtsp_url": "", "recording_mode": "off",
        "retention_days": "90", "status": "active", "metadata": "{}",
    })
    assert response.status_code == 302
    camera.refresh_from_db()
    assert (camera.name, camera.revision) == ("After", 2)
    assert "Sup3r-Secret-Cam-Pw" in camera.rtsp_url()  # unchanged URL (factory default)
    assert OutboxEvent.objects.filter(event_type="CameraUpdated").count() == 1


def test_tenant_created_in_the_admin_is_announced(admin_site: Client) -> None:
    response = admin_site.post("/admin/tenancy/tenant/add/", {
        "name": "Santos", "slug": "santos", "timezone": "America/Sao_Paulo", "is_active": "on",
    })
    assert response.status_code == 302
    assert OutboxEvent.objects.filter(event_type="TenantCreated").count() == 1
    assert AuditEntry.objects.filter(object_type="tenant", action="create").count() == 1


def test_user_role_change_in_the_admin_is_announced(admin_site: Client, tenant_a: Any) -> None:
    user = tenant_a.viewer
    response = admin_site.post(f"/admin/accounts/user/{user.pk}/change/", {
        "username": user.username, "email": user.email, "tenant": str(tenant_a.tenant.pk),
        "role": "operator", "is_active": "on", "date_joined_0": "2026-01-01",
        "date_joined_1": "00:00:00",
    })
    assert response.status_code == 302, response.content.decode()[:3000]
    user.refresh_from_db()
    assert user.role == "operator"
    (event,) = OutboxEvent.objects.filter(event_type="UserRoleChanged")
    assert event.envelope["payload"]["roles"] == ["operator"]
    assert AuditEntry.objects.get(object_type="user", action="update").after["role"] == \
        "operator"


def test_tenant_users_cannot_use_the_admin(tenant_a: Any) -> None:
    client = Client()
    client.force_login(tenant_a.tenant_admin)
    assert client.get("/admin/cameras/camera/").status_code == 302


@pytest.mark.parametrize("path", ["/admin/auth/group/", "/admin/token_blacklist/blacklistedtoken/",
                                  "/admin/token_blacklist/outstandingtoken/"])
def test_groups_and_the_token_ledger_are_not_editable_in_the_admin(
    admin_site: Client, path: str
) -> None:
    """Roles are GT-Vision's own, and deleting a ledger row would revive a revoked
    refresh token; neither has a page of the admin."""
    assert admin_site.get(path).status_code == 404


def test_ones_own_password_is_changed_on_the_dashboards_page_only(
    admin_site: Client, superadmin: Any, tenant_a: Any
) -> None:
    """The admin's forms would set it without the current password (or without ending
    the other sessions): both send the superadmin to the page that asks for it."""
    for path in (f"/admin/accounts/user/{superadmin.pk}/password/", "/admin/password_change/"):
        for response in (admin_site.get(path),
                         admin_site.post(path, {"password1": SECRET, "password2": SECRET})):
            assert response.status_code == 302 and response["Location"] == "/account", path
    superadmin.refresh_from_db()
    assert not superadmin.check_password(SECRET)
    other = admin_site.get(f"/admin/accounts/user/{tenant_a.viewer.pk}/password/")
    assert other.status_code == 200  # another user's: the audited admin form
