"""Read-only Django admin for the audit log: it can be searched, never changed."""

from __future__ import annotations

import json
from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.utils.html import format_html

from audit.models import AuditEntry


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    list_display = ("occurred_at", "username", "tenant_id", "action", "object_type",
                    "object_id", "ip", "correlation_id")
    list_filter = ("action", "object_type", "tenant_id", ("occurred_at", admin.DateFieldListFilter))
    search_fields = ("username", "object_id", "=correlation_id", "=ip")
    date_hierarchy = "occurred_at"
    ordering = ("-occurred_at",)
    list_per_page = 50
    show_full_result_count = False
    fields = ("id", "occurred_at", "actor", "username", "tenant_id", "action", "object_type",
              "object_id", "before_pretty", "after_pretty", "ip", "user_agent",
              "correlation_id", "event_id")
    readonly_fields = fields

    @admin.display(description="before")
    def before_pretty(self, obj: AuditEntry) -> str:
        return _pretty(obj.before)

    @admin.display(description="after")
    def after_pretty(self, obj: AuditEntry) -> str:
        return _pretty(obj.after)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


def _pretty(value: Any) -> str:
    if value is None:
        return "-"
    return format_html("<pre>{}</pre>", json.dumps(value, indent=2, sort_keys=True))
