"""The services' asyncio Redis client: a bounded pool that makes callers wait for a free
connection rather than fail.

redis-py's default pool raises ``MaxConnectionsError`` the moment its cap is reached, so
a burst of requests (hundreds of live sockets verifying their tokens at once) turned into
500s. A blocking pool queues them for up to ``wait_seconds`` instead.
"""

from __future__ import annotations

import redis.asyncio as aioredis


def async_redis(url: str, *, max_connections: int = 64, wait_seconds: float = 5.0,
                socket_timeout: float = 5.0) -> aioredis.Redis:
    pool = aioredis.BlockingConnectionPool.from_url(
        url, max_connections=max_connections, timeout=wait_seconds,
        socket_timeout=socket_timeout, socket_connect_timeout=socket_timeout)
    return aioredis.Redis(connection_pool=pool)
