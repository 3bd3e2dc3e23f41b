"""Every change is audited (before/after, masked) and, when other services care, writes
its domain event in the same transaction: a failed change leaves neither behind."""

from __future__ import annotations

from typing import Any

import pytest
from audit.models import AuditEntry
from cameras.models import Camera, Location, Zone
from django.conf import settings
from outbox.models import OutboxEvent
from rest_framework.test import APIClient

from shared_kernel.crypto import CredentialCipher
from shared_kernel.events import parse_event
from tests.factories import CameraFactory

pytestmark = pytest.mark.django_db

CAMERAS = "/api/cidades/cameras/"
URL = "rtsp://admin:Cam-Pass-77@10.0.0.9:554/h264"


def _events(event_type: str) -> list[dict[str, Any]]:
    return [e.envelope for e in OutboxEvent.objects.filter(event_type=event_type)
            .order_by("created_at")]


@pytest.fixture
def admin_client(tenant_a: Any, client_for: Any) -> APIClient:
    return client_for(tenant_a.tenant_admin)


def test_camera_registration_is_audited_and_announced(admin_client: APIClient,
                                                      tenant_a: Any) -> None:
    response = admin_client.post(
        CAMERAS, {"name": "Praça", "rtsp_url": URL, "lpr_enabled": True,
                  "recording_mode": "continuous", "latitude": -23.5, "longitude": -46.6},
        format="json", HTTP_X_CORRELATION_ID="corr-cam-1")
    assert response.status_code == 201
    camera_id = response.json()["id"]

    entry = AuditEntry.objects.get(action="create", object_type="camera")
    assert entry.object_id == camera_id
    assert entry.tenant_id == tenant_a.tenant.pk
    assert entry.actor_id == tenant_a.tenant_admin.pk
    assert entry.correlation_id == "corr-cam-1"
    assert entry.before is None
    assert entry.after["name"] == "Praça"
    assert entry.after["rtsp_url_masked"] == "rtsp://***:***@10.0.0.9:554/h264"

    (envelope,) = _events("CameraRegistered")
    parsed = parse_event(__import__("json").dumps(envelope))
    assert parsed.tenant_id == tenant_a.tenant.pk
    assert parsed.correlation_id == "corr-cam-1"
    assert parsed.producer == "admin_service"
    payload = parsed.payload
    assert payload["camera_id"] == camera_id
    assert payload["lpr_enabled"] is True and payload["revision"] == 1
    assert payload["rtsp_url_masked"] == "rtsp://***:***@10.0.0.9:554/h264"
    # Only the ciphertext travels; the streaming side decrypts it with the shared key.
    assert CredentialCipher(settings.CAMERA_CREDENTIALS_KEY).decrypt(
        payload["rtsp_url_encrypted"]) == URL


def test_camera_update_bumps_revision_and_records_before_after(admin_client: APIClient,
                                                               tenant_a: Any) -> None:
    camera = CameraFactory(tenant=tenant_a.tenant, name="Old", retention_days=30)
    response = admin_client.patch(f"{CAMERAS}{camera.pk}/",
                                  {"name": "New", "retention_days": 60}, format="json")
    assert response.status_code == 200
    assert response.json()["revision"] == 2
    entry = AuditEntry.objects.get(action="update", object_type="camera")
    assert (entry.before["name"], entry.after["name"]) == ("Old", "New")
    assert (entry.before["retention_days"], entry.after["retention_days"]) == (30, 60)
    (event,) = _events("CameraUpdated")
    assert event["payload"]["revision"] == 2 and event["payload"]["name"] == "New"


def test_changing_only_the_password_in_the_url_is_an_update(admin_client: APIClient,
                                                            tenant_a: Any) -> None:
    camera = CameraFactory(tenant=tenant_a.tenant)
    new_url = "rtsp://admin:Rotated-Pass-1@10.0.0.5:554/stream1"
    response = admin_client.patch(f"{CAMERAS}{camera.pk}/", {"rtsp_url": new_url},
                                  format="json")
    assert response.status_code == 200 and response.json()["revision"] == 2
    camera.refresh_from_db()
    assert camera.rtsp_url() == new_url
    entry = AuditEntry.objects.get(action="update")
    assert entry.after["rtsp_url_changed"] is True
    assert "Rotated-Pass-1" not in str(entry.after)
    assert len(_events("CameraUpdated")) == 1


def test_an_update_that_changes_nothing_writes_nothing(admin_client: APIClient,
                                                       tenant_a: Any) -> None:
    camera = CameraFactory(tenant=tenant_a.tenant, name="Same")
    response = admin_client.patch(f"{CAMERAS}{camera.pk}/", {"name": "Same"}, format="json")
    assert response.status_code == 200 and response.json()["revision"] == 1
    assert not OutboxEvent.objects.exists() and not AuditEntry.objects.exists()


