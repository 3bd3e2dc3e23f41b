"""AMQP publisher of the AI context: domain events to ``domain.events`` and alert
notifications to the ``notifications`` topic exchange (``alerts.<tenant>.<severity>``)."""

from __future__ import annotations

import asyncio

from aio_pika.abc import AbstractRobustConnection

from shared_kernel import bus
from shared_kernel.events import EventEnvelope


class AmqpAiPublisher:
    """Connects lazily (the service starts while RabbitMQ is down) and publishes with
    publisher confirms."""

    def __init__(self, amqp_url: str, *, timeout: float = 10.0) -> None:
        self._url = amqp_url
        self._timeout = timeout
        self._connection: AbstractRobustConnection | None = None
        self._publisher: bus.EventPublisher | None = None
        self._lock = asyncio.Lock()

    async def _ensure(self) -> bus.EventPublisher:
        async with self._lock:
            if self._publisher is None:
                self._connection = await bus.connect(self._url, timeout=self._timeout)
                self._publisher = await bus.EventPublisher.open(self._connection)
            return self._publisher

    async def publish(self, envelope: EventEnvelope) -> None:
        publisher = await self._ensure()
        await publisher.publish(envelope, timeout=self._timeout)

    async def publish_notification(self, envelope: EventEnvelope, routing_key: str) -> None:
        publisher = await self._ensure()
        await publisher.publish(
            envelope, exchange=bus.NOTIFICATIONS, routing_key=routing_key, timeout=self._timeout
        )

    async def close(self) -> None:
        if self._connection is not None:
            await self._connection.close()
        self._connection = None
        self._publisher = None
