from __future__ import annotations

from rest_framework import serializers

from audit.models import AuditEntry


class AuditEntrySerializer(serializers.ModelSerializer):
    actor = serializers.UUIDField(source="actor_id", read_only=True, allow_null=True)

    class Meta:
        model = AuditEntry
        fields = [
            "id", "occurred_at", "actor", "username", "tenant_id", "action", "object_type",
            "object_id", "before", "after", "ip", "user_agent", "correlation_id", "event_id",
        ]
        read_only_fields = fields
