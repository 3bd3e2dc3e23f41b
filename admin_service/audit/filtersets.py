"""Filters of the audit log API: ?action=&object_type=&object_id=&actor=&tenant=&from=&to=."""

from __future__ import annotations

import django_filters
from config.filters import FilterSet, UtcDateTimeFilter

from audit.models import AuditEntry


class AuditEntryFilter(FilterSet):
    action = django_filters.CharFilter()
    action_prefix = django_filters.CharFilter(
        field_name="action", lookup_expr="startswith", label="Action starts with (recording.)"
    )
    object_type = django_filters.CharFilter()
    object_id = django_filters.CharFilter()
    actor = django_filters.UUIDFilter(field_name="actor_id")
    username = django_filters.CharFilter(lookup_expr="iexact")
    tenant = django_filters.UUIDFilter(field_name="tenant_id")
    correlation_id = django_filters.CharFilter()
    from_ = UtcDateTimeFilter(
        field_name="occurred_at", lookup_expr="gte", label="From (ISO 8601, inclusive)"
    )
    to = UtcDateTimeFilter(
        field_name="occurred_at", lookup_expr="lt", label="To (ISO 8601, exclusive)"
    )

    class Meta:
        model = AuditEntry
        fields: list[str] = []


# ``from`` is a Python keyword, so the filter is declared as ``from_`` and renamed here.
AuditEntryFilter.base_filters["from"] = AuditEntryFilter.base_filters.pop("from_")
