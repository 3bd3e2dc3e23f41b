"""Sessions end when they should (issue 9, item 9): an absolute lifetime no refresh
extends, refresh rotation that a concurrent replay cannot fork, and every token of a user
refused by both services as soon as their password, role or status changes."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import pytest
import redis
import redis.asyncio as aioredis
from accounts.models import User
from accounts.tokens import issue_pair
from audit.models import AuditEntry
from django.conf import settings
from rest_framework.test import APIClient

from shared_kernel.auth import AsyncRedisDenylist, InvalidToken, JWTVerifier
from tests.factories import DEFAULT_PASSWORD

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "Another-Strong-pass-42"


def _bearer(token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


def _login(username: str, password: str = DEFAULT_PASSWORD) -> dict[str, str]:
    response = APIClient().post("/api/admin/auth/token",
                                {"username": username, "password": password}, format="json")
    assert response.status_code == 200, response.content
    return dict(response.json())


def _refresh(refresh: str) -> Any:
    return APIClient().post("/api/admin/auth/refresh", {"refresh": refresh}, format="json")


def _streaming_accepts(access: str) -> bool:
    """What the streaming service decides: the same verifier over the same Redis."""

    async def check() -> bool:
        client = aioredis.from_url(settings.REDIS_URL)
        try:
            await JWTVerifier(settings.JWT_PUBLIC_KEY).averify(access, AsyncRedisDenylist(client))
            return True
        except InvalidToken:
            return False
        finally:
            await client.aclose()

    return asyncio.run(check())


def test_refresh_never_extends_a_session_past_its_absolute_lifetime(tenant_a: Any) -> None:
    user = tenant_a.operator
    max_age = int(settings.SESSION_MAX_AGE.total_seconds())
    fresh = issue_pair(user, auth_time=int(time.time()) - max_age + 30)
    rotated = _refresh(fresh["refresh"])
    assert rotated.status_code == 200
    import jwt

    claims = jwt.decode(rotated.json()["refresh"], options={"verify_signature": False})
    assert claims["exp"] <= claims["auth_time"] + max_age, "the new token ends with the session"
    access = jwt.decode(rotated.json()["access"], options={"verify_signature": False})
    assert access["exp"] <= claims["auth_time"] + max_age

    expired_session = issue_pair(user, auth_time=int(time.time()) - max_age - 1)
    response = _refresh(expired_session["refresh"])
    assert response.status_code == 401
    assert "session has ended" in response.json()["error"]["message"]


def test_refresh_token_without_a_session_start_is_refused(tenant_a: Any) -> None:
    from accounts.tokens import GTRefreshToken

    legacy = GTRefreshToken.for_user(tenant_a.viewer)  # minted before sessions had a start
    assert _refresh(str(legacy)).status_code == 401


@pytest.mark.django_db(transaction=True)
def test_concurrent_refreshes_with_one_token_mint_one_pair(tenant_a: Any) -> None:
    pair = _login("alpha-viewer")
    barrier = threading.Barrier(4)
    statuses: list[int] = []

    def attempt() -> None:
        barrier.wait()
        try:
            statuses.append(_refresh(pair["refresh"]).status_code)
        finally:
            from django.db import connection

            connection.close()

    threads = [threading.Thread(target=attempt) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(statuses) == [200, 401, 401, 401]


@pytest.mark.parametrize("change", [
    {"password": NEW_PASSWORD},
    {"role": "viewer"},
    {"is_active": False},
])
def test_password_role_and_status_changes_end_every_session(
    client_for: Any, tenant_a: Any, change: dict[str, Any]
) -> None:
    target = tenant_a.operator
    pairs = [_login(target.username), _login(target.username)]  # two devices
    for pair in pairs:
        assert _bearer(pair["access"]).get("/api/admin/me").status_code == 200
        assert _streaming_accepts(pair["access"])

    response = client_for(tenant_a.tenant_admin).patch(
        f"/api/admin/users/{target.pk}/", change, format="json")
    assert response.status_code == 200, response.content

    for pair in pairs:
        assert _bearer(pair["access"]).get("/api/admin/me").status_code == 401
        assert not _streaming_accepts(pair["access"]), "the streaming service still accepts it"
        assert _refresh(pair["refresh"]).status_code == 401
    entry = AuditEntry.objects.get(action="sessions.revoke", object_id=str(target.pk))
    assert entry.actor_id == tenant_a.tenant_admin.pk
    if "password" in change:
        fresh = _login(target.username, NEW_PASSWORD)
        assert _bearer(fresh["access"]).get("/api/admin/me").status_code == 200
        assert _streaming_accepts(fresh["access"])


def test_profile_edits_keep_sessions(client_for: Any, tenant_a: Any) -> None:
    pair = _login("alpha-operator")
    response = client_for(tenant_a.tenant_admin).patch(
        f"/api/admin/users/{tenant_a.operator.pk}/", {"first_name": "Ana"}, format="json")
    assert response.status_code == 200
    assert _bearer(pair["access"]).get("/api/admin/me").status_code == 200
    assert _streaming_accepts(pair["access"])


def test_suspending_a_tenant_ends_its_users_sessions(client_for: Any, superadmin: Any,
                                                     tenant_a: Any) -> None:
    pair = _login("alpha-viewer")
    response = client_for(superadmin).patch(
        f"/api/cidades/prefeituras/{tenant_a.tenant.pk}/", {"is_active": False}, format="json")
    assert response.status_code == 200, response.content
    assert not _streaming_accepts(pair["access"])


def test_revocation_survives_redis_losing_it(client_for: Any, tenant_a: Any) -> None:
    pair = _login("alpha-operator")
    client_for(tenant_a.tenant_admin).patch(
        f"/api/admin/users/{tenant_a.operator.pk}/", {"role": "viewer"}, format="json")
    from config.redis import get_redis

    from shared_kernel.auth import session_version_key

    get_redis().delete(session_version_key(tenant_a.operator.pk))
    # The admin service still knows from its database.
    assert _bearer(pair["access"]).get("/api/admin/me").status_code == 401
    assert _refresh(pair["refresh"]).status_code == 401


def test_a_role_change_fails_whole_when_redis_cannot_be_told(
    client_for: Any, tenant_a: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from accounts import services

    monkeypatch.setattr(services, "get_redis", lambda: redis.Redis(
        host="127.0.0.1", port=1, socket_connect_timeout=0.2))
    response = client_for(tenant_a.tenant_admin).patch(
        f"/api/admin/users/{tenant_a.operator.pk}/", {"role": "viewer"}, format="json")
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "service_unavailable"
    fresh = User.objects.get(pk=tenant_a.operator.pk)
    assert (fresh.role, fresh.session_version) == ("operator", 0), "nothing half-written"


def test_a_stale_full_save_cannot_lower_the_session_version(tenant_a: Any) -> None:
    from accounts import services

    stale = User.objects.get(pk=tenant_a.viewer.pk)
    services.revoke_sessions(User.objects.get(pk=tenant_a.viewer.pk), reason="test", actor=None)
    stale.first_name = "Stale"
    stale.save()
    fresh = User.objects.get(pk=tenant_a.viewer.pk)
    assert (fresh.first_name, fresh.session_version) == ("Stale", 1)
