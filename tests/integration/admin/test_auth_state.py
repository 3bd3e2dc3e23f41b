"""Authentication reads its user's and tenant's state from Redis (accounts.auth_state),
and every change to them takes effect on the very next request: a save, a queryset
update (no signals), a bulk update, a delete, a tenant suspension, a revoked token."""

from __future__ import annotations

from typing import Any

import pytest
from accounts import auth_state
from accounts.models import User
from config.redis import get_redis
from rest_framework.test import APIClient
from tenancy.models import Tenant

from tests.factories import CameraFactory

pytestmark = pytest.mark.django_db

ME = "/api/admin/me"
CAMERAS = "/api/cidades/cameras/"


def _warm(client: APIClient, user: Any) -> None:
    """A first request: the user's state is in Redis from now on."""
    assert client.get(ME).status_code == 200
    assert get_redis().get(auth_state.user_key(user.pk)) is not None


def test_a_cached_camera_list_read_touches_no_database(
    tenant_a: Any, client_for: Any, django_assert_num_queries: Any
) -> None:
    CameraFactory(tenant=tenant_a.tenant, name="One")
    api = client_for(tenant_a.viewer)
    first = api.get(CAMERAS)
    assert first.status_code == 200
    with django_assert_num_queries(0):
        second = api.get(CAMERAS)
    assert second.content == first.content


def test_state_entries_expire(tenant_a: Any, client_for: Any) -> None:
    """The bound on staleness for a change made behind the ORM's back (raw SQL)."""
    _warm(client_for(tenant_a.viewer), tenant_a.viewer)
    ttl = get_redis().ttl(auth_state.user_key(tenant_a.viewer.pk))
    assert 0 < ttl <= auth_state.STATE_TTL_SECONDS
    tenant_ttl = get_redis().ttl(auth_state.tenant_key(tenant_a.tenant.pk))
    assert 0 < tenant_ttl <= auth_state.STATE_TTL_SECONDS


def test_a_user_deactivated_by_save_is_refused_on_the_next_request(
    tenant_a: Any, client_for: Any
) -> None:
    api = client_for(tenant_a.viewer)
    _warm(api, tenant_a.viewer)
    tenant_a.viewer.is_active = False
    tenant_a.viewer.save()
    assert api.get(CAMERAS).status_code == 401


def test_a_user_deactivated_by_a_queryset_update_is_refused_on_the_next_request(
    tenant_a: Any, client_for: Any
) -> None:
    """The admin's bulk actions and raw ORM updates send no signals."""
    api = client_for(tenant_a.viewer)
    _warm(api, tenant_a.viewer)
    User.objects.filter(pk=tenant_a.viewer.pk).update(is_active=False)
    assert api.get(CAMERAS).status_code == 401


def test_a_user_deactivated_by_bulk_update_is_refused_on_the_next_request(
    tenant_a: Any, client_for: Any
) -> None:
    api = client_for(tenant_a.viewer)
    _warm(api, tenant_a.viewer)
    tenant_a.viewer.is_active = False
    User.objects.bulk_update([tenant_a.viewer], ["is_active"])
    assert api.get(CAMERAS).status_code == 401


def test_a_role_lowered_by_a_queryset_update_applies_on_the_next_request(
    tenant_a: Any, client_for: Any
) -> None:
    api = client_for(tenant_a.tenant_admin)
    _warm(api, tenant_a.tenant_admin)
    body = {"name": "New", "rtsp_url": "rtsp://10.0.0.9/a"}
    User.objects.filter(pk=tenant_a.tenant_admin.pk).update(role="viewer")
    assert api.post(CAMERAS, body, format="json").status_code == 403
    User.objects.filter(pk=tenant_a.tenant_admin.pk).update(role="tenant_admin")
    assert api.post(CAMERAS, body, format="json").status_code == 201


def test_a_deleted_user_is_refused_on_the_next_request(tenant_a: Any, client_for: Any) -> None:
    api = client_for(tenant_a.viewer)
    _warm(api, tenant_a.viewer)
    User.objects.filter(pk=tenant_a.viewer.pk).delete()
    assert api.get(CAMERAS).status_code == 401


@pytest.mark.parametrize("how", ["save", "update"])
def test_a_suspended_tenants_users_are_refused_on_the_next_request(
    tenant_a: Any, client_for: Any, how: str
) -> None:
    api = client_for(tenant_a.viewer)
    _warm(api, tenant_a.viewer)
    if how == "save":
        tenant_a.tenant.is_active = False
        tenant_a.tenant.save()
    else:
        Tenant.objects.filter(pk=tenant_a.tenant.pk).update(is_active=False)
    assert api.get(CAMERAS).status_code == 401


def test_a_user_moved_to_another_tenant_reads_only_the_new_tenants_cameras(
    tenant_a: Any, tenant_b: Any, client_for: Any
) -> None:
    """Tenant isolation follows the user's row, not the tenant the token names."""
    CameraFactory(tenant=tenant_a.tenant, name="A1")
    CameraFactory(tenant=tenant_b.tenant, name="B1")
    api = client_for(tenant_a.viewer)
    assert [c["name"] for c in api.get(CAMERAS).json()["results"]] == ["A1"]
    User.objects.filter(pk=tenant_a.viewer.pk).update(tenant=tenant_b.tenant)
    assert [c["name"] for c in api.get(CAMERAS).json()["results"]] == ["B1"]


def test_a_raised_session_version_is_refused_even_when_redis_lost_it(
    tenant_a: Any, client_for: Any
) -> None:
    from django.db.models import F

    from shared_kernel.auth import session_version_key

    api = client_for(tenant_a.viewer)
    _warm(api, tenant_a.viewer)
    User.objects.filter(pk=tenant_a.viewer.pk).update(session_version=F("session_version") + 1)
    get_redis().delete(session_version_key(tenant_a.viewer.pk))
    assert api.get(CAMERAS).status_code == 401


def test_a_revoked_token_is_refused_while_its_user_state_is_cached(
    tenant_a: Any, client_for: Any
) -> None:
    from accounts.tokens import issue_pair

    pair = issue_pair(tenant_a.viewer)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {pair['access']}")
    _warm(api, tenant_a.viewer)
    assert api.post("/api/admin/auth/logout", {"refresh": pair["refresh"]},
                    format="json").status_code == 204
    assert api.get(CAMERAS).status_code == 401


def test_an_unreadable_state_entry_falls_back_to_the_database(
    tenant_a: Any, client_for: Any
) -> None:
    api = client_for(tenant_a.viewer)
    _warm(api, tenant_a.viewer)
    get_redis().set(auth_state.user_key(tenant_a.viewer.pk), "not json", ex=30)
    assert api.get(CAMERAS).status_code == 200
