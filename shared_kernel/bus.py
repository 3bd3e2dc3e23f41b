"""RabbitMQ adapter (aio-pika): topology, confirmed publishing, safe consuming.

Topology: exchanges ``domain.events`` (fanout: events between contexts, one queue per
subscribing service) and ``notifications`` (topic: alerts by tenant and severity, to the
queues ``notifications.email`` and ``notifications.sms``). Every queue is durable,
holds messages for at most 24 h, and dead-letters to ``<queue>.dlq`` through the ``dlx``
exchange. Messages are persistent and published with publisher confirms.

Consumers ack manually. A handler failure is retried a bounded number of times (the
message is re-published with an ``x-retry-count`` header), then dead-lettered. Malformed,
unknown or unsupported events go straight to the dead-letter queue. Events already
handled (same event id) are acknowledged without running the handler again.
"""

from __future__ import annotations

import asyncio
import enum
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import aio_pika
from aio_pika.abc import (
    AbstractChannel,
    AbstractExchange,
    AbstractIncomingMessage,
    AbstractQueue,
    AbstractRobustConnection,
)

from shared_kernel.correlation import reset_correlation_id, set_correlation_id
from shared_kernel.events import EventEnvelope, InvalidEvent, parse_event

log = logging.getLogger(__name__)

DOMAIN_EVENTS = "domain.events"
NOTIFICATIONS = "notifications"
DEAD_LETTER_EXCHANGE = "dlx"
MESSAGE_TTL_MS = 24 * 60 * 60 * 1000
RETRY_HEADER = "x-retry-count"

EXCHANGES: dict[str, aio_pika.ExchangeType] = {
    DOMAIN_EVENTS: aio_pika.ExchangeType.FANOUT,
    NOTIFICATIONS: aio_pika.ExchangeType.TOPIC,
}


@dataclass(frozen=True)
class QueueSpec:
    name: str
    exchange: str
    routing_keys: tuple[str, ...] = ("",)


# Work queues. SPEC §4 also names a ``tasks`` exchange with ``stream.processing``,
# ``ai.detection`` and ``recording.jobs``: no work travels that way here (streams are
# controlled through the API, frames are sampled by LPR workers holding camera leases,
# recordings and exports run beside the engine), so they are not declared
# (docs/architecture.md). Consumers of ``domain.events`` get one queue per service
# (:func:`domain_events_queue`), since a fanout gives each queue a copy.
WORK_QUEUES: tuple[QueueSpec, ...] = (
    QueueSpec("notifications.email", NOTIFICATIONS, ("alerts.#",)),
    QueueSpec("notifications.sms", NOTIFICATIONS, ("alerts.*.high", "alerts.*.critical")),
)


def domain_events_queue(service: str) -> QueueSpec:
    return QueueSpec(f"{service}.domain.events", DOMAIN_EVENTS)


# The services that consume ``domain.events``. Their queues are part of the topology that
# every publisher declares, so an event published before a consumer first starts (a
# fresh deployment, a consumer restarted late) waits in its queue instead of being
# dropped by the fanout.
SUBSCRIBERS: tuple[str, ...] = ("admin", "streaming")
SUBSCRIBER_QUEUES: tuple[QueueSpec, ...] = tuple(domain_events_queue(s) for s in SUBSCRIBERS)


def queue_arguments(name: str) -> dict[str, Any]:
    return {
        "x-message-ttl": MESSAGE_TTL_MS,
        "x-dead-letter-exchange": DEAD_LETTER_EXCHANGE,
        "x-dead-letter-routing-key": name,
    }


async def connect(url: str, *, timeout: float = 10.0) -> AbstractRobustConnection:
    return await aio_pika.connect_robust(url, timeout=timeout)


async def declare_topology(
    channel: AbstractChannel, extra_queues: tuple[QueueSpec, ...] = ()
) -> dict[str, AbstractQueue]:
    """Declare exchanges, work queues, the subscribers' ``domain.events`` queues and their
    dead-letter queues. Idempotent."""
    dlx = await channel.declare_exchange(
        DEAD_LETTER_EXCHANGE, aio_pika.ExchangeType.DIRECT, durable=True
    )
    exchanges: dict[str, AbstractExchange] = {}
    for name, kind in EXCHANGES.items():
        exchanges[name] = await channel.declare_exchange(name, kind, durable=True)
    queues: dict[str, AbstractQueue] = {}
    for spec in dict.fromkeys((*WORK_QUEUES, *SUBSCRIBER_QUEUES, *extra_queues)):
        dlq = await channel.declare_queue(f"{spec.name}.dlq", durable=True)
        await dlq.bind(dlx, routing_key=spec.name)
        queue = await channel.declare_queue(
            spec.name, durable=True, arguments=queue_arguments(spec.name)
        )
        for key in spec.routing_keys:
            await queue.bind(exchanges[spec.exchange], routing_key=key)
        queues[spec.name] = queue
    return queues


