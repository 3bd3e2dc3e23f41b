"""The streaming service's transactional outbox (``streaming.outbox_events``) and its relay.

Use cases call :meth:`SqlOutbox.add` inside the SQLAlchemy transaction of their change, so
the event commits with the change or not at all. ``add`` also queues a ``pg_notify`` on
:data:`NOTIFY_CHANNEL`, which PostgreSQL delivers only on commit. One event may go to
several destinations (``also_to``): one row each, all carrying the same envelope. Besides
RabbitMQ exchanges, a destination may be the tenant's live feed
(:data:`~streaming_service.domain.ai_ports.LIVE_FEED`, a Redis Stream read by ``WS
/ws/alerts``).

:class:`OutboxRelay` publishes committed rows:

1. claim a batch of pending rows of its lane, oldest first, ``FOR UPDATE SKIP LOCKED``
   (relays in several processes never take the same row);
2. publish each to its row's destination: a RabbitMQ exchange and routing key with
   publisher confirms (:class:`AmqpRelayPublisher`), or the tenant's live feed
   (:class:`LiveFeedRelayPublisher`, idempotent by event id);
3. set ``published_at`` on the confirmed ones in the claim's transaction.

A relay process runs two lanes side by side (:func:`build_relays` in
``workers.outbox_relay``): the broker lane (every destination but the live feed) and the
live lane, so a RabbitMQ outage never holds back the live feed, nor Redis the broker.

Delivery is at least once: a relay that dies between the broker's confirm and its commit
leaves the row pending and it is published again; consumers dedupe by event id. While the
broker is down the relay backs off (capped, exponential) and every row stays pending. It
sleeps on ``LISTEN`` with a poll interval as the fallback. It runs as its own process
(``python -m streaming_service.workers.outbox_relay``) or inside the API
(``GTV_OUTBOX_RELAY_IN_PROCESS``); both at once is safe.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

import aio_pika
import asyncpg
from aio_pika.abc import AbstractConnection
from pydantic import ValidationError
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared_kernel import bus
from shared_kernel.events import EventEnvelope, EventPayload, new_event
from shared_kernel.masking import mask_urls_in_text
from streaming_service.application.metrics import StreamingMetrics
from streaming_service.domain.ai_ports import LiveFeed
from streaming_service.infrastructure.db.models import OutboxEvent

log = logging.getLogger(__name__)

PRODUCER = "streaming_service"
NOTIFY_CHANNEL = "gtv_streaming_outbox"


class OutboxNotInTransaction(RuntimeError):
    """``add`` was called on a session with no open transaction."""


class SqlOutbox:
    """The :class:`~streaming_service.domain.ports.Outbox` port over SQLAlchemy."""

    async def add(
        self,
        session: AsyncSession,
        payload: EventPayload,
        *,
        tenant_id: uuid.UUID | None,
        exchange: str = bus.DOMAIN_EVENTS,
        routing_key: str = "",
        also_to: Sequence[tuple[str, str]] = (),
    ) -> EventEnvelope:
        if not session.in_transaction():
            raise OutboxNotInTransaction(
                "Outbox.add() must run inside the transaction of the change it describes")
        envelope = new_event(payload, producer=PRODUCER, tenant_id=tenant_id)
        body = envelope.model_dump(mode="json")
        for destination, key in ((exchange, routing_key), *also_to):
            session.add(OutboxEvent(
                id=uuid.uuid4(), event_id=envelope.event_id, event_type=envelope.type,
                version=envelope.version, tenant_id=envelope.tenant_id, exchange=destination,
                routing_key=key, envelope=body, attempts=0,
            ))
        await session.execute(text("SELECT pg_notify(:channel, '')"),
                              {"channel": NOTIFY_CHANNEL})
        return envelope


# --- publishing ----------------------------------------------------------------------------


class RelayPublisher(Protocol):
    """What the relay publishes through: confirmed publishing to a named exchange."""

    async def publish(
        self, envelope: EventEnvelope, *, exchange: str, routing_key: str
    ) -> None: ...

    async def close(self) -> None:
        """Drop the connection; the next ``publish`` opens a new one."""
        ...


class AmqpRelayPublisher:
    """:class:`shared_kernel.bus.EventPublisher` (publisher confirms) on a plain, lazily
    opened connection. Not a robust connection: when the broker goes away the relay wants
    the error now, to back off with its rows pending, not a publish that hangs."""

    def __init__(self, amqp_url: str, *, connect_timeout: float = 5.0,
                 publish_timeout: float = 10.0) -> None:
        self._url = amqp_url
        self._connect_timeout = connect_timeout
        self._publish_timeout = publish_timeout
        self._connection: AbstractConnection | None = None
        self._publisher: bus.EventPublisher | None = None

    async def _ensure(self) -> bus.EventPublisher:
        if self._publisher is None:
            connection = await aio_pika.connect(self._url, timeout=self._connect_timeout)
            try:
                self._publisher = await bus.EventPublisher.open(connection)  # type: ignore[arg-type]
            except BaseException:
                await connection.close()
                raise
            self._connection = connection
        return self._publisher

    async def publish(self, envelope: EventEnvelope, *, exchange: str, routing_key: str) -> None:
        publisher = await self._ensure()
        await publisher.publish(envelope, exchange=exchange, routing_key=routing_key,
                                timeout=self._publish_timeout)

    async def close(self) -> None:
        connection, self._connection, self._publisher = self._connection, None, None
        if connection is not None:
            with contextlib.suppress(Exception):
                await connection.close()


class LiveFeedRelayPublisher:
    """Publishes the live lane's rows to the tenant's live feed. The feed's ``append`` is
    idempotent by event id, so a row appended again (a relay that died before its commit)
    is not shown twice."""

    def __init__(self, live: LiveFeed) -> None:
        self._live = live

    async def publish(self, envelope: EventEnvelope, *, exchange: str, routing_key: str) -> None:
        if envelope.tenant_id is None:
            log.error("live-feed event without a tenant; dropped",
                      extra={"event_id": str(envelope.event_id), "event_type": envelope.type})
            return
        await self._live.append(envelope)

    async def close(self) -> None:
        return None


# --- waking up -----------------------------------------------------------------------------


class PgNotifyListener:
    """``LISTEN`` on a connection of its own (asyncpg); ``wait`` returns early when an
    outbox commit notified. A broken connection is reopened on the next ``wait``."""

    def __init__(self, dsn: str, channel: str = NOTIFY_CHANNEL) -> None:
        self._dsn = dsn
        self._channel = channel
        self._conn: asyncpg.Connection | None = None
        self._woken = asyncio.Event()

    def _on_notify(self, *_: Any) -> None:
        self._woken.set()

    async def start(self) -> None:
        if self._conn is None or self._conn.is_closed():
            self._conn = await asyncpg.connect(self._dsn, timeout=10)
            await self._conn.add_listener(self._channel, self._on_notify)
            # Anything committed before we listened is found by the next drain anyway.

    async def wait(self, timeout: float) -> bool:
        """True when notified (possibly before this call), False on timeout."""
        try:
            await self.start()
        except Exception as exc:
            log.warning("outbox LISTEN unavailable; polling",
                        extra={"error": repr(exc)[:300]})
            await self.close()
        try:
            await asyncio.wait_for(self._woken.wait(), timeout)
        except TimeoutError:
            return False
        finally:
            self._woken.clear()
        return True

    async def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None and not conn.is_closed():
            with contextlib.suppress(Exception):
                await conn.close()


# --- the relay -----------------------------------------------------------------------------


class BrokerUnavailable(RuntimeError):
    """Publishing failed: the broker is unreachable or did not confirm."""


@dataclass(frozen=True)
class RelaySettings:
    batch_size: int = 100
    poll_interval: float = 5.0
    backoff_initial: float = 0.5
    backoff_max: float = 30.0


class OutboxRelay:
    """Publishes the pending rows of one lane: those whose destination (``exchange``) is
    in ``exchanges`` (all when None) and not in ``skip_exchanges``."""

    def __init__(
        self,
        *,
        sessions: async_sessionmaker[AsyncSession],
        publisher: RelayPublisher,
        listener: PgNotifyListener | None = None,
        metrics: StreamingMetrics | None = None,
        settings: RelaySettings | None = None,
        exchanges: Collection[str] | None = None,
        skip_exchanges: Collection[str] = (),
        name: str = "broker",
    ) -> None:
        self._sessions = sessions
        self._publisher = publisher
        self._listener = listener
        self._metrics = metrics
        self.settings = settings or RelaySettings()
        self._exchanges = tuple(exchanges) if exchanges is not None else None
        self._skip_exchanges = tuple(skip_exchanges)
        self.name = name
        self.published_total = 0

    async def publish_batch(self) -> int:
        """Claim one batch, publish it, mark what the broker confirmed; return how many.

        Raises :class:`BrokerUnavailable` once the batch's marks are committed: the rows
        confirmed before the failure are published, the failing one notes the error."""
        failure: Exception | None = None
        published = 0
        lane = [OutboxEvent.published_at.is_(None)]
        if self._exchanges is not None:
            lane.append(OutboxEvent.exchange.in_(self._exchanges))
        if self._skip_exchanges:
            lane.append(OutboxEvent.exchange.not_in(self._skip_exchanges))
        async with self._sessions() as session, session.begin():
            rows: Sequence[OutboxEvent] = (await session.execute(
                select(OutboxEvent)
                .where(*lane)
                .order_by(OutboxEvent.created_at, OutboxEvent.id)
                .limit(self.settings.batch_size)
                .with_for_update(skip_locked=True)
            )).scalars().all()
            for row in rows:
                try:
                    envelope = EventEnvelope.model_validate(row.envelope)
                except ValidationError as exc:
                    # Cannot happen for rows written by SqlOutbox; keep it, say why.
                    log.error("outbox row has an invalid envelope",
                              extra={"outbox_id": str(row.id), "error": str(exc)[:500]})
                    row.attempts += 1
                    row.last_error = f"invalid envelope: {exc}"[:2000]
                    continue
                try:
                    await self._publisher.publish(envelope, exchange=row.exchange,
                                                  routing_key=row.routing_key)
                except Exception as exc:
                    failure = exc
                    row.attempts += 1
                    row.last_error = mask_urls_in_text(repr(exc))[:2000]
                    if self._metrics is not None:
                        self._metrics.event_publish_failures.labels(row.event_type).inc()
                    break
                row.published_at = datetime.now(UTC)
                row.attempts += 1
                row.last_error = None
                published += 1
                if self._metrics is not None:
                    self._metrics.events_published.labels(row.event_type).inc()
        self.published_total += published
        if failure is not None:
            await self._publisher.close()
            raise BrokerUnavailable(
                f"publish failed: {mask_urls_in_text(repr(failure))[:500]}") from failure
        return published

    async def drain_once(self) -> int:
        """Publish until nothing claimable is left; return how many were published."""
        total = 0
        while True:
            published = await self.publish_batch()
            total += published
            if published < self.settings.batch_size:
                break
        await self._update_pending_gauge()
        return total

    async def pending_count(self) -> int:
        async with self._sessions() as session:
            return int((await session.execute(
                select(func.count()).select_from(OutboxEvent)
                .where(OutboxEvent.published_at.is_(None)))).scalar_one())

    async def _update_pending_gauge(self) -> None:
        if self._metrics is not None:
            with contextlib.suppress(Exception):
                self._metrics.outbox_pending.set(await self.pending_count())

    async def run(self, stop: asyncio.Event) -> None:
        """Drain, then sleep until notified or the poll interval passes; back off while
        the broker or the database is unreachable. Returns when ``stop`` is set."""
        backoff = self.settings.backoff_initial
        failures = 0
        try:
            while not stop.is_set():
                if self._listener is not None:
                    # Listen before draining, so a commit in between still wakes us.
                    with contextlib.suppress(Exception):
                        await self._listener.start()
                try:
                    published = await self.drain_once()
                except Exception as exc:
                    failures += 1
                    await self._update_pending_gauge()
                    log.warning(
                        "outbox relay could not publish; events stay pending",
                        extra={"lane": self.name, "retry": failures, "retry_in_s": backoff,
                               "error": mask_urls_in_text(repr(exc))[:500]},
                    )
                    await _sleep(stop, backoff)
                    backoff = min(backoff * 2, self.settings.backoff_max)
                    continue
                if failures:
                    log.info("outbox relay recovered",
                             extra={"lane": self.name, "after_failures": failures})
                backoff, failures = self.settings.backoff_initial, 0
                if published:
                    log.info("outbox events published",
                             extra={"lane": self.name, "count": published})
                await self._wait_for_work(stop)
        finally:
            await self.close()

    async def _wait_for_work(self, stop: asyncio.Event) -> None:
        interval = self.settings.poll_interval
        if self._listener is None:
            await _sleep(stop, interval)
            return
        woken = asyncio.ensure_future(self._listener.wait(interval))
        stopped = asyncio.ensure_future(stop.wait())
        try:
            await asyncio.wait({woken, stopped}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (woken, stopped):
                task.cancel()
            for task in (woken, stopped):
                with contextlib.suppress(BaseException):
                    await task

    async def close(self) -> None:
        await self._publisher.close()
        if self._listener is not None:
            await self._listener.close()


async def _sleep(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=seconds)
