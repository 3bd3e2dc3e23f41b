"""Audit entries for what other services report (LGPD).

The streaming service publishes ``RecordingAccessed`` when someone plays or exports
recorded video, ``AlertAcknowledged`` when an operator acknowledges an alert and
``UserActivityRecorded`` for everything else a user does or views there (live views,
snapshots, thumbnails, plate searches, watchlists, stream and recording control); the
admin service owns the audit log, so it records them here. Each event becomes at most one
entry: ``AuditEntry.event_id`` is unique, so a redelivered event writes nothing.
"""

from __future__ import annotations

import logging
from typing import Any

from asgiref.sync import sync_to_async
from django.contrib.auth import get_user_model
from django.db import IntegrityError, close_old_connections, transaction

from audit.models import AuditEntry
from audit.services import record
from shared_kernel.events import (
    AlertAcknowledged,
    AlertAcknowledgedV1,
    EventEnvelope,
    RecordingAccessed,
    UserActivityRecorded,
)

log = logging.getLogger(__name__)

CONSUMER_NAME = "admin.audit"


def _user(user_id: Any) -> tuple[Any, str]:
    user = get_user_model().objects.filter(pk=user_id).first()
    return (user, user.get_username()) if user is not None else (None, "")


def _entry_for(envelope: EventEnvelope) -> dict[str, Any] | None:
    payload = envelope.typed_payload()
    if isinstance(payload, RecordingAccessed):
        user, username = _user(payload.user_id)
        is_export = payload.action == "export"
        return {
            "action": f"recording.{payload.action}",
            "object_type": "export" if is_export and payload.export_id else "recording",
            "object_id": str(
                (payload.export_id if is_export else payload.recording_id)
                or payload.recording_id or payload.camera_id
            ),
            "tenant_id": payload.tenant_id,
            "actor": user,
            "username": username or str(payload.user_id),
            "after": payload.model_dump(mode="json", exclude={"ip"}),
            "ip": payload.ip,
        }
    if isinstance(payload, AlertAcknowledgedV1):  # version 2 too (a subclass)
        user, username = _user(payload.user_id)
        v2 = isinstance(payload, AlertAcknowledged)
        return {
            "action": "alert.acknowledge",
            "object_type": "alert",
            "object_id": str(payload.alert_id),
            "tenant_id": payload.tenant_id,
            "actor": user,
            "username": username or str(payload.user_id),
            "after": payload.model_dump(mode="json", exclude={"ip", "user_agent"}),
            "ip": payload.ip if v2 else None,
            "user_agent": (payload.user_agent or None) if v2 else None,
        }
    if isinstance(payload, UserActivityRecorded):
        user, username = _user(payload.user_id) if payload.user_id else (None, "")
        return {
            "action": payload.action,
            "object_type": payload.object_type,
            "object_id": payload.object_id,
            "tenant_id": payload.tenant_id,
            "actor": user,
            "username": username or payload.username or str(payload.user_id or ""),
            "before": payload.before,
            "after": payload.after,
            "ip": payload.ip,
            "user_agent": payload.user_agent or None,
        }
    return None


def record_event(envelope: EventEnvelope) -> AuditEntry | None:
    """Write the audit entry an event calls for; ``None`` if it needs none or has one."""
    fields = _entry_for(envelope)
    if fields is None:
        return None
    if AuditEntry.objects.filter(event_id=envelope.event_id).exists():
        return None
    try:
        user_agent = fields.pop("user_agent", None) or f"event:{envelope.producer}"
        with transaction.atomic():
            return record(
                **fields,
                event_id=envelope.event_id,
                occurred_at=envelope.occurred_at,
                user_agent=user_agent,
            )
    except IntegrityError:
        # A concurrent delivery of the same event won the race on the unique event_id.
        log.info("event already audited", extra={"event_id": str(envelope.event_id)})
        return None


async def handle_domain_event(envelope: EventEnvelope) -> None:
    """The :class:`shared_kernel.bus.EventConsumer` handler of the admin's queue."""
    await sync_to_async(_record_event_in_worker, thread_sensitive=True)(envelope)


def _record_event_in_worker(envelope: EventEnvelope) -> None:
    # What Django does around each request: drop connections past CONN_MAX_AGE or broken.
    close_old_connections()
    record_event(envelope)