def to_message(
    envelope: EventEnvelope, *, headers: dict[str, Any] | None = None
) -> aio_pika.Message:
    return aio_pika.Message(
        body=envelope.to_json(),
        content_type="application/json",
        delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
        message_id=str(envelope.event_id),
        correlation_id=envelope.correlation_id,
        type=envelope.type,
        timestamp=envelope.occurred_at,
        app_id=envelope.producer,
        headers={
            "version": envelope.version,
            "tenant_id": str(envelope.tenant_id) if envelope.tenant_id else "",
            **(headers or {}),
        },
    )


class EventPublisher:
    """Publishes envelopes with publisher confirms; ``publish`` returns once the broker
    has taken responsibility for the message (or raises)."""

    def __init__(self, channel: AbstractChannel) -> None:
        self._channel = channel
        self._exchanges: dict[str, AbstractExchange] = {}

    @classmethod
    async def open(cls, connection: AbstractRobustConnection) -> EventPublisher:
        channel = await connection.channel(publisher_confirms=True)
        await declare_topology(channel)
        return cls(channel)

    async def _exchange(self, name: str) -> AbstractExchange:
        if name not in self._exchanges:
            self._exchanges[name] = await self._channel.get_exchange(name, ensure=False)
        return self._exchanges[name]

    async def publish(
        self,
        envelope: EventEnvelope,
        *,
        exchange: str = DOMAIN_EVENTS,
        routing_key: str = "",
        timeout: float = 10.0,
    ) -> None:
        target = await self._exchange(exchange)
        await target.publish(to_message(envelope), routing_key=routing_key, timeout=timeout)


class Claim(enum.Enum):
    CLAIMED = "claimed"  # this consumer may handle the event now
    DONE = "done"  # handled before: acknowledge without handling
    IN_FLIGHT = "in_flight"  # another delivery of the same event is being handled


class IdempotencyStore(Protocol):
    """Remembers which event ids a consumer has handled, claiming them atomically so two
    concurrent deliveries of one event never both run the handler."""

    async def claim(self, consumer: str, event_id: str) -> Claim: ...

    async def complete(self, consumer: str, event_id: str) -> None: ...

    async def release(self, consumer: str, event_id: str) -> None: ...


class RedisIdempotencyStore:
    """Claims with ``SET NX`` (expiring, so a crashed handler's claim lapses), then marks
    the event done for a bounded time (longer than any redelivery)."""

    def __init__(
        self, client: Any, ttl_seconds: int = 7 * 24 * 3600, claim_seconds: int = 60
    ) -> None:
        self._redis = client
        self._ttl = ttl_seconds
        self._claim_ttl = claim_seconds

    @staticmethod
    def _key(consumer: str, event_id: str) -> str:
        return f"gtv:handled:{consumer}:{event_id}"

    async def claim(self, consumer: str, event_id: str) -> Claim:
        key = self._key(consumer, event_id)
        if await self._redis.set(key, "processing", nx=True, ex=self._claim_ttl):
            return Claim.CLAIMED
        value = await self._redis.get(key)
        if value is None:  # the other claim lapsed between our two calls
            return await self.claim(consumer, event_id)
        return Claim.DONE if value in (b"done", "done") else Claim.IN_FLIGHT

    async def complete(self, consumer: str, event_id: str) -> None:
        await self._redis.set(self._key(consumer, event_id), "done", ex=self._ttl)

    async def release(self, consumer: str, event_id: str) -> None:
        await self._redis.delete(self._key(consumer, event_id))


class NoDedupe:
    """For consumers whose handler dedupes in its own database transaction."""

    async def claim(self, consumer: str, event_id: str) -> Claim:
        return Claim.CLAIMED

    async def complete(self, consumer: str, event_id: str) -> None:
        return None

    async def release(self, consumer: str, event_id: str) -> None:
        return None


