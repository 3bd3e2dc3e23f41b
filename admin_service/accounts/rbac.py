"""Role-based access control in one place (SPEC §3).

Views declare the least role that may read and the least role that may write; the
tenant scoping of querysets lives in :class:`TenantScopedMixin`, so another tenant's
object is simply not found (404), never forbidden.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Model, QuerySet
from rest_framework import permissions
from rest_framework.request import Request
from rest_framework.views import APIView

from accounts.models import User
from shared_kernel.auth import Role


def acting_user(request: Request) -> User:
    user = request.user
    assert isinstance(user, User), "RBAC checks run after authentication"
    return user


class RolePermission(permissions.BasePermission):
    """Reads need ``view.read_role``, writes ``view.write_role`` (ranked roles)."""

    message = "Your role does not allow this action."

    def has_permission(self, request: Request, view: APIView) -> bool:
        user = request.user
        if not isinstance(user, User) or not user.is_authenticated:
            return False
        needed: Role = (
            getattr(view, "read_role", Role.VIEWER)
            if request.method in permissions.SAFE_METHODS
            else getattr(view, "write_role", Role.TENANT_ADMIN)
        )
        return user.has_role(needed)


class IsSuperadmin(permissions.BasePermission):
    message = "Only a superadmin may do this."

    def has_permission(self, request: Request, view: APIView) -> bool:
        user = request.user
        return isinstance(user, User) and user.is_active and user.is_superadmin


class TenantScopedMixin:
    """Restricts a view's queryset to the requesting user's tenant (superadmin: all).

    ``tenant_field`` names the lookup to the owning tenant's id.
    """

    tenant_field = "tenant_id"
    request: Request

    def scope(self, queryset: QuerySet[Any]) -> QuerySet[Any]:
        user = acting_user(self.request)
        if user.is_superadmin:
            return queryset
        if user.tenant_id is None:
            return queryset.none()
        return queryset.filter(**{self.tenant_field: user.tenant_id})


def same_tenant(obj: Model | None, tenant_id: Any) -> bool:
    return obj is None or getattr(obj, "tenant_id", None) == tenant_id
