"""Inviting a user: a tenant admin creates the user without a password, gets a one-time
link once (only its hash is stored), and the invitee sets their password through it —
single use, expiring, audited, another tenant's user a 404, refused below tenant admin."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from typing import Any

import pytest
from accounts.models import Invitation, User
from audit.models import AuditEntry
from django.utils import timezone
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db

INVITE = "/api/admin/users/invite/"
ACCEPT = "/api/admin/auth/invitations/accept"
PASSWORD = "Another-Horse-77"


def _invite(client: APIClient, username: str = "maria", role: str = "operator") -> Any:
    response = client.post(INVITE, {"username": username, "email": f"{username}@example.org",
                                    "role": role}, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def _login(username: str, password: str) -> int:
    return APIClient().post("/api/admin/auth/token", {"username": username,
                                                      "password": password},
                            format="json").status_code


def test_an_invited_user_sets_their_password_once_and_can_log_in(
    client_for: Any, tenant_a: Any
) -> None:
    body = _invite(client_for(tenant_a.tenant_admin))
    user = User.objects.get(username="maria")
    assert body["user"]["is_active"] is False and body["user"]["role"] == "operator"
    assert str(user.tenant_id) == str(tenant_a.tenant.id)
    assert not user.has_usable_password()
    assert body["accept_path"] == f"/accept-invitation#{body['token']}"
    stored = Invitation.objects.get(user=user)
    assert stored.token_hash == hashlib.sha256(body["token"].encode()).hexdigest()
    assert body["token"] not in str(AuditEntry.objects.filter(object_id=str(user.id))
                                    .values_list("after", flat=True))
    assert _login("maria", PASSWORD) == 401

    accepted = APIClient().post(ACCEPT, {"token": body["token"], "password": PASSWORD},
                                format="json")
    assert accepted.status_code == 200, accepted.content
    assert accepted.json() == {"username": "maria"}
    assert _login("maria", PASSWORD) == 200
    again = APIClient().post(ACCEPT, {"token": body["token"], "password": "Yet-Another-88"},
                             format="json")
    assert again.status_code == 400
    assert again.json()["error"]["code"] == "invalid_invitation"
    assert _login("maria", PASSWORD) == 200
    actions = list(AuditEntry.objects.filter(object_id=str(user.id),
                                             action__startswith="user.")
                   .order_by("occurred_at").values_list("action", flat=True))
    assert actions == ["user.invite", "user.invitation_accept"]


def test_the_password_validators_apply_and_a_refused_password_keeps_the_link(
    client_for: Any, tenant_a: Any
) -> None:
    body = _invite(client_for(tenant_a.tenant_admin))
    weak = APIClient().post(ACCEPT, {"token": body["token"], "password": "123"}, format="json")
    assert weak.status_code == 400
    assert "password" in weak.json()["error"]["details"]
    ok = APIClient().post(ACCEPT, {"token": body["token"], "password": PASSWORD}, format="json")
    assert ok.status_code == 200


def test_an_expired_link_is_refused(client_for: Any, tenant_a: Any) -> None:
    body = _invite(client_for(tenant_a.tenant_admin))
    Invitation.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    response = APIClient().post(ACCEPT, {"token": body["token"], "password": PASSWORD},
                                format="json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_invitation"
    assert not User.objects.get(username="maria").is_active


def test_a_new_link_replaces_the_old_one(client_for: Any, tenant_a: Any) -> None:
    admin = client_for(tenant_a.tenant_admin)
    first = _invite(admin)
    second = admin.post(f"/api/admin/users/{first['user']['id']}/invitation/")
    assert second.status_code == 201, second.content
    old = APIClient().post(ACCEPT, {"token": first["token"], "password": PASSWORD},
                           format="json")
    assert old.status_code == 400
    new = APIClient().post(ACCEPT, {"token": second.json()["token"], "password": PASSWORD},
                           format="json")
    assert new.status_code == 200
    # Accepted: no further link for this user.
    third = admin.post(f"/api/admin/users/{first['user']['id']}/invitation/")
    assert third.status_code == 400


def test_deactivating_an_invitee_cancels_their_link(client_for: Any, tenant_a: Any) -> None:
    admin = client_for(tenant_a.tenant_admin)
    body = _invite(admin)
    assert admin.delete(f"/api/admin/users/{body['user']['id']}/").status_code == 204
    response = APIClient().post(ACCEPT, {"token": body["token"], "password": PASSWORD},
                                format="json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_invitation"
    assert not User.objects.get(username="maria").is_active
    assert _login("maria", PASSWORD) == 401
    deactivation = AuditEntry.objects.get(object_id=body["user"]["id"], action="delete")
    assert deactivation.after["invitations_revoked"] == 1


def test_an_unknown_token_is_refused(api: APIClient) -> None:
    response = api.post(ACCEPT, {"token": "not-a-token", "password": PASSWORD}, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_invitation"


def test_another_tenants_user_is_a_404(client_for: Any, tenant_a: Any,
                                       tenant_b: Any) -> None:
    invited = _invite(client_for(tenant_b.tenant_admin), username="jose")
    response = client_for(tenant_a.tenant_admin).post(
        f"/api/admin/users/{invited['user']['id']}/invitation/")
    assert response.status_code == 404


def test_a_tenant_admin_invites_only_into_their_own_tenant(
    client_for: Any, tenant_a: Any, tenant_b: Any
) -> None:
    response = client_for(tenant_a.tenant_admin).post(
        INVITE, {"username": "pedro", "role": "viewer", "tenant": str(tenant_b.tenant.id)},
        format="json")
    assert response.status_code == 400
    assert response.json()["error"]["details"] == {"tenant": ["This field is read-only."]}
    assert not User.objects.filter(username="pedro").exists()


@pytest.mark.parametrize("role", ["viewer", "operator"])
def test_inviting_is_refused_below_tenant_admin(client_for: Any, tenant_a: Any,
                                                role: str) -> None:
    response = client_for(tenant_a.by_role(role)).post(
        INVITE, {"username": "ze", "role": "viewer"}, format="json")
    assert response.status_code == 403
    assert not User.objects.filter(username="ze").exists()
    assert not Invitation.objects.exists()
