"""EventPublisher adapter over ``shared_kernel.bus`` (aio-pika, publisher confirms)."""

from __future__ import annotations

from aio_pika.abc import AbstractRobustConnection

from shared_kernel import bus
from shared_kernel.events import EventEnvelope


class AmqpEventPublisher:
    """Publishes to ``domain.events``. Opens its connection lazily so the service starts
    (and answers ``/ready`` with the reason) while RabbitMQ is down."""

    def __init__(self, amqp_url: str, *, timeout: float = 10.0) -> None:
        self._url = amqp_url
        self._timeout = timeout
        self._connection: AbstractRobustConnection | None = None
        self._publisher: bus.EventPublisher | None = None

    async def _ensure(self) -> bus.EventPublisher:
        if self._publisher is None:
            self._connection = await bus.connect(self._url, timeout=self._timeout)
            self._publisher = await bus.EventPublisher.open(self._connection)
        return self._publisher

    async def publish(self, envelope: EventEnvelope) -> None:
        publisher = await self._ensure()
        await publisher.publish(envelope, timeout=self._timeout)

    async def ping(self) -> bool:
        await self._ensure()
        return self._connection is not None and not self._connection.is_closed

    async def close(self) -> None:
        if self._connection is not None:
            await self._connection.close()
        self._connection = None
        self._publisher = None
