"""Use cases on tenants (prefeituras): saved, audited and announced in one transaction."""

from __future__ import annotations

from typing import Any

from audit.services import record
from django.db import transaction
from django.http import HttpRequest
from outbox.services import enqueue

from shared_kernel.events import TenantCreated, TenantUpdated
from tenancy.models import Tenant

OBJECT_TYPE = "tenant"
_FIELDS = ("name", "slug", "timezone", "is_active")


def tenant_state(tenant: Tenant) -> dict[str, Any]:
    return {f: getattr(tenant, f) for f in _FIELDS}


def create_tenant(
    *, data: dict[str, Any], actor: Any, request: HttpRequest | None = None
) -> Tenant:
    tenant = Tenant(**data)
    tenant.full_clean()
    with transaction.atomic():
        tenant.save()
        record(action="create", object_type=OBJECT_TYPE, object_id=str(tenant.id),
               tenant_id=tenant.id, actor=actor, after=tenant_state(tenant), request=request)
        enqueue(
            TenantCreated(tenant_id=tenant.id, name=tenant.name, slug=tenant.slug,
                          timezone=tenant.timezone),
            tenant_id=tenant.id,
        )
    return tenant


def update_tenant(
    tenant: Tenant, *, changes: dict[str, Any], actor: Any, request: HttpRequest | None = None
) -> Tenant:
    before = tenant_state(tenant)
    for field, value in changes.items():
        setattr(tenant, field, value)
    tenant.full_clean()
    with transaction.atomic():
        tenant.save()
        after = tenant_state(tenant)
        record(action="update", object_type=OBJECT_TYPE, object_id=str(tenant.id),
               tenant_id=tenant.id, actor=actor, before=before, after=after, request=request)
        if after != before:
            enqueue(
                TenantUpdated(tenant_id=tenant.id, name=tenant.name, slug=tenant.slug,
                              is_active=tenant.is_active, timezone=tenant.timezone),
                tenant_id=tenant.id,
            )
        if before["is_active"] and not tenant.is_active:
            # A suspended prefeitura's users are cut off everywhere, live sockets included.
            from accounts.services import revoke_sessions

            for user in tenant.users.filter(is_active=True):
                revoke_sessions(user, reason="tenant_suspended", actor=actor, request=request)
    return tenant
