"""Brute force against logins (issue 9, item 7): the Django admin's login page is
throttled like the API's, and an account that keeps failing is locked with a growing
backoff — for the API and the admin alike — with every lockout audited."""

from __future__ import annotations

from typing import Any

import pytest
from audit.models import AuditEntry
from django.test import Client
from rest_framework.test import APIClient

from tests.factories import DEFAULT_PASSWORD

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _guard(settings: Any) -> None:
    settings.LOGIN_LOCKOUT_THRESHOLD = 3
    settings.LOGIN_LOCKOUT_SECONDS = 60
    settings.LOGIN_LOCKOUT_MAX_SECONDS = 3600


def _api_login(username: str, password: str, **extra: Any) -> Any:
    return APIClient().post("/api/admin/auth/token", {"username": username,
                                                      "password": password},
                            format="json", **extra)


def _admin_login(client: Client, username: str, password: str) -> Any:
    return client.post("/admin/login/?next=/admin/",
                       {"username": username, "password": password})


def test_account_locks_after_repeated_failures_and_refuses_even_the_right_password(
    tenant_a: Any,
) -> None:
    codes = [_api_login("alpha-viewer", f"guess-{i}").status_code for i in range(3)]
    assert codes == [401, 401, 401]
    locked = _api_login("alpha-viewer", DEFAULT_PASSWORD)
    assert locked.status_code == 429
    assert locked.json()["error"]["code"] == "account_locked"
    assert 0 < int(locked["Retry-After"]) <= 60
    entry = AuditEntry.objects.get(action="login.locked")
    assert entry.username == "alpha-viewer"
    assert entry.after["locked_seconds"] == 60
    assert AuditEntry.objects.filter(action="login.refused").count() == 1
    # Other accounts are not affected.
    assert _api_login("alpha-operator", DEFAULT_PASSWORD).status_code == 200


def test_lockouts_double_and_a_success_resets_them(tenant_a: Any, settings: Any) -> None:
    from django.core.cache import cache

    for _ in range(3):
        _api_login("alpha-viewer", "bad")
    cache.delete("login:lock:" + _hash("alpha-viewer"))  # the first lockout runs out
    for _ in range(3):
        _api_login("alpha-viewer", "bad")
    seconds = list(AuditEntry.objects.filter(action="login.locked")
                   .order_by("occurred_at").values_list("after__locked_seconds", flat=True))
    assert seconds == [60, 120]
    cache.delete("login:lock:" + _hash("alpha-viewer"))
    assert _api_login("alpha-viewer", DEFAULT_PASSWORD).status_code == 200
    for _ in range(3):
        _api_login("alpha-viewer", "bad")
    last = AuditEntry.objects.filter(action="login.locked").order_by("-occurred_at").first()
    assert last is not None and last.after["locked_seconds"] == 60


def test_unknown_usernames_lock_the_same_way(db: None) -> None:
    for _ in range(3):
        assert _api_login("no-such-user", "bad").status_code == 401
    assert _api_login("no-such-user", "bad").json()["error"]["code"] == "account_locked"


def test_django_admin_login_is_guarded_and_audited(superadmin: Any) -> None:
    superadmin.set_password(DEFAULT_PASSWORD)
    superadmin.save()
    client = Client()
    for i in range(3):
        response = _admin_login(client, superadmin.username, f"guess-{i}")
        assert response.status_code == 200  # the form again, with an error
    failures = AuditEntry.objects.filter(action="login.failure", username=superadmin.username)
    assert failures.count() == 3
    assert all(entry.after["via"] == "admin_site" for entry in failures)
    assert AuditEntry.objects.filter(action="login.locked").count() == 1

    refused = _admin_login(client, superadmin.username, DEFAULT_PASSWORD)
    assert refused.status_code == 200
    assert "Too many failed logins" in refused.content.decode()
    assert client.get("/admin/").status_code == 302, "still not logged in"


def test_django_admin_login_success_is_audited(superadmin: Any) -> None:
    superadmin.set_password(DEFAULT_PASSWORD)
    superadmin.save()
    client = Client()
    response = _admin_login(client, superadmin.username, DEFAULT_PASSWORD)
    assert response.status_code == 302
    entry = AuditEntry.objects.get(action="login.success", actor=superadmin)
    assert entry.after == {"via": "admin_site"}


def test_tenant_user_at_the_django_admin_is_audited_but_not_locked(tenant_a: Any) -> None:
    client = Client()
    for _ in range(4):
        _admin_login(client, "alpha-tenant_admin", DEFAULT_PASSWORD)
    reasons = set(AuditEntry.objects.filter(action="login.failure")
                  .values_list("after__reason", flat=True))
    assert reasons == {"not_allowed"}
    assert _api_login("alpha-tenant_admin", DEFAULT_PASSWORD).status_code == 200


def test_admin_login_page_is_rate_limited_per_address(tenant_a: Any, settings: Any) -> None:
    settings.LOGIN_IP_THROTTLE_RATE = "4/min"
    settings.LOGIN_LOCKOUT_THRESHOLD = 100
    client = Client()
    pages = [_admin_login(client, f"user-{i}", "bad").content.decode() for i in range(5)]
    assert all("Too many failed logins" not in page for page in pages[:4])
    assert "Too many failed logins" in pages[4]
    # The API shares the per-address budget.
    assert _api_login("alpha-viewer", DEFAULT_PASSWORD).json()["error"]["code"] == \
        "too_many_attempts"


def test_forged_forwarded_for_does_not_reset_the_address_budget(tenant_a: Any,
                                                                settings: Any) -> None:
    settings.LOGIN_IP_THROTTLE_RATE = "2/min"
    settings.LOGIN_LOCKOUT_THRESHOLD = 100
    codes = [_api_login(f"user-{i}", "bad", HTTP_X_FORWARDED_FOR=f"10.9.0.{i}").status_code
             for i in range(3)]
    assert codes == [401, 401, 429]


def _hash(username: str) -> str:
    from accounts.login_guard import _account

    return _account(username)
