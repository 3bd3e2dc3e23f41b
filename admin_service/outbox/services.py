"""Enqueueing domain events into the outbox, inside the caller's transaction."""

from __future__ import annotations

import json
import uuid

from django.db import connection

from outbox.models import OutboxEvent
from shared_kernel.events import EventPayload, new_event

PRODUCER = "admin_service"
NOTIFY_CHANNEL = "gtv_outbox"


class OutboxNotInTransaction(RuntimeError):
    """``enqueue`` was called outside ``transaction.atomic()``."""


def enqueue(payload: EventPayload, *, tenant_id: uuid.UUID | None) -> OutboxEvent:
    """Store ``payload`` as an event to publish once the current transaction commits.

    Must run inside ``transaction.atomic()`` together with the change the event
    describes: both commit or neither does. The ``pg_notify`` is transactional too, so
    the relay is woken only after the commit (and never for a rolled-back event).
    """
    if not connection.in_atomic_block:
        raise OutboxNotInTransaction(
            "outbox.enqueue() must be called inside transaction.atomic() with the change"
        )
    envelope = new_event(payload, producer=PRODUCER, tenant_id=tenant_id)
    event = OutboxEvent.objects.create(
        event_id=envelope.event_id,
        event_type=envelope.type,
        version=envelope.version,
        tenant_id=envelope.tenant_id,
        envelope=json.loads(envelope.to_json()),
        created_at=envelope.occurred_at,
    )
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_notify(%s, %s)", [NOTIFY_CHANNEL, str(envelope.event_id)])
    return event