class InMemoryIdempotencyStore:
    """For unit tests only."""

    def __init__(self) -> None:
        self.state: dict[tuple[str, str], Claim] = {}

    async def claim(self, consumer: str, event_id: str) -> Claim:
        current = self.state.get((consumer, event_id))
        if current is None:
            self.state[(consumer, event_id)] = Claim.IN_FLIGHT
            return Claim.CLAIMED
        return current

    async def complete(self, consumer: str, event_id: str) -> None:
        self.state[(consumer, event_id)] = Claim.DONE

    async def release(self, consumer: str, event_id: str) -> None:
        self.state.pop((consumer, event_id), None)


EventHandler = Callable[[EventEnvelope], Awaitable[None]]


@dataclass
class ConsumerStats:
    handled: int = 0
    duplicates: int = 0
    retried: int = 0
    dead_lettered: int = 0
    by_type: dict[str, int] = field(default_factory=dict)


class EventConsumer:
    """Consumes one queue with manual acks, bounded retries, DLQ and dedupe by event id."""

    def __init__(
        self,
        channel: AbstractChannel,
        queue: AbstractQueue,
        handler: EventHandler,
        *,
        name: str,
        idempotency: IdempotencyStore,
        max_retries: int = 3,
        retry_delay: float = 0.5,
    ) -> None:
        self._channel = channel
        self._queue = queue
        self._handler = handler
        self.name = name
        self._idempotency = idempotency
        self._max_retries = max_retries
        self._retry_delay = retry_delay
        self._tag: str | None = None
        self.stats = ConsumerStats()

    async def start(self, prefetch: int = 16) -> None:
        await self._channel.set_qos(prefetch_count=prefetch)
        self._tag = await self._queue.consume(self.on_message, no_ack=False)

    async def stop(self) -> None:
        if self._tag is not None:
            await self._queue.cancel(self._tag)
            self._tag = None

    async def on_message(self, message: AbstractIncomingMessage) -> None:
        try:
            envelope = parse_event(message.body)
        except InvalidEvent as exc:
            log.warning(
                "dead-lettering invalid event",
                extra={"consumer": self.name, "reason": str(exc)[:500],
                       "message_id": message.message_id},
            )
            self.stats.dead_lettered += 1
            await message.reject(requeue=False)
            return

        token = set_correlation_id(envelope.correlation_id)
        try:
            event_id = str(envelope.event_id)
            claim = await self._idempotency.claim(self.name, event_id)
            if claim is Claim.DONE:
                self.stats.duplicates += 1
                await message.ack()
                return
            if claim is Claim.IN_FLIGHT:
                # Another delivery is being handled now; if it fails it releases the claim
                # and re-publishes, if its process dies the claim lapses. Try again later.
                await asyncio.sleep(self._retry_delay)
                await message.reject(requeue=True)
                return
            try:
                await self._handler(envelope)
            except Exception as exc:
                await self._idempotency.release(self.name, event_id)
                await self._retry_or_dead_letter(message, envelope, exc)
                return
            await self._idempotency.complete(self.name, event_id)
            self.stats.handled += 1
            self.stats.by_type[envelope.type] = self.stats.by_type.get(envelope.type, 0) + 1
            await message.ack()
        finally:
            reset_correlation_id(token)

    async def _retry_or_dead_letter(
        self, message: AbstractIncomingMessage, envelope: EventEnvelope, exc: Exception
    ) -> None:
        raw_attempt = (message.headers or {}).get(RETRY_HEADER, 0)
        attempt = raw_attempt if isinstance(raw_attempt, int) else 0
        if attempt >= self._max_retries:
            log.error(
                "handler failed; dead-lettering after retries",
                extra={"consumer": self.name, "event_id": str(envelope.event_id),
                       "event_type": envelope.type, "attempts": attempt + 1,
                       "error": repr(exc)[:500]},
            )
            self.stats.dead_lettered += 1
            await message.reject(requeue=False)
            return
        log.warning(
            "handler failed; retrying",
            extra={"consumer": self.name, "event_id": str(envelope.event_id),
                   "event_type": envelope.type, "attempt": attempt + 1,
                   "error": repr(exc)[:500]},
        )
        await asyncio.sleep(self._retry_delay * (2**attempt))
        retry = to_message(envelope, headers={RETRY_HEADER: attempt + 1})
        await self._channel.default_exchange.publish(retry, routing_key=self._queue.name)
        self.stats.retried += 1
        await message.ack()
