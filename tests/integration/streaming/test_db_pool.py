"""The streaming engine's pool against a real PostgreSQL that drops its connections: a
connection idle past ``db_ping_after_idle_seconds`` is pinged and replaced when the server
dropped it; one busy within the window is used without a ping (the cost it saves)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable

import psycopg
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from streaming_service.infrastructure.db.session import create_engine
from streaming_service.settings import StreamingSettings
from tools import db_roles


def _engine(settings: StreamingSettings, idle_seconds: float) -> AsyncEngine:
    return create_engine(settings.model_copy(update={
        "db_pool_size": 1, "db_ping_after_idle_seconds": idle_seconds}))


async def _backend(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        return int((await conn.execute(text("SELECT pg_backend_pid()"))).scalar_one())


def _terminate(database: str, pid: int) -> None:
    with psycopg.connect(db_roles.database_url(database), autocommit=True) as conn:
        assert conn.execute("SELECT pg_terminate_backend(%s)", [pid]).fetchone() == (True,)


Dropped = Callable[[float], Awaitable[tuple[AsyncEngine, int]]]


@pytest.fixture
async def dropped(streaming_settings: StreamingSettings,
                  streaming_db_name: str) -> AsyncIterator[Dropped]:
    """Makes an engine (pinging after ``idle_seconds``) whose one pooled connection, to
    backend ``pid``, the server then terminated: ``(engine, pid)``."""
    made: list[AsyncEngine] = []

    async def make(idle_seconds: float) -> tuple[AsyncEngine, int]:
        engine = _engine(streaming_settings, idle_seconds)
        made.append(engine)
        pid = await _backend(engine)
        _terminate(streaming_db_name, pid)
        return engine, pid

    yield make
    for engine in made:
        await engine.dispose()


async def test_an_idle_connection_the_server_dropped_is_replaced_before_use(
    dropped: Dropped,
) -> None:
    engine, first = await dropped(0.2)
    await asyncio.sleep(0.4)

    second = await _backend(engine)

    assert second != first


async def test_a_connection_busy_within_the_window_is_not_pinged(dropped: Dropped) -> None:
    engine, first = await dropped(60.0)

    # Used without a ping, the dropped connection fails its statement...
    with pytest.raises(DBAPIError) as caught:
        await _backend(engine)
    assert caught.value.connection_invalidated
    # ...and the disconnect invalidated the pool: the next use gets a new connection.
    assert await _backend(engine) != first


@pytest.mark.parametrize("host", ["127.0.0.1", "no-such-host.invalid"])
async def test_a_database_that_cannot_be_reached_is_named_so(
    streaming_settings: StreamingSettings, host: str
) -> None:
    """Refused, or a name that does not resolve: ``DatabaseUnreachable`` (a
    ConnectionError, answered 503), not the socket's own error."""
    from urllib.parse import urlsplit, urlunsplit

    from streaming_service.infrastructure.db.session import DatabaseUnreachable
    from tests.integration.streaming.test_camera_failures import closed_port

    url = urlsplit(streaming_settings.database_url)
    netloc = f"{url.netloc.rpartition('@')[0]}@{host}:{closed_port()}".lstrip("@")
    engine = create_engine(streaming_settings.model_copy(
        update={"database_url": urlunsplit(url._replace(netloc=netloc))}))
    try:
        with pytest.raises(DatabaseUnreachable):
            async with engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
    finally:
        await engine.dispose()
