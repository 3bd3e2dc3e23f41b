"""Async engine and session factory."""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import event, exc
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from streaming_service.settings import StreamingSettings

_RETURNED_AT = "gtv_returned_at"


def create_engine(settings: StreamingSettings) -> AsyncEngine:
    engine = create_async_engine(
        settings.async_database_url,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_pool_size,
        pool_timeout=10,
        echo=settings.db_echo,
        connect_args={"timeout": 10, "command_timeout": 30},
    )
    ping_after_idle(engine, settings.db_ping_after_idle_seconds)
    return engine


def ping_after_idle(engine: AsyncEngine, seconds: float) -> None:
    """SQLAlchemy's ``pool_pre_ping``, for connections idle in the pool over ``seconds``.

    A connection that fails its ping is replaced (the pool retries the checkout with a
    new one), and a disconnect seen by any statement invalidates every older pooled
    connection, so after a database restart requests get fresh connections either way."""
    dialect = engine.dialect

    @event.listens_for(engine.sync_engine, "connect")
    @event.listens_for(engine.sync_engine, "checkin")
    def fresh(dbapi_connection: Any, record: Any) -> None:
        record.info[_RETURNED_AT] = time.monotonic()

    @event.listens_for(engine.sync_engine, "checkout")
    def checked_out(dbapi_connection: Any, record: Any, proxy: Any) -> None:
        returned_at = record.info.get(_RETURNED_AT)
        if returned_at is not None and time.monotonic() - returned_at <= seconds:
            return
        try:
            dialect.do_ping(dbapi_connection)
        except Exception as error:
            # As pool_pre_ping does: the pool retries with a new connection and replaces
            # every older pooled one too (after a restart they are all dead).
            raise exc.InvalidatePoolError(f"pooled connection failed its ping: {error!r}") \
                from error


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)
