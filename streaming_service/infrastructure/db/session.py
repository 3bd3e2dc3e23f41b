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


class DatabaseUnreachable(ConnectionError):
    """A new connection to the database could not be opened: refused, the name did not
    resolve, or the connect timed out. A ConnectionError, which the API answers 503; a
    statement that times out on an open connection stays what it is."""


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
    name_connect_failures(engine)
    return engine


def name_connect_failures(engine: AsyncEngine) -> None:
    """Opening a connection raises :class:`DatabaseUnreachable` on a network failure.
    asyncpg raises the socket's own ``OSError`` or ``TimeoutError`` (its connect timeout
    covers the DNS lookup: a lookup that stalls after a container restart), and
    SQLAlchemy passes them on unwrapped, indistinguishable from a bug or a slow query."""

    @event.listens_for(engine.sync_engine, "do_connect")
    def connect(dialect: Any, record: Any, cargs: Any, cparams: Any) -> Any:
        try:
            return dialect.connect(*cargs, **cparams)
        except OSError as error:  # TimeoutError, ConnectionRefusedError, socket.gaierror
            raise DatabaseUnreachable(f"cannot connect to the database: {error!r}") from error


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
