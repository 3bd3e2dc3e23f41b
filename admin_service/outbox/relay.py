"""The admin service's outbox store for the shared relay (``shared_kernel.outbox_relay``).

``manage.py run_outbox_relay`` runs the relay in its own process: it claims committed rows
of ``admin.outbox_events`` (``FOR UPDATE SKIP LOCKED``), publishes them to
``domain.events`` with publisher confirms and marks them in the claim's transaction; it
sleeps on ``LISTEN gtv_outbox`` (``outbox.services.enqueue`` notifies on commit).

The store talks to PostgreSQL with psycopg's async driver directly rather than the Django
ORM, which is synchronous and would block the event loop.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

import psycopg
from prometheus_client import Counter, Gauge

from outbox.services import NOTIFY_CHANNEL
from shared_kernel.outbox_relay import (
    AmqpRelayPublisher,
    ClaimedBatch,
    OutboxRelay,
    OutboxRow,
    RelaySettings,
)

log = logging.getLogger(__name__)

# The metric contract's name and labels (docs/observability.md), as the streaming service.
SERVICE = "admin_service"
OUTBOX_PENDING = Gauge("gtv_outbox_pending", "Outbox events not yet published", ["service"],
                       multiprocess_mode="max")
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


class RelayMetrics:
    """The relay's reports as the admin service's metrics."""

    def published(self, event_type: str) -> None:
        OUTBOX_PUBLISHED.labels(event_type=event_type).inc()

    def failed(self, event_type: str, reason: str) -> None:
        OUTBOX_FAILURES.labels(reason=reason).inc()

    def pending(self, count: int) -> None:
        OUTBOX_PENDING.labels(SERVICE).set(count)


class PostgresOutboxStore:
    """``admin.outbox_events`` for the relay (psycopg async, connections of its own)."""

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
        conn = await self._connection()
        async with conn.transaction():
            cursor = await conn.execute(CLAIM_SQL, [limit])
            rows = await cursor.fetchall()
            batch = ClaimedBatch([
                OutboxRow(key=row[0], envelope=row[1], event_type=str(row[1].get("type", "")))
                for row in rows
            ])
            yield batch
            await self._record(conn, batch)

    async def _record(self, conn: psycopg.AsyncConnection[Any], batch: ClaimedBatch) -> None:
        if batch.published:
            await conn.execute(MARK_PUBLISHED_SQL, [[r.key for r in batch.published]])
        for row, error in batch.failed:
            await conn.execute(MARK_FAILED_SQL, [error[:2000], row.key])

    async def pending_count(self) -> int:
        conn = await self._connection()
        async with conn.transaction():
            cursor = await conn.execute(PENDING_SQL)
            row = await cursor.fetchone()
        return int(row[0]) if row else 0

    async def listen(self) -> None:
        if self._listener is None or self._listener.closed:
            self._listener = await psycopg.AsyncConnection.connect(
                self._conninfo, autocommit=True
            )
            await self._listener.execute(f"LISTEN {NOTIFY_CHANNEL}")

    async def wait_for_commit(self, timeout: float) -> bool:
        await self.listen()
        assert self._listener is not None
        async for _ in self._listener.notifies(timeout=timeout, stop_after=1):
            return True
        return False

    async def reset(self) -> None:
        await self.close()

    async def close(self) -> None:
        for conn in (self._conn, self._listener):
            if conn is not None and not conn.closed:
                with contextlib.suppress(Exception):
                    await conn.close()
        self._conn = self._listener = None


def build_relay(
    amqp_url: str, *, store: PostgresOutboxStore | None = None,
    settings: RelaySettings | None = None,
) -> OutboxRelay:
    """The admin service's relay: its outbox to ``domain.events``."""
    return OutboxRelay(store=store or PostgresOutboxStore.from_django(),
                       publisher=AmqpRelayPublisher(amqp_url), settings=settings,
                       observer=RelayMetrics(), name="admin")
