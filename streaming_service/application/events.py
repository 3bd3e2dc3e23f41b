"""Recording the streaming context's events in the outbox.

Events of a database change are added with ``outbox.add(session, ...)`` inside the
change's own transaction (see the use cases). :func:`record_event` is for state events
with no row of their own (a stream started, failed, stopped in the engine): it writes the
event in a transaction of its own, so it is durable once recorded and the relay delivers
it even while the broker is down. A failure to record is logged and counted; the state
change it describes has already happened and is not undone.
"""

from __future__ import annotations

import logging
import uuid

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared_kernel.events import EventPayload
from streaming_service.domain.ports import Outbox, StreamTelemetry

log = logging.getLogger(__name__)


async def record_event(
    sessions: async_sessionmaker[AsyncSession],
    outbox: Outbox,
    payload: EventPayload,
    *,
    tenant_id: uuid.UUID | None,
    metrics: StreamTelemetry | None = None,
) -> bool:
    try:
        async with sessions() as session, session.begin():
            await outbox.add(session, payload, tenant_id=tenant_id)
    except Exception as exc:
        log.error(
            "could not record event in the outbox",
            extra={"event_type": payload.event_type, "error": repr(exc)[:300]},
        )
        if metrics is not None:
            metrics.event_not_recorded(payload.event_type)
        return False
    return True
