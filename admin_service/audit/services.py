"""Writing audit entries: the one way any part of the admin service records an action.

``record`` is called inside the caller's transaction, so an audited change and its audit
entry commit (or roll back) together. Secrets never reach the audit table: values under
sensitive keys become ``"***"`` and credentials inside URLs are masked.
"""

from __future__ import annotations

import ipaddress
import json
import re
import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from config.proxies import client_ip
from django.core.serializers.json import DjangoJSONEncoder

from audit.models import AuditEntry
from shared_kernel.correlation import get_correlation_id
from shared_kernel.masking import mask_urls_in_text

MASK = "***"
_CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f]")
# Keys whose values are replaced wholesale, compared case-insensitively.
SENSITIVE_KEYS = frozenset(
    {
        "password",
        "password1",
        "password2",
        "new_password",
        "old_password",
        "rtsp_url",
        "rtsp_url_encrypted",
        "token",
        "access",
        "refresh",
        "secret",
        "authorization",
        "api_key",
    }
)
# Any key containing one of these fragments is sensitive too (``client_secret``...).
SENSITIVE_FRAGMENTS = ("password", "secret", "token", "credential", "private_key", "api_key")
USER_AGENT_MAX = 512


def is_sensitive_key(key: str) -> bool:
    lowered = key.lower()
    return lowered in SENSITIVE_KEYS or any(f in lowered for f in SENSITIVE_FRAGMENTS)


def mask_secrets(value: Any) -> Any:
    """A JSON-safe copy of ``value`` with secrets masked, recursively."""
    if isinstance(value, Mapping):
        return {
            str(k): (MASK if is_sensitive_key(str(k)) and v not in (None, "") else mask_secrets(v))
            for k, v in value.items()
        }
    if isinstance(value, (list, tuple, set, frozenset)):
        return [mask_secrets(v) for v in value]
    if isinstance(value, str):
        return mask_urls_in_text(value)
    if value is None or isinstance(value, (bool, int, float)):
        return value
    # UUIDs, datetimes, decimals... become their JSON form.
    return mask_secrets(json.loads(json.dumps(value, cls=DjangoJSONEncoder)))


def _valid_ip(value: str | None) -> str | None:
    if not value:
        return None
    try:
        return str(ipaddress.ip_address(value.strip()))
    except ValueError:
        return None


def _actor_of(actor: Any, request: Any) -> Any:
    if actor is None and request is not None:
        actor = getattr(request, "user", None)
    if actor is None or not getattr(actor, "is_authenticated", False):
        return None
    return actor


def record(
    *,
    action: str,
    object_type: str,
    object_id: str | None,
    tenant_id: uuid.UUID | None,
    actor: Any = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    request: Any = None,
    username: str = "",
    event_id: uuid.UUID | None = None,
    ip: str | None = None,
    user_agent: str | None = None,
    occurred_at: datetime | None = None,
) -> AuditEntry:
    """Insert one audit entry; call it inside the transaction of the audited change.

    ``actor`` defaults to the request's authenticated user; ``username`` defaults to the
    actor's username (pass it explicitly for e.g. a failed login). IP and user agent come
    from ``request`` unless given; the correlation id comes from the current context.
    """
    user = _actor_of(actor, request)
    if not username and user is not None:
        username = str(user.get_username())
    meta = getattr(request, "META", {}) if request is not None else {}
    if ip is None and request is not None:
        ip = client_ip(request)
    if user_agent is None:
        user_agent = str(meta.get("HTTP_USER_AGENT", "") or "")
    # Control characters (a NUL is refused by PostgreSQL) never reach the log.
    user_agent = _CONTROL_CHARACTERS.sub("", user_agent)
    return AuditEntry.objects.create(
        action=action,
        object_type=object_type,
        object_id=str(object_id)[:128] if object_id is not None else None,
        tenant_id=tenant_id,
        actor=user,
        username=username[:150],
        before=mask_secrets(before) if before is not None else None,
        after=mask_secrets(after) if after is not None else None,
        ip=_valid_ip(ip),
        user_agent=user_agent[:USER_AGENT_MAX],
        correlation_id=(get_correlation_id() or "")[:128],
        event_id=event_id,
        **({"occurred_at": occurred_at} if occurred_at is not None else {}),
    )
