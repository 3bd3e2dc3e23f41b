"""The audit log API: read-only, newest first; tenant admins see their tenant's entries,
superadmins every entry, other roles nothing (403)."""

from __future__ import annotations

from accounts.rbac import RolePermission, TenantScopedMixin
from django.db.models import QuerySet
from rest_framework import viewsets

from audit.api.serializers import AuditEntrySerializer
from audit.filtersets import AuditEntryFilter
from audit.models import AuditEntry
from shared_kernel.auth import Role


class AuditEntryViewSet(TenantScopedMixin, viewsets.ReadOnlyModelViewSet):
    serializer_class = AuditEntrySerializer
    permission_classes = [RolePermission]
    read_role = Role.TENANT_ADMIN
    write_role = Role.SUPERADMIN
    filterset_class = AuditEntryFilter
    search_fields = ["username", "object_id", "action"]
    ordering_fields = ["occurred_at"]
    ordering = ["-occurred_at", "-id"]

    def get_queryset(self) -> QuerySet[AuditEntry]:
        return self.scope(AuditEntry.objects.all())
