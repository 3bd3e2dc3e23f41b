"""Is RabbitMQ reachable? The readiness check's probe (``GET /ready``).

Events never go out from a request: they are written to the outbox and published by the
relay. The probe keeps one lazily opened connection, so the service starts (and ``/ready``
says why it is not ready) while RabbitMQ is down.
"""

from __future__ import annotations

from aio_pika.abc import AbstractRobustConnection

from shared_kernel import bus


class BrokerProbe:
    def __init__(self, amqp_url: str, *, timeout: float = 10.0) -> None:
        self._url = amqp_url
        self._timeout = timeout
        self._connection: AbstractRobustConnection | None = None

    async def ping(self) -> bool:
        if self._connection is None:
            self._connection = await bus.connect(self._url, timeout=self._timeout)
        return not self._connection.is_closed

    async def close(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            await connection.close()
