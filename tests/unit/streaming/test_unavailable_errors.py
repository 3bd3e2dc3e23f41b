"""How the API answers when its database (or another service it connects to) cannot be
reached: 503 in the API's error shape; ``Retry-After`` only on reads, since a change
whose connection failed may have been saved; any other database error stays a 500."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI
from redis import exceptions as redis_exc
from sqlalchemy import exc as sa_exc

from streaming_service.api.errors import install_error_handlers
from streaming_service.infrastructure.db.session import DatabaseUnreachable


class _DriverError(Exception):
    def __init__(self, sqlstate: str) -> None:
        super().__init__(f"driver error {sqlstate}")
        self.sqlstate = sqlstate


def _client(error: Exception) -> httpx.AsyncClient:
    app = FastAPI()
    install_error_handlers(app)

    @app.api_route("/thing", methods=["GET", "POST"])
    async def thing() -> None:
        raise error

    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app, raise_app_exceptions=False),
        base_url="http://testserver")


def _dbapi(sqlstate: str, *, invalidated: bool = False) -> sa_exc.DBAPIError:
    return sa_exc.DBAPIError("SELECT 1", {}, _DriverError(sqlstate),
                             connection_invalidated=invalidated)


@pytest.mark.parametrize("error", [
    _dbapi("XX000", invalidated=True),  # a connection the server dropped
    _dbapi("57P03"),  # the server is starting up
    _dbapi("53300"),  # too many connections
    sa_exc.TimeoutError("QueuePool limit reached"),  # no pooled connection in time
    ConnectionRefusedError(111, "Connection refused"),
    # asyncpg's connect timeout (a DNS lookup stalled, a lost SYN), named by the engine.
    DatabaseUnreachable("cannot connect to the database: TimeoutError()"),
    ConnectionResetError(104, "Connection reset by peer"),
    redis_exc.ConnectionError("Error 111 connecting to redis:6379. Connection refused."),
    redis_exc.TimeoutError("Timeout reading from redis:6379"),
])
async def test_an_unreachable_database_is_a_503_that_a_read_may_retry(
    error: Exception,
) -> None:
    async with _client(error) as client:
        read = await client.get("/thing")
        change = await client.post("/thing")

    assert read.status_code == change.status_code == 503
    assert read.json()["error"]["code"] == change.json()["error"]["code"] == \
        "service_unavailable"
    assert read.headers["retry-after"] == "1"
    assert "retry-after" not in change.headers
    assert "may or may not" in change.json()["error"]["message"]


@pytest.mark.parametrize("error", [
    TimeoutError(),  # a statement past asyncpg's command timeout on an open connection
    OSError(5, "Input/output error"),
])
async def test_a_timeout_or_os_error_of_our_own_is_a_500_not_an_outage(error: Exception) -> None:
    async with _client(error) as client:
        response = await client.get("/thing")

    assert response.status_code == 500
    assert "retry-after" not in response.headers


async def test_any_other_database_error_stays_a_500() -> None:
    async with _client(_dbapi("23505")) as client:  # a unique violation nobody handled
        response = await client.get("/thing")

    assert response.status_code == 500
    assert response.json()["error"]["code"] == "internal_error"


async def test_a_value_the_database_refuses_is_a_400() -> None:
    error = sa_exc.DataError("INSERT", {}, _DriverError("22021"))  # e.g. a NUL in a text
    async with _client(error) as client:
        response = await client.post("/thing")

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "validation_error"


async def test_a_data_exception_of_postgresql_is_a_400() -> None:
    # asyncpg hands PostgreSQL's class 22 to SQLAlchemy as a plain DBAPIError.
    async with _client(_dbapi("22021")) as client:  # a NUL in a text value
        response = await client.post("/thing")

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "validation_error"
