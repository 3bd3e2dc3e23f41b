"""The API when PostgreSQL drops its connections (a restart, a failover): a request that
meets a dropped connection answers 503 in the API's error shape (a read with
``Retry-After``; a change without it, since its outcome is unknown), and the next request
gets a fresh connection. The app here never pings (a ping would replace the dropped
connection before use: tests/integration/streaming/test_db_pool.py)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import httpx
import psycopg
import pytest
import websockets

from streaming_service.settings import StreamingSettings
from tests.integration.ai.conftest import build_app, serve
from tools import db_roles


def _backends(database: str) -> set[int]:
    with psycopg.connect(db_roles.database_url(database), autocommit=True) as conn:
        rows = conn.execute("SELECT pid FROM pg_stat_activity WHERE datname = %s "
                            "AND pid <> pg_backend_pid()", [database]).fetchall()
    return {pid for (pid,) in rows}


def _terminate(database: str, pids: set[int]) -> None:
    with psycopg.connect(db_roles.database_url(database), autocommit=True) as conn:
        for pid in pids:
            conn.execute("SELECT pg_terminate_backend(%s)", [pid])


async def _answering(http: httpx.AsyncClient, headers: dict[str, str]) -> None:
    """Waits for a 200: after a round whose request did not meet a dropped connection,
    one may still be pooled; it answers one 503, and its failure renews the pool."""
    for _ in range(5):
        response = await http.get("/api/ai/watchlists/", headers=headers)
        if response.status_code == 200:
            return
        assert response.status_code == 503, response.text
    pytest.fail("the app kept answering 503 after its connections were dropped")


async def _on_dropped_connections(
    http: httpx.AsyncClient, database: str, theirs: set[int], headers: dict[str, str],
    method: str, url: str, body: Callable[[int], Any] | None = None,
) -> httpx.Response:
    """The response to ``method url`` sent right after the app's connections were
    dropped. The request may not meet a dropped connection (the app's background work
    met one first and renewed the pool, or opened a connection after the drop): then
    the app is brought back to answering and its connections are dropped again."""
    for attempt in range(5):
        await _answering(http, headers)
        _terminate(database, _backends(database) - theirs)
        response = await http.request(method, url, headers=headers,
                                      json=body(attempt) if body else None)
        if response.status_code == 503:
            return response
        assert response.is_success, response.text
    pytest.fail("no request met a dropped connection in 5 tries")


async def test_a_request_on_a_dropped_connection_is_a_503_and_the_retry_succeeds(
    streaming_settings: StreamingSettings, redis_client: Any, object_store: Any,
    make_caller: Any, ai_db_name: str,
) -> None:
    settings = streaming_settings.model_copy(update={"db_ping_after_idle_seconds": 3600.0})
    caller = make_caller("operator")
    theirs = _backends(ai_db_name)
    async with serve(build_app(settings, redis_client, object_store)) as server, \
            httpx.AsyncClient(base_url=server.base_url, timeout=10) as http:
        read = await _on_dropped_connections(http, ai_db_name, theirs, caller.headers,
                                             "GET", "/api/ai/watchlists/")
        assert read.headers["retry-after"] == "1"
        assert read.json()["error"]["code"] == "service_unavailable"
        # The failure renewed the pool: the very next request gets a fresh connection.
        again = await http.get("/api/ai/watchlists/", headers=caller.headers)
        assert again.status_code == 200, again.text

        change = await _on_dropped_connections(http, ai_db_name, theirs, caller.headers,
                                               "POST", "/api/ai/watchlists/",
                                               lambda attempt: {"name": f"Dropped {attempt}"})
        assert "retry-after" not in change.headers
        assert change.json()["error"]["code"] == "service_unavailable"
        assert "may or may not" in change.json()["error"]["message"]
        retried = await http.post("/api/ai/watchlists/", headers=caller.headers,
                                  json={"name": "After the drop"})
        assert retried.status_code == 201, retried.text


async def test_an_unreachable_redis_is_a_503_not_a_500(
    streaming_settings: StreamingSettings, object_store: Any, make_caller: Any,
    capfd: pytest.CaptureFixture[str],
) -> None:
    """Every request checks its token against the denylist in Redis: with Redis down the
    service answers 503 (try again), as with its database down."""
    import redis.asyncio

    from tests.integration.streaming.test_camera_failures import closed_port

    down = redis.asyncio.Redis(host="127.0.0.1", port=closed_port(), socket_timeout=2)
    caller = make_caller("viewer")
    async with serve(build_app(streaming_settings, down, object_store)) as server, \
            httpx.AsyncClient(base_url=server.base_url, timeout=10) as http:
        response = await http.get("/api/ai/watchlists/", headers=caller.headers)
        # A live socket's handshake checks the token there too: closed "try again later".
        socket = await websockets.connect(f"{server.ws_url}/ws/alerts?token={caller.token}",
                                          open_timeout=5)
        with pytest.raises(websockets.ConnectionClosed):
            await asyncio.wait_for(socket.recv(), 5)
    await down.aclose()
    assert response.status_code == 503, response.text
    assert response.json()["error"]["code"] == "service_unavailable"
    assert response.headers["retry-after"] == "1"
    assert socket.close_code == 1013
    # Closed cleanly: nothing more was sent on the socket after its close.
    assert "Exception in ASGI" not in "".join(capfd.readouterr())
