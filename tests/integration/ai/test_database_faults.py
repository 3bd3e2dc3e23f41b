"""The API when PostgreSQL drops its connections (a restart, a failover): a request that
meets a dropped connection answers a clean, retryable 503 in the API's error shape, and
the next request gets a fresh connection. The app here never pings (a ping would replace
the dropped connection before use: tests/integration/streaming/test_db_pool.py)."""

from __future__ import annotations

from typing import Any

import httpx
import psycopg

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


async def test_a_request_on_a_dropped_connection_is_a_503_and_the_retry_succeeds(
    streaming_settings: StreamingSettings, redis_client: Any, object_store: Any,
    make_caller: Any, ai_db_name: str,
) -> None:
    settings = streaming_settings.model_copy(update={"db_ping_after_idle_seconds": 3600.0})
    caller = make_caller("operator")
    before = _backends(ai_db_name)
    async with serve(build_app(settings, redis_client, object_store)) as server, \
            httpx.AsyncClient(base_url=server.base_url, timeout=10) as http:
        # The app's background work may meet a dropped connection first and so replace
        # the pool before the request does: then drop them again.
        for _ in range(5):
            warm = await http.get("/api/ai/watchlists/", headers=caller.headers)
            assert warm.status_code == 200, warm.text
            _terminate(ai_db_name, _backends(ai_db_name) - before)
            failed = await http.get("/api/ai/watchlists/", headers=caller.headers)
            if failed.status_code != 200:
                break
        assert failed.status_code == 503, failed.text
        assert failed.headers["retry-after"] == "1"
        assert failed.json()["error"]["code"] == "service_unavailable"

        retried = await http.get("/api/ai/watchlists/", headers=caller.headers)

        assert retried.status_code == 200, retried.text
