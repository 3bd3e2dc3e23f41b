"""The outbox relay: publishes committed outbox events to RabbitMQ, then marks them sent.

It runs in its own process (``manage.py run_outbox_relay``) as an asyncio loop:

1. claim a batch of unpublished events, oldest first, with ``FOR UPDATE SKIP LOCKED``
   so several relays can run side by side without publishing an event twice;
2. publish each with publisher confirms to ``domain.events``;
3. set ``published_at`` on the confirmed ones, in the same transaction as the claim.

Delivery is at-least-once: a relay that dies between the broker's confirm and the commit
leaves the event pending, and it is published again; consumers dedupe by event id.
When the broker is unreachable the relay logs, backs off (capped exponential) and keeps
every event pending. It sleeps on ``LISTEN gtv_outbox`` (``outbox.services.enqueue``
notifies on commit) with a poll interval as the fallback.

The relay talks to PostgreSQL with psycopg's async driver directly rather than the
Django ORM, which is synchronous and would block the event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import aio_pika
import psycopg
from prometheus_client import Counter, Gauge
from pydantic import ValidationError

from outbox.services import NOTIFY_CHANNEL
from shared_kernel.bus import DOMAIN_EVENTS, EventPublisher
from shared_kernel.events import EventEnvelope
from shared_kernel.masking import mask_urls_in_text

log = logging.getLogger(__name__)

OUTBOX_PENDING = Gauge("gtv_outbox_pending_events", "Outbox events not yet published")
OUTBOX_PUBLISHED = Counter(
    "gtv_outbox_published_total", "Outbox events published and confirmed", ["event_type"]
)
OUTBOX_FAILURES = Counter(
    "gtv_outbox_publish_failures_total", "Failed attempts to publish outbox events", ["reason"]
)

CLAIM_SQL = """
    SELECT event_id, envelope
    FROM admin.outbox_events
    WHERE published_at IS NULL
    ORDER BY created_at, event_id
    LIMIT %s
    FOR UPDATE SKIP LOCKED
"""
MARK_PUBLISHED_SQL = """
    UPDATE admin.outbox_events
    SET published_at = now(), attempts = attempts + 1, last_error = ''
    WHERE event_id = ANY(%s)
"""
MARK_FAILED_SQL = """
    UPDATE admin.outbox_events
    SET attempts = attempts + 1, last_error = %s
    WHERE event_id = %s
"""
PENDING_SQL = "SELECT count(*) FROM admin.outbox_events WHERE published_at IS NULL"


class BrokerUnavailable(RuntimeError):
    """Publishing failed: the broker is unreachable or did not confirm."""


class Publisher(Protocol):
    async def publish(self, envelope: EventEnvelope) -> None: ...

    async def close(self) -> None: ...


PublisherFactory = Callable[[], Awaitable[Publisher]]


class AmqpPublisher:
    """:class:`shared_kernel.bus.EventPublisher` (confirms) on a connection of its own.

    A plain (not robust) connection: when the broker goes away we want the error now,
    so the relay backs off and keeps events pending, not a publish that hangs.
    """

    def __init__(
        self,
        connection: aio_pika.abc.AbstractConnection,
        publisher: EventPublisher,
        *,
        publish_timeout: float = 10.0,
    ) -> None:
        self._connection = connection
        self._publisher = publisher
        self.publish_timeout = publish_timeout

    @classmethod
    def factory(
        cls, url: str, *, connect_timeout: float = 5.0, publish_timeout: float = 10.0
    ) -> PublisherFactory:
        async def open_publisher() -> Publisher:
            connection = await aio_pika.connect(url, timeout=connect_timeout)
            try:
                publisher = await EventPublisher.open(connection)  # type: ignore[arg-type]
            except BaseException:
                await connection.close()
                raise
            return cls(connection, publisher, publish_timeout=publish_timeout)

        return open_publisher

    async def publish(self, envelope: EventEnvelope) -> None:
        await self._publisher.publish(
            envelope, exchange=DOMAIN_EVENTS, timeout=self.publish_timeout
        )

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await self._connection.close()


@dataclass
class PendingEvent:
    event_id: Any
    envelope: dict[str, Any]


@dataclass
class ClaimedBatch:
    """Events claimed (row-locked) by this relay until the claim's transaction ends."""

    events: list[PendingEvent]
    published: list[Any] = field(default_factory=list)
    failed: list[tuple[Any, str]] = field(default_factory=list)


