"""RabbitMQ consumers of the streaming service.

The camera projection consumes the service's own copy of ``domain.events``
(``streaming.domain.events``, durable, dead-lettered). Idempotency is the projection's
``processed_events`` row, written in the same transaction as the change; the bus-level
dedupe store is therefore a no-op here.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import aio_pika
from aio_pika.abc import AbstractChannel, AbstractRobustConnection

from shared_kernel import bus
from shared_kernel.events import CameraDecommissioned, EventEnvelope
from streaming_service.application.camera_projection import CameraProjection

log = logging.getLogger(__name__)

QUEUE = bus.domain_events_queue("streaming")


# The projection dedupes in its own transaction; the bus has nothing to remember.
TransactionalIdempotency = bus.NoDedupe


@dataclass
class RunningConsumer:
    connection: AbstractRobustConnection
    channel: AbstractChannel
    consumer: bus.EventConsumer

    async def close(self) -> None:
        await self.consumer.stop()
        await self.connection.close()


async def start_projection_consumer(
    amqp_url: str,
    projection: CameraProjection,
    *,
    max_retries: int = 3,
    retry_delay: float = 0.5,
    prefetch: int = 16,
) -> RunningConsumer:
    connection = await bus.connect(amqp_url)
    channel = await connection.channel()
    queues = await bus.declare_topology(channel, extra_queues=(QUEUE,))

    async def handle(envelope: EventEnvelope) -> None:
        await projection.handle(envelope)

    consumer = bus.EventConsumer(
        channel, queues[QUEUE.name], handle, name=projection.consumer,
        idempotency=TransactionalIdempotency(), max_retries=max_retries,
        retry_delay=retry_delay,
    )
    await consumer.start(prefetch=prefetch)
    log.info("camera projection consumer started", extra={"queue": QUEUE.name})
    return RunningConsumer(connection, channel, consumer)


StreamStopper = Callable[[uuid.UUID, uuid.UUID], Awaitable[None]]


async def start_stream_control_listener(
    amqp_url: str, stop_stream: StreamStopper
) -> RunningConsumer:
    """A private, exclusive queue on ``domain.events`` for this API instance: every
    instance hears every ``CameraDecommissioned`` and stops the stream if it runs it
    (the projection consumer, a competing consumer, runs in one process only)."""
    connection = await bus.connect(amqp_url)
    channel = await connection.channel()
    exchange = await channel.declare_exchange(bus.DOMAIN_EVENTS, aio_pika.ExchangeType.FANOUT,
                                              durable=True)
    queue = await channel.declare_queue(exclusive=True, auto_delete=True,
                                        arguments={"x-message-ttl": 60_000})
    await queue.bind(exchange)

    async def handle(envelope: EventEnvelope) -> None:
        if envelope.type != "CameraDecommissioned":
            return
        payload = envelope.typed_payload()
        assert isinstance(payload, CameraDecommissioned)
        await stop_stream(payload.camera_id, payload.tenant_id)

    consumer = bus.EventConsumer(channel, queue, handle, name="streaming.stream_control",
                                 idempotency=TransactionalIdempotency(), max_retries=1)
    await consumer.start(prefetch=8)
    return RunningConsumer(connection, channel, consumer)
