"""Publishing the streaming context's events without letting a broker hiccup break the
use case that produced them (the failure is logged and counted)."""

from __future__ import annotations

import logging
import uuid

from shared_kernel.events import EventPayload, new_event
from streaming_service.application.metrics import StreamingMetrics
from streaming_service.domain.ports import EventPublisher

log = logging.getLogger(__name__)

PRODUCER = "streaming_service"


async def publish_event(
    publisher: EventPublisher,
    payload: EventPayload,
    *,
    tenant_id: uuid.UUID | None,
    metrics: StreamingMetrics | None = None,
    raise_on_failure: bool = False,
) -> bool:
    envelope = new_event(payload, producer=PRODUCER, tenant_id=tenant_id)
    try:
        await publisher.publish(envelope)
    except Exception as exc:
        log.error(
            "could not publish event",
            extra={"event_type": envelope.type, "event_id": str(envelope.event_id),
                   "error": repr(exc)[:300]},
        )
        if metrics is not None:
            metrics.event_publish_failures.labels(envelope.type).inc()
        if raise_on_failure:
            raise
        return False
    if metrics is not None:
        metrics.events_published.labels(envelope.type).inc()
    return True