class PostgresOutboxStore:
    """The relay's access to ``admin.outbox_events`` (psycopg async, its own connection)."""

    def __init__(self, conninfo: str) -> None:
        self._conninfo = conninfo
        self._conn: psycopg.AsyncConnection[Any] | None = None
        self._listener: psycopg.AsyncConnection[Any] | None = None

    @classmethod
    def from_django(cls, alias: str = "default") -> PostgresOutboxStore:
        from django.db import connections

        cfg = connections[alias].settings_dict
        conninfo = psycopg.conninfo.make_conninfo(
            dbname=cfg["NAME"],
            user=cfg.get("USER") or None,
            password=cfg.get("PASSWORD") or None,
            host=cfg.get("HOST") or None,
            port=str(cfg.get("PORT") or "") or None,
            connect_timeout=5,
            application_name="gtv-outbox-relay",
        )
        return cls(conninfo)

    async def _connection(self) -> psycopg.AsyncConnection[Any]:
        if self._conn is None or self._conn.closed:
            self._conn = await psycopg.AsyncConnection.connect(self._conninfo)
        return self._conn

    @contextlib.asynccontextmanager
    async def claim(self, limit: int) -> AsyncIterator[ClaimedBatch]:
        """Lock up to ``limit`` pending events; on exit record what happened to them.

        The marks commit with the claim. If the body raises (or the process dies), the
        transaction rolls back: the events stay pending, as if never claimed.
        """
        conn = await self._connection()
        async with conn.transaction():
            cursor = await conn.execute(CLAIM_SQL, [limit])
            rows = await cursor.fetchall()
            batch = ClaimedBatch([PendingEvent(row[0], row[1]) for row in rows])
            yield batch
            await self._record(conn, batch)

    async def _record(self, conn: psycopg.AsyncConnection[Any], batch: ClaimedBatch) -> None:
        if batch.published:
            await conn.execute(MARK_PUBLISHED_SQL, [batch.published])
        for event_id, error in batch.failed:
            await conn.execute(MARK_FAILED_SQL, [error[:2000], event_id])

    async def pending_count(self) -> int:
        conn = await self._connection()
        async with conn.transaction():
            cursor = await conn.execute(PENDING_SQL)
            row = await cursor.fetchone()
        return int(row[0]) if row else 0

    async def wait_for_notify(self, timeout: float) -> bool:
        """Sleep until an outbox commit notifies us or ``timeout`` passes."""
        if self._listener is None or self._listener.closed:
            self._listener = await psycopg.AsyncConnection.connect(
                self._conninfo, autocommit=True
            )
            await self._listener.execute(f"LISTEN {NOTIFY_CHANNEL}")
        async for _ in self._listener.notifies(timeout=timeout, stop_after=1):
            return True
        return False

    async def close(self) -> None:
        for conn in (self._conn, self._listener):
            if conn is not None and not conn.closed:
                with contextlib.suppress(Exception):
                    await conn.close()
        self._conn = self._listener = None


@dataclass
class RelayResult:
    published: int = 0
    failed: bool = False
    error: str = ""


