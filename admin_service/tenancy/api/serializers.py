from __future__ import annotations

import zoneinfo
from functools import lru_cache

from config.rest import StrictModelSerializer

from tenancy.models import Tenant


@lru_cache(maxsize=1)
def _zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


class TenantSerializer(StrictModelSerializer):
    class Meta:
        model = Tenant
        fields = ["id", "name", "slug", "timezone", "is_active", "created_at", "updated_at"]
        read_only_fields = ["id", "created_at", "updated_at"]

    def validate_timezone(self, value: str) -> str:
        if value not in _zones():
            from rest_framework.exceptions import ValidationError

            raise ValidationError("Unknown IANA time zone.")
        return value
