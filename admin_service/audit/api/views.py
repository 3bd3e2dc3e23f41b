"""The audit log API: read-only, newest first; tenant admins see their tenant's entries,
superadmins every entry, other roles nothing (403). ``export/`` answers the same filtered
list as CSV, and the export is itself an audit entry (LGPD: who took a copy of what)."""

from __future__ import annotations

import csv
import io
import json

from accounts.rbac import RolePermission, TenantScopedMixin, acting_user
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpResponse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import viewsets
from rest_framework.decorators import action
from rest_framework.request import Request

from audit import services
from audit.api.serializers import AuditEntrySerializer
from audit.filtersets import AuditEntryFilter
from audit.models import AuditEntry
from shared_kernel.auth import Role

# The most rows one export holds; narrow the filters for more (the count is in the audit).
EXPORT_MAX_ROWS = 10_000
CSV_COLUMNS = ["occurred_at", "username", "actor", "tenant_id", "action", "object_type",
               "object_id", "ip", "user_agent", "correlation_id", "before", "after"]
# A cell a spreadsheet would run as a formula is quoted as text (CSV injection).
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: object) -> str:
    if value is None:
        return ""
    text = value if isinstance(value, str) else json.dumps(value, cls=DjangoJSONEncoder,
                                                           ensure_ascii=False)
    return "'" + text if text.startswith(_FORMULA_STARTS) else text


def _row(entry: AuditEntry) -> list[str]:
    return [_cell(entry.occurred_at.isoformat()), _cell(entry.username),
            _cell(str(entry.actor_id) if entry.actor_id else None),
            _cell(str(entry.tenant_id) if entry.tenant_id else None), _cell(entry.action),
            _cell(entry.object_type), _cell(entry.object_id), _cell(entry.ip),
            _cell(entry.user_agent), _cell(entry.correlation_id), _cell(entry.before),
            _cell(entry.after)]


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

    @extend_schema(
        summary="The filtered audit log as CSV (at most 10 000 rows, newest first); audited",
        responses={(200, "text/csv"): OpenApiResponse(OpenApiTypes.STR)},
    )
    @action(detail=False, methods=["get"], url_path="export", pagination_class=None)
    def export(self, request: Request) -> HttpResponse:
        entries = list(self.filter_queryset(self.get_queryset())[:EXPORT_MAX_ROWS])
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\r\n")
        writer.writerow(CSV_COLUMNS)
        writer.writerows(_row(e) for e in entries)
        user = acting_user(request)
        filters = {k: v for k, v in request.query_params.items() if k not in ("page",
                                                                                "page_size")}
        with transaction.atomic():
            services.record(action="audit.export", object_type="audit_log", object_id=None,
                            tenant_id=user.tenant_id, actor=user, request=request,
                            after={"filters": filters, "rows": len(entries),
                                   "truncated": len(entries) >= EXPORT_MAX_ROWS})
        stamp = timezone.now().strftime("%Y%m%dT%H%M%SZ")
        response = HttpResponse(buffer.getvalue(), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="audit-{stamp}.csv"'
        response["Cache-Control"] = "no-store"
        return response
