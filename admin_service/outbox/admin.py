"""Read-only Django admin for the outbox: what was published, what is stuck and why."""

from __future__ import annotations

import json
from typing import Any

from audit.services import mask_secrets
from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html

from outbox.models import OutboxEvent


class PublishedFilter(admin.SimpleListFilter):
    title = "published"
    parameter_name = "published"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("yes", "Published"), ("no", "Pending")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if self.value() == "yes":
            return queryset.filter(published_at__isnull=False)
        if self.value() == "no":
            return queryset.filter(published_at__isnull=True)
        return queryset


@admin.register(OutboxEvent)
class OutboxEventAdmin(admin.ModelAdmin):
    list_display = ("created_at", "event_type", "version", "tenant_id", "published_at",
                    "attempts", "short_error")
    list_filter = (PublishedFilter, "event_type")
    search_fields = ("=event_id", "event_type")
    date_hierarchy = "created_at"
    ordering = ("-created_at",)
    readonly_fields = ("event_id", "event_type", "version", "tenant_id", "envelope_masked",
                       "created_at", "published_at", "attempts", "last_error")
    fields = readonly_fields

    @admin.display(description="envelope")
    def envelope_masked(self, obj: OutboxEvent) -> str:
        # Camera events carry the encrypted RTSP URL: no need to show even the ciphertext.
        return format_html(
            "<pre>{}</pre>", json.dumps(mask_secrets(obj.envelope), indent=2, sort_keys=True)
        )

    @admin.display(description="last error")
    def short_error(self, obj: OutboxEvent) -> str:
        return obj.last_error[:80]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
