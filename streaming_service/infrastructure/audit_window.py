"""The audit trail's view window in Redis: ``SET NX PX`` per user, action and object."""

from __future__ import annotations

from typing import Any


class RedisViewWindow:
    def __init__(self, redis: Any, prefix: str) -> None:
        self._redis = redis
        self._prefix = f"{prefix}audit-view:"

    async def first_in(self, key: str, seconds: float) -> bool:
        return bool(await self._redis.set(f"{self._prefix}{key}", "1", nx=True,
                                          px=max(1, int(seconds * 1000))))

    async def forget(self, key: str) -> None:
        await self._redis.delete(f"{self._prefix}{key}")
