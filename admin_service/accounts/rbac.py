"""Role-based access control in one place (SPEC §3).

Views declare the least role that may read and the least role that may write; the
tenant scoping of querysets lives in :class:`TenantScopedMixin`, so another tenant's
object is simply not found (404), never forbidden.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
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
    """Reads need ``view.read_role``, writes ``view.write_role`` (ranked roles).

    On detail routes the role is checked against the object once it has been found in
    the caller's tenant scope, so another tenant's object is a 404 for every role, never
    a 403 that would confirm it exists.
    """

    message = "Your role does not allow this action."

    @staticmethod
    def _needed(request: Request, view: APIView) -> Role:
        if request.method in permissions.SAFE_METHODS:
            return getattr(view, "read_role", Role.VIEWER)  # type: ignore[no-any-return]
        return getattr(view, "write_role", Role.TENANT_ADMIN)  # type: ignore[no-any-return]

    def has_permission(self, request: Request, view: APIView) -> bool:
        user = request.user
        if not isinstance(user, User) or not user.is_authenticated:
            return False
        lookup = getattr(view, "lookup_url_kwarg", None) or getattr(view, "lookup_field", "pk")
        if lookup in getattr(view, "kwargs", {}):
            return True  # decided in has_object_permission, after tenant scoping
        return user.has_role(self._needed(request, view))

    def has_object_permission(self, request: Request, view: APIView, obj: Any) -> bool:
        user = request.user
        return isinstance(user, User) and user.has_role(self._needed(request, view))


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
        if getattr(self, "swagger_fake_view", False):  # OpenAPI generation: no user
            return queryset.none()
        user = acting_user(self.request)
        if user.is_superadmin:
            return queryset
        if user.tenant_id is None:
            return queryset.none()
        return queryset.filter(**{self.tenant_field: user.tenant_id})