def test_delete_decommissions_the_camera(admin_client: APIClient, tenant_a: Any) -> None:
    camera = CameraFactory(tenant=tenant_a.tenant)
    assert admin_client.delete(f"{CAMERAS}{camera.pk}/").status_code == 204
    assert admin_client.get(f"{CAMERAS}{camera.pk}/").status_code == 404
    assert admin_client.delete(f"{CAMERAS}{camera.pk}/").status_code == 404
    row = Camera.all_objects.get(pk=camera.pk)
    assert row.decommissioned_at is not None and row.status == "decommissioned"
    (event,) = _events("CameraDecommissioned")
    assert event["payload"] == {"camera_id": str(camera.pk),
                                "tenant_id": str(tenant_a.tenant.pk), "revision": 2}
    assert AuditEntry.objects.get(action="delete").before["name"] == camera.name
    # The name is free again for a new camera.
    assert admin_client.post(CAMERAS, {"name": camera.name, "rtsp_url": URL},
                             format="json").status_code == 201


def test_failed_audit_rolls_back_the_camera_and_its_event(
    admin_client: APIClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(**kwargs: Any) -> None:
        raise RuntimeError("audit store down")

    monkeypatch.setattr("cameras.services.record", broken)
    response = admin_client.post(CAMERAS, {"name": "Doomed", "rtsp_url": URL}, format="json")
    assert response.status_code == 500
    assert response.json()["error"]["code"] == "server_error"
    assert not Camera.all_objects.exists()
    assert not OutboxEvent.objects.exists()


def test_failed_event_write_rolls_back_the_change_and_its_audit(
    admin_client: APIClient, tenant_a: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    camera = CameraFactory(tenant=tenant_a.tenant, name="Stable")

    def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("outbox table unavailable")

    monkeypatch.setattr("cameras.services.enqueue", broken)
    response = admin_client.patch(f"{CAMERAS}{camera.pk}/", {"name": "Changed"},
                                  format="json")
    assert response.status_code == 500
    camera.refresh_from_db()
    assert (camera.name, camera.revision) == ("Stable", 1)
    assert not AuditEntry.objects.exists() and not OutboxEvent.objects.exists()


def test_tenant_creation_and_update_are_announced(client_for: Any, superadmin: Any) -> None:
    client = client_for(superadmin)
    response = client.post("/api/cidades/prefeituras/",
                           {"name": "Campinas", "slug": "campinas",
                            "timezone": "America/Sao_Paulo"}, format="json")
    assert response.status_code == 201
    tenant_id = response.json()["id"]
    (created,) = _events("TenantCreated")
    assert created["payload"]["slug"] == "campinas" and created["tenant_id"] == tenant_id
    assert client.patch(f"/api/cidades/prefeituras/{tenant_id}/", {"is_active": False},
                        format="json").status_code == 200
    (updated,) = _events("TenantUpdated")
    assert updated["payload"]["is_active"] is False
    actions = list(AuditEntry.objects.filter(object_type="tenant")
                   .order_by("occurred_at").values_list("action", flat=True))
    assert actions == ["create", "update"]


def test_user_role_changes_are_announced(admin_client: APIClient, tenant_a: Any) -> None:
    response = admin_client.post("/api/admin/users/",
                                 {"username": "maria", "password": "Very-Strong-pass-9",
                                  "role": "viewer", "email": "maria@example.org"},
                                 format="json")
    assert response.status_code == 201
    user_id = response.json()["id"]
    assert "password" not in response.json()
    url = f"/api/admin/users/{user_id}/"
    assert admin_client.patch(url, {"first_name": "Maria"}, format="json").status_code == 200
    assert admin_client.patch(url, {"role": "operator"}, format="json").status_code == 200
    assert admin_client.delete(url).status_code == 204
    events = _events("UserRoleChanged")
    assert [e["payload"]["roles"] for e in events] == [["viewer"], ["operator"], []]
    assert all(e["payload"]["user_id"] == user_id for e in events)
    entries = AuditEntry.objects.filter(object_type="user", object_id=user_id)
    # The role change and the deactivation each end the user's sessions, audited too.
    assert sorted(entries.values_list("action", flat=True)) == [
        "create", "delete", "sessions.revoke", "sessions.revoke", "update", "update"]
    role_change = entries.get(action="update", after__role="operator")
    assert role_change.before["role"] == "viewer"


def test_locations_and_zones_are_audited(admin_client: APIClient, tenant_a: Any) -> None:
    loc = admin_client.post("/api/cidades/locations/", {"name": "Centro", "latitude": -22.9},
                            format="json")
    assert loc.status_code == 201
    zone = admin_client.post("/api/cidades/zones/",
                             {"name": "Norte", "location": loc.json()["id"]}, format="json")
    assert zone.status_code == 201
    assert admin_client.delete(f"/api/cidades/locations/{loc.json()['id']}/").status_code == 204
    assert Zone.objects.get().location is None
    assert not Location.objects.exists()
    # The zone left without its location is a changed zone, audited in the same deletion.
    assert sorted(AuditEntry.objects.values_list("object_type", "action")) == [
        ("location", "create"), ("location", "delete"), ("zone", "create"), ("zone", "update")]
    unlinked = AuditEntry.objects.get(object_type="zone", action="update")
    assert unlinked.before["location_id"] == loc.json()["id"]
    assert unlinked.after["location_id"] is None


def test_export_gives_the_projection_every_camera(client_for: Any, superadmin: Any,
                                                  tenant_a: Any, tenant_b: Any) -> None:
    live = CameraFactory(tenant=tenant_a.tenant, name="Live")
    gone = CameraFactory(tenant=tenant_b.tenant, name="Gone")
    client_for(superadmin).delete(f"{CAMERAS}{gone.pk}/")
    body = client_for(superadmin).get(f"{CAMERAS}export/", {"page_size": 1}).json()
    assert body["count"] == 2 and body["next"]
    rows = body["results"] + client_for(superadmin).get(
        f"{CAMERAS}export/", {"page_size": 1, "page": 2}).json()["results"]
    by_id = {row["camera_id"]: row for row in rows}
    assert by_id[str(live.pk)]["decommissioned"] is False
    assert by_id[str(gone.pk)]["decommissioned"] is True
    assert by_id[str(gone.pk)]["revision"] == 2
    assert by_id[str(live.pk)]["rtsp_url_encrypted"] == live.rtsp_url_encrypted
    assert "rtsp_url" not in by_id[str(live.pk)]
    for role in ("viewer", "tenant_admin"):
        assert client_for(tenant_a.by_role(role)).get(f"{CAMERAS}export/").status_code == 403


@pytest.mark.parametrize("kind", ["locations", "zones"])
def test_deleting_a_place_announces_each_camera_it_leaves(
    admin_client: APIClient, tenant_a: Any, kind: str, django_capture_on_commit_callbacks: Any
) -> None:
    from tests.factories import LocationFactory, ZoneFactory

    factory, field = (LocationFactory, "location") if kind == "locations" else (ZoneFactory,
                                                                                "zone")
    place = factory(tenant=tenant_a.tenant)
    kept = factory(tenant=tenant_a.tenant)
    moved = [CameraFactory(tenant=tenant_a.tenant, name=f"Cam {i}", revision=3, **{field: place})
             for i in range(2)]
    elsewhere = CameraFactory(tenant=tenant_a.tenant, **{field: kept})
    gone = CameraFactory(tenant=tenant_a.tenant, **{field: place})
    assert admin_client.delete(f"{CAMERAS}{gone.pk}/").status_code == 204
    OutboxEvent.objects.all().delete()
    assert admin_client.get(CAMERAS).status_code == 200  # primes the camera-list cache

    with django_capture_on_commit_callbacks(execute=True):
        assert admin_client.delete(f"/api/cidades/{kind}/{place.pk}/").status_code == 204

    events = {e["payload"]["camera_id"]: e for e in _events("CameraUpdated")}
    assert set(events) == {str(c.pk) for c in moved}  # not the other place's, not the gone
    for camera in moved:
        camera.refresh_from_db()
        assert getattr(camera, f"{field}_id") is None and camera.revision == 4
        payload = events[str(camera.pk)]["payload"]
        assert payload[f"{field}_id"] is None and payload["revision"] == 4
        assert payload["name"] == camera.name
        entry = AuditEntry.objects.get(action="update", object_id=str(camera.pk))
        assert entry.before[f"{field}_id"] == str(place.pk)
        assert entry.after[f"{field}_id"] is None
    elsewhere.refresh_from_db()
    assert getattr(elsewhere, f"{field}_id") == kept.pk and elsewhere.revision == 1
    assert Camera.all_objects.get(pk=gone.pk).revision == 2  # decommissioned: not re-announced
    # The camera list is fresh, not served from the cache of before the deletion.
    listed = {c["id"]: c for c in admin_client.get(CAMERAS).json()["results"]}
    assert all(listed[camera_id][field] is None for camera_id in events)


def test_a_place_deletion_whose_event_fails_leaves_everything_as_it_was(
    admin_client: APIClient, tenant_a: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.factories import LocationFactory

    place = LocationFactory(tenant=tenant_a.tenant)
    camera = CameraFactory(tenant=tenant_a.tenant, location=place)

    def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("outbox table unavailable")

    monkeypatch.setattr("cameras.services.enqueue", broken)
    assert admin_client.delete(f"/api/cidades/locations/{place.pk}/").status_code == 500
    camera.refresh_from_db()
    assert (camera.location_id, camera.revision) == (place.pk, 1)
    assert Location.objects.filter(pk=place.pk).exists()
    assert not AuditEntry.objects.exists()
