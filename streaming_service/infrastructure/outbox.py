"""The streaming service's transactional outbox (``streaming.outbox_events``) and its
store for the shared relay (``shared_kernel.outbox_relay``).

Use cases call :meth:`SqlOutbox.add` inside the SQLAlchemy transaction of their change, so
the event commits with the change or not at all. ``add`` also queues a ``pg_notify`` on
:data:`NOTIFY_CHANNEL`, which PostgreSQL delivers only on commit. One event may go to
several destinations (``also_to``): one row each, all carrying the same envelope. Besides
RabbitMQ exchanges, a destination may be the tenant's live feed
(:data:`~streaming_service.domain.ai.ports.LIVE_FEED`, a Redis Stream read by ``WS
/ws/alerts``).

A relay process runs two lanes side by side (``workers.outbox_relay.build_relays``): the
broker lane (every destination but the live feed) and the live lane, each an
:class:`~shared_kernel.outbox_relay.OutboxRelay` over a :class:`SqlOutboxStore` that
claims only its lane's rows, so a RabbitMQ outage never holds back the live feed, nor
Redis the broker. It runs as its own process (``python -m
streaming_service.workers.outbox_relay``) or inside the API
(``GTV_OUTBOX_RELAY_IN_PROCESS``); both at once is safe.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import uuid
from collections.abc import AsyncIterator, Collection, Sequence
from datetime import UTC, datetime
from typing import Any

import asyncpg
from sqlalchemy import Executable, Text, any_, bindparam, func, insert, select, update
from sqlalchemy.dialects.postgresql import ARRAY, UUID
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared_kernel import bus
from shared_kernel.events import EventEnvelope, EventPayload, new_event
from shared_kernel.outbox_relay import ClaimedBatch, OutboxRow
from streaming_service.domain.ai.ports import LiveFeed
from streaming_service.infrastructure.db.models import OutboxEvent
from streaming_service.infrastructure.metrics import StreamingMetrics

log = logging.getLogger(__name__)

PRODUCER = "streaming_service"
NOTIFY_CHANNEL = "gtv_streaming_outbox"


class OutboxNotInTransaction(RuntimeError):
    """``add`` was called on a session with no open transaction."""


_OUTBOX_COLUMNS = ("id", "event_id", "event_type", "version", "tenant_id", "exchange",
                   "routing_key", "envelope", "attempts")


@functools.cache
def _insert_and_notify(rows: int) -> Executable:
    """``rows`` outbox rows inserted and the NOTIFY queued (PostgreSQL sends it on
    commit), in one statement and one round trip: a single-row INSERT CTE per row, every
    value a bound parameter. Built once per row count, so SQLAlchemy compiles it once; a
    multi-row VALUES of literal rows is not cacheable and was compiled anew per event."""
    statement = select(func.pg_notify(bindparam("channel"), ""))
    for i in range(rows):
        added = insert(OutboxEvent).values(
            {column: bindparam(f"{column}_{i}") for column in _OUTBOX_COLUMNS})
        statement = statement.add_cte(added.cte(f"added_{i}"))
    return statement


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
        destinations = ((exchange, routing_key), *also_to)
        params: dict[str, Any] = {"channel": NOTIFY_CHANNEL}
        for i, (destination, key) in enumerate(destinations):
            params.update({
                f"id_{i}": uuid.uuid4(), f"event_id_{i}": envelope.event_id,
                f"event_type_{i}": envelope.type, f"version_{i}": envelope.version,
                f"tenant_id_{i}": envelope.tenant_id, f"exchange_{i}": destination,
                f"routing_key_{i}": key, f"envelope_{i}": body, f"attempts_{i}": 0})
        await session.execute(_insert_and_notify(len(destinations)), params)
        return envelope


# --- publishing to the live feed -----------------------------------------------------------


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


# --- the store the relay claims from ------------------------------------------------------


class SqlOutboxStore:
    """One lane of ``streaming.outbox_events``: the pending rows whose destination is in
    ``exchanges`` (all when None) and not in ``skip_exchanges``, claimed and marked
    through SQLAlchemy; woken by the outbox's NOTIFY when given a ``listener``. Each claim
    is a session (a pooled connection) of its own, so the relay may hold two at once and
    pipeline its drain (``overlapping_claims``)."""

    overlapping_claims = True

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        *,
        listener: PgNotifyListener | None = None,
        exchanges: Collection[str] | None = None,
        skip_exchanges: Collection[str] = (),
    ) -> None:
        self._sessions = sessions
        self._listener = listener
        self._exchanges = tuple(exchanges) if exchanges is not None else None
        self._skip_exchanges = tuple(skip_exchanges)

    @contextlib.asynccontextmanager
    async def claim(self, limit: int) -> AsyncIterator[ClaimedBatch]:
        lane = [OutboxEvent.published_at.is_(None)]
        if self._exchanges is not None:
            lane.append(OutboxEvent.exchange.in_(self._exchanges))
        if self._skip_exchanges:
            lane.append(OutboxEvent.exchange.not_in(self._skip_exchanges))
        async with self._sessions() as session, session.begin():
            # Core statements, not ORM objects: a batch is claimed in one query and its
            # published rows marked in one UPDATE (the relay's throughput depends on it).
            # The envelope as its JSON text: the relay parses and validates it in one step
            # (pydantic), not json.loads here and validation there.
            rows = (await session.execute(
                select(OutboxEvent.id, OutboxEvent.envelope.cast(Text).label("envelope"),
                       OutboxEvent.event_type,
                       OutboxEvent.exchange, OutboxEvent.routing_key).where(*lane)
                .order_by(OutboxEvent.created_at, OutboxEvent.id)
                .limit(limit).with_for_update(skip_locked=True)
            )).all()
            batch = ClaimedBatch([
                OutboxRow(key=row.id, envelope=row.envelope, event_type=row.event_type,
                          exchange=row.exchange, routing_key=row.routing_key)
                for row in rows
            ])
            yield batch
            if batch.published:
                # One array parameter, not one per row: the same prepared statement for
                # every batch size.
                await session.execute(
                    update(OutboxEvent)
                    .where(OutboxEvent.id == any_(
                        bindparam("published", [r.key for r in batch.published],
                                  type_=ARRAY(UUID(as_uuid=True)))))
                    .values(published_at=datetime.now(UTC), attempts=OutboxEvent.attempts + 1,
                            last_error=None)
                    .execution_options(synchronize_session=False))
            for failed, error in batch.failed:
                await session.execute(
                    update(OutboxEvent).where(OutboxEvent.id == failed.key)
                    .values(attempts=OutboxEvent.attempts + 1, last_error=error[:2000])
                    .execution_options(synchronize_session=False))

    async def pending_count(self) -> int:
        async with self._sessions() as session:
            return int((await session.execute(
                select(func.count()).select_from(OutboxEvent)
                .where(OutboxEvent.published_at.is_(None)))).scalar_one())

    async def listen(self) -> None:
        if self._listener is not None:
            await self._listener.start()

    async def wait_for_commit(self, timeout: float) -> bool:
        if self._listener is None:
            await asyncio.sleep(timeout)
            return False
        return await self._listener.wait(timeout)

    async def reset(self) -> None:
        if self._listener is not None:
            await self._listener.close()

    async def close(self) -> None:
        await self.reset()


class RelayMetrics:
    """The relay's reports as the streaming service's metrics (``gtv_events_published_total``
    and friends); the live lane reports none, so an event is counted once."""

    def __init__(self, metrics: StreamingMetrics) -> None:
        self._metrics = metrics

    def published(self, event_type: str) -> None:
        self._metrics.events_published.labels(event_type).inc()

    def failed(self, event_type: str, reason: str) -> None:
        self._metrics.event_publish_failures.labels(event_type).inc()

    def pending(self, count: int) -> None:
        self._metrics.outbox_pending.set(count)
