"""Plates seen lately, per tenant, in Redis: one sorted set ``<prefix>lpr:recent:<tenant>``
whose members are ``<camera_id>|<plate>`` scored by the time last seen. Written by the LPR
workers (every recorded vehicle, and every plate still in view), read when a watchlist
entry is added ("seen recently"). Entries older than the horizon are trimmed on write and
the key expires when a tenant's cameras go quiet."""

from __future__ import annotations

import time
import uuid
from typing import Any

from streaming_service.domain.ai.ports import RecentPlate


class RedisRecentPlates:
    def __init__(self, client: Any, *, prefix: str = "gtv:", horizon_seconds: float = 600.0
                 ) -> None:
        self._redis = client
        self._prefix = prefix
        self._horizon = max(1.0, horizon_seconds)

    def _key(self, tenant_id: uuid.UUID) -> str:
        return f"{self._prefix}lpr:recent:{tenant_id}"

    async def seen(self, tenant_id: uuid.UUID, camera_id: uuid.UUID,
                   plates: dict[str, float]) -> None:
        if not plates:
            return
        key = self._key(tenant_id)
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.zadd(key, {f"{camera_id}|{plate}": at for plate, at in plates.items()},
                      gt=True)
            pipe.zremrangebyscore(key, "-inf", f"({time.time() - self._horizon}")
            pipe.expire(key, int(self._horizon) + 60)
            await pipe.execute()

    async def since(self, tenant_id: uuid.UUID, after: float) -> list[RecentPlate]:
        rows = await self._redis.zrevrangebyscore(self._key(tenant_id), "+inf", f"({after}",
                                                  withscores=True)
        result: list[RecentPlate] = []
        for member, score in rows:
            text = member.decode() if isinstance(member, bytes) else str(member)
            camera, _, plate = text.partition("|")
            try:
                result.append(RecentPlate(uuid.UUID(camera), plate, float(score)))
            except ValueError:
                continue
        return result
