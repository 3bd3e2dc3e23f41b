"""/api/admin/audit-logs/: read-only, tenant-scoped, filterable, newest first."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from audit.services import record
from rest_framework.test import APIClient

from tests.factories import DEFAULT_PASSWORD, SuperadminFactory, TenantFactory, UserFactory

pytestmark = pytest.mark.django_db

URL = "/api/admin/audit-logs/"
T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def _client_for(user: Any) -> APIClient:
    client = APIClient()
    response = client.post("/api/admin/auth/token",
                           {"username": user.username, "password": DEFAULT_PASSWORD},
                           format="json")
    assert response.status_code == 200, response.content
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {response.json()['access']}")
    return client


@pytest.fixture
def world() -> dict[str, Any]:
    tenant, other = TenantFactory(), TenantFactory()
    admin = UserFactory(tenant=tenant, role="tenant_admin")
    camera_id = str(uuid.uuid4())
    entries = {
        "cam_create": record(action="create", object_type="camera", object_id=camera_id,
                             tenant_id=tenant.id, actor=admin, after={"name": "Cam"},
                             occurred_at=T0),
        "cam_update": record(action="update", object_type="camera", object_id=camera_id,
                             tenant_id=tenant.id, actor=admin, before={"name": "Cam"},
                             after={"name": "Cam 2", "rtsp_url": "rtsp://u:p@h/s"},
                             occurred_at=T0 + timedelta(hours=1)),
        "playback": record(action="recording.playback", object_type="recording",
                           object_id=str(uuid.uuid4()), tenant_id=tenant.id,
                           username="operator-x", occurred_at=T0 + timedelta(hours=2)),
        "other": record(action="create", object_type="camera", object_id=str(uuid.uuid4()),
                        tenant_id=other.id, username="someone", occurred_at=T0),
        "global": record(action="create", object_type="tenant", object_id=str(other.id),
                         tenant_id=None, username="root", occurred_at=T0),
    }
    return {"tenant": tenant, "other": other, "admin": admin, "camera_id": camera_id,
            "entries": entries}


def _ids(response: Any) -> list[str]:
    assert response.status_code == 200, response.content
    return [row["id"] for row in response.json()["results"]]


@pytest.mark.parametrize("role", ["viewer", "operator"])
def test_viewers_and_operators_are_forbidden(world: dict[str, Any], role: str) -> None:
    user = UserFactory(tenant=world["tenant"], role=role)
    response = _client_for(user).get(URL)
    assert response.status_code == 403
    assert response.json()["error"]["code"]


def test_anonymous_gets_401() -> None:
    response = APIClient().get(URL)
    assert response.status_code == 401
    assert "error" in response.json()


def test_tenant_admin_sees_only_own_tenant_entries_newest_first(world: dict[str, Any]) -> None:
    client = _client_for(world["admin"])
    # Up to a day after T0: leaves out the login entry our own token just wrote.
    ids = _ids(client.get(URL, {"to": (T0 + timedelta(days=1)).isoformat()}))
    e = world["entries"]
    assert ids == [str(e["playback"].id), str(e["cam_update"].id), str(e["cam_create"].id)]
    # Secrets stay masked in what the API returns.
    update = client.get(f"{URL}{e['cam_update'].id}/").json()
    assert update["after"]["rtsp_url"] == "***"
    assert update["before"] == {"name": "Cam"}
    # Another tenant's (or a global) entry is not found, not forbidden.
    assert client.get(f"{URL}{e['other'].id}/").status_code == 404
    assert client.get(f"{URL}{e['global'].id}/").status_code == 404


def test_superadmin_sees_every_tenant_and_global_entries(world: dict[str, Any]) -> None:
    client = _client_for(SuperadminFactory())
    ids = set(_ids(client.get(URL, {"page_size": 200})))
    assert {str(entry.id) for entry in world["entries"].values()} <= ids
    ids = _ids(client.get(URL, {"tenant": str(world["other"].id)}))
    assert ids == [str(world["entries"]["other"].id)]


def test_filters_by_action_object_actor_and_time(world: dict[str, Any]) -> None:
    client = _client_for(world["admin"])
    e = world["entries"]
    assert _ids(client.get(URL, {"action": "update"})) == [str(e["cam_update"].id)]
    assert _ids(client.get(URL, {"action_prefix": "recording."})) == [str(e["playback"].id)]
    assert _ids(client.get(URL, {"object_type": "camera", "object_id": world["camera_id"]})) \
        == [str(e["cam_update"].id), str(e["cam_create"].id)]
    assert _ids(client.get(URL, {"actor": str(world["admin"].id), "object_type": "camera"})) \
        == [str(e["cam_update"].id), str(e["cam_create"].id)]
    window = {"from": (T0 + timedelta(minutes=30)).isoformat(),
              "to": (T0 + timedelta(hours=2)).isoformat()}
    assert _ids(client.get(URL, window)) == [str(e["cam_update"].id)]
    assert _ids(client.get(URL, {"search": "operator-x"})) == [str(e["playback"].id)]


def test_bad_filter_values_are_400_in_the_error_shape(world: dict[str, Any]) -> None:
    client = _client_for(world["admin"])
    for params in ({"from": "yesterday"}, {"actor": "not-a-uuid"}):
        response = client.get(URL, params)
        assert response.status_code == 400, params
        assert set(response.json()["error"]) >= {"code", "message"}


def test_the_audit_log_cannot_be_written_through_the_api(world: dict[str, Any]) -> None:
    client = _client_for(SuperadminFactory())
    entry = world["entries"]["cam_create"]
    assert client.post(URL, {"action": "x"}, format="json").status_code == 405
    assert client.patch(f"{URL}{entry.id}/", {"action": "x"}, format="json").status_code == 405
    assert client.delete(f"{URL}{entry.id}/").status_code == 405


def test_logins_are_in_the_tenant_admins_audit_log(world: dict[str, Any]) -> None:
    client = _client_for(world["admin"])
    rows = client.get(URL, {"object_id": str(world["admin"].id)}).json()["results"]
    assert any(row["action"].startswith("login") for row in rows)


# --- Django admin: searchable, never editable --------------------------------------------


def test_django_admin_lists_audit_entries_read_only(world: dict[str, Any], client: Any) -> None:
    client.force_login(SuperadminFactory())
    entry = world["entries"]["cam_update"]
    listing = client.get("/admin/audit/auditentry/", {"q": world["camera_id"],
                                                      "action__exact": "update"})
    assert listing.status_code == 200
    assert str(entry.object_id) in listing.content.decode()
    detail = client.get(f"/admin/audit/auditentry/{entry.id}/change/")
    assert detail.status_code == 200
    page = detail.content.decode()
    assert 'name="_save"' not in page and "p@h" not in page
    assert client.get("/admin/audit/auditentry/add/").status_code == 403
    assert client.post(f"/admin/audit/auditentry/{entry.id}/delete/",
                       {"post": "yes"}).status_code == 403


@pytest.mark.django_db(transaction=True)
def test_django_admin_lists_outbox_events_by_published_state(client: Any) -> None:
    from django.db import transaction
    from outbox.services import enqueue

    from shared_kernel.events import TenantCreated

    with transaction.atomic():
        event = enqueue(TenantCreated(tenant_id=uuid.uuid4(), name="Sorocaba", slug="soro"),
                        tenant_id=None)
    client.force_login(SuperadminFactory())
    pending = client.get("/admin/outbox/outboxevent/", {"published": "no"})
    change_link = f"/admin/outbox/outboxevent/{event.event_id}/change/"
    assert pending.status_code == 200 and change_link in pending.content.decode()
    published = client.get("/admin/outbox/outboxevent/", {"published": "yes"})
    assert published.status_code == 200 and change_link not in published.content.decode()
    assert client.get(f"/admin/outbox/outboxevent/{event.event_id}/change/").status_code == 200
    assert client.get("/admin/outbox/outboxevent/add/").status_code == 403
