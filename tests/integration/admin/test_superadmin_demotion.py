"""A superadmin demoted to a tenant role loses the Django admin at once (issue 9, item 1)."""

from __future__ import annotations

import importlib
from typing import Any

import pytest
from accounts.models import User
from django.apps import apps as django_apps
from django.test import Client

pytestmark = pytest.mark.django_db

PASSWORD = "Demoted-Pa55word!"


def _login_admin(username: str) -> Client:
    client = Client()
    response = client.post("/admin/login/?next=/admin/",
                           {"username": username, "password": PASSWORD})
    assert response.status_code in (200, 302)
    return client


def test_demoted_superadmin_loses_django_admin(client_for: Any, superadmin: Any,
                                               tenant_a: Any) -> None:
    other = User.objects.create_superuser("soon-demoted", password=PASSWORD)
    assert other.is_staff and other.is_superuser

    response = client_for(superadmin).patch(
        f"/api/admin/users/{other.pk}/", {"is_superadmin": False, "tenant": str(tenant_a.tenant.pk),
                                         "role": "viewer"}, format="json")
    assert response.status_code == 200, response.content

    other.refresh_from_db()
    assert (other.is_superadmin, other.is_staff, other.is_superuser) == (False, False, False)
    client = _login_admin("soon-demoted")
    assert client.get("/admin/").status_code == 302  # back to the login page
    assert client.get("/admin/tenancy/tenant/").status_code == 302
    assert client.get("/admin/accounts/user/").status_code == 302


def test_saving_with_update_fields_keeps_flags_in_step(superadmin: Any, tenant_a: Any) -> None:
    superadmin.is_superadmin = False
    superadmin.tenant = tenant_a.tenant
    superadmin.role = "viewer"
    superadmin.save(update_fields=["is_superadmin", "tenant", "role"])
    superadmin.refresh_from_db()
    assert (superadmin.is_staff, superadmin.is_superuser) == (False, False)


def test_migration_clears_flags_of_users_demoted_earlier(tenant_a: Any) -> None:
    stale = tenant_a.viewer
    User.objects.filter(pk=stale.pk).update(is_staff=True, is_superuser=True)
    migration = importlib.import_module(
        "accounts.migrations.0002_staff_flags_follow_superadmin")
    migration.derive_flags(django_apps, None)
    stale.refresh_from_db()
    assert (stale.is_staff, stale.is_superuser) == (False, False)