class OutboxRelay:
    def __init__(
        self,
        *,
        store: PostgresOutboxStore,
        publisher_factory: PublisherFactory,
        batch_size: int = 100,
        poll_interval: float = 5.0,
        backoff_initial: float = 0.5,
        backoff_max: float = 30.0,
    ) -> None:
        self.store = store
        self._publisher_factory = publisher_factory
        self._publisher: Publisher | None = None
        self.batch_size = batch_size
        self.poll_interval = poll_interval
        self.backoff_initial = backoff_initial
        self.backoff_max = backoff_max
        self.published_total = 0

    async def _ensure_publisher(self) -> Publisher:
        if self._publisher is None:
            try:
                self._publisher = await self._publisher_factory()
            except Exception as exc:
                OUTBOX_FAILURES.labels(reason="connect").inc()
                raise BrokerUnavailable(f"cannot connect to the broker: {exc!r}") from exc
        return self._publisher

    async def _drop_publisher(self) -> None:
        if self._publisher is not None:
            publisher, self._publisher = self._publisher, None
            await publisher.close()

    async def publish_batch(self) -> int:
        """Claim one batch and publish it; return how many were published.

        Raises :class:`BrokerUnavailable` after recording the failure on the event that
        failed; the events confirmed before it are still marked published.
        """
        failure: BaseException | None = None
        async with self.store.claim(self.batch_size) as batch:
            if not batch.events:
                return 0
            publisher = await self._ensure_publisher()
            for pending in batch.events:
                try:
                    envelope = EventEnvelope.model_validate(pending.envelope)
                except ValidationError as exc:
                    # A row no consumer could parse: leave it pending with the reason,
                    # don't let it block the rest.
                    log.error("outbox event has an invalid envelope",
                              extra={"event_id": str(pending.event_id), "error": str(exc)[:500]})
                    batch.failed.append((pending.event_id, f"invalid envelope: {exc}"))
                    OUTBOX_FAILURES.labels(reason="invalid").inc()
                    continue
                try:
                    await publisher.publish(envelope)
                except Exception as exc:
                    failure = exc
                    batch.failed.append((pending.event_id, mask_urls_in_text(repr(exc))))
                    OUTBOX_FAILURES.labels(reason="publish").inc()
                    break
                batch.published.append(pending.event_id)
                OUTBOX_PUBLISHED.labels(event_type=envelope.type).inc()
        self.published_total += len(batch.published)
        if failure is not None:
            await self._drop_publisher()
            raise BrokerUnavailable(f"publish failed: {failure!r}") from failure
        return len(batch.published)

    async def drain(self) -> int:
        """Publish until nothing claimable is left; return how many were published."""
        total = 0
        while True:
            published = await self.publish_batch()
            total += published
            if published < self.batch_size:
                break
        await self._update_pending_gauge()
        return total

    async def _update_pending_gauge(self) -> None:
        with contextlib.suppress(Exception):
            OUTBOX_PENDING.set(await self.store.pending_count())

    async def run_once(self) -> RelayResult:
        """One drain, no retries (``--once``): reports failure instead of waiting."""
        try:
            return RelayResult(published=await self.drain())
        except BrokerUnavailable as exc:
            await self._update_pending_gauge()
            log.warning("outbox relay could not publish; events stay pending",
                        extra={"error": mask_urls_in_text(str(exc))[:500]})
            return RelayResult(published=0, failed=True, error=str(exc))
        finally:
            await self.close()

    async def run_forever(self, stop: asyncio.Event) -> None:
        backoff = self.backoff_initial
        retry = 0
        while not stop.is_set():
            try:
                published = await self.drain()
                if published:
                    log.info("outbox events published", extra={"count": published})
                backoff, retry = self.backoff_initial, 0
            except (BrokerUnavailable, psycopg.OperationalError) as exc:
                retry += 1
                log.warning(
                    "outbox relay failed; retrying",
                    extra={"retry": retry, "retry_in_s": backoff,
                           "error": mask_urls_in_text(str(exc))[:500]},
                )
                if isinstance(exc, psycopg.OperationalError):
                    await self.store.close()
                await self._sleep(stop, backoff)
                backoff = min(backoff * 2, self.backoff_max)
                continue
            await self._wait_for_work(stop)
        await self.close()

    async def _wait_for_work(self, stop: asyncio.Event) -> None:
        notified = asyncio.ensure_future(self.store.wait_for_notify(self.poll_interval))
        stopped = asyncio.ensure_future(stop.wait())
        try:
            await asyncio.wait({notified, stopped}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (notified, stopped):
                task.cancel()
            with contextlib.suppress(BaseException):
                await notified
        if notified.done() and not notified.cancelled() and notified.exception() is not None:
            # The listener connection broke: reconnect on the next wait, poll meanwhile.
            await self.store.close()

    @staticmethod
    async def _sleep(stop: asyncio.Event, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=seconds)

    async def close(self) -> None:
        await self._drop_publisher()
        await self.store.close()
