"""Stream ownership in Redis (``domain.ports.StreamOwnership``): one key per camera,
``<prefix>stream-owner:<camera_id>`` = the holder id of the API process whose engine runs
the stream, with a short TTL its holder renews (``SET NX PX`` to take it, a compare-and-
extend script to renew it). A replica that is killed stops renewing; once the key has
expired, the recording keeper of a surviving replica takes the camera over. A stop that
reaches another replica is left for the owner as ``<prefix>stream-stop:<camera_id>``
(expiring with the lease), which the owner takes at its next renewal."""

from __future__ import annotations

import uuid
from typing import Any

from streaming_service.infrastructure.redis_lease import RELEASE_SCRIPT, holder_id

# Extend only while we still hold it; take it again when it expired and nobody took it.
_RENEW = """
local current = redis.call('get', KEYS[1])
if current == ARGV[1] then
  return redis.call('pexpire', KEYS[1], ARGV[2])
end
if not current then
  return redis.call('set', KEYS[1], ARGV[1], 'PX', ARGV[2]) and 1 or 0
end
return 0
"""


class RedisStreamOwnership:
    def __init__(self, client: Any, prefix: str = "gtv:", *, ttl_seconds: float = 15.0,
                 holder: str | None = None) -> None:
        self._redis = client
        self._prefix = prefix
        self.ttl_seconds = ttl_seconds
        self._ttl_ms = max(1, int(ttl_seconds * 1000))
        self.holder = holder or holder_id()

    def _key(self, camera_id: uuid.UUID) -> str:
        return f"{self._prefix}stream-owner:{camera_id}"

    async def claim(self, camera_id: uuid.UUID) -> bool:
        key = self._key(camera_id)
        if await self._redis.set(key, self.holder, nx=True, px=self._ttl_ms):
            return True
        return bool(await self._redis.eval(_RENEW, 1, key, self.holder, self._ttl_ms))

    async def renew(self, camera_ids: list[uuid.UUID]) -> set[uuid.UUID]:
        held = set()
        for camera_id in camera_ids:
            if await self._redis.eval(_RENEW, 1, self._key(camera_id), self.holder,
                                      self._ttl_ms):
                held.add(camera_id)
        return held

    async def release(self, camera_id: uuid.UUID) -> None:
        await self._redis.eval(RELEASE_SCRIPT, 1, self._key(camera_id), self.holder)

    async def is_held(self, camera_id: uuid.UUID) -> bool:
        return bool(await self._redis.exists(self._key(camera_id)))

    def _stop_key(self, camera_id: uuid.UUID) -> str:
        return f"{self._prefix}stream-stop:{camera_id}"

    async def request_stop(self, camera_id: uuid.UUID) -> None:
        await self._redis.set(self._stop_key(camera_id), "1", px=self._ttl_ms)

    async def take_stop_requests(self, camera_ids: list[uuid.UUID]) -> set[uuid.UUID]:
        asked = set()
        for camera_id in camera_ids:
            if await self._redis.getdel(self._stop_key(camera_id)) is not None:
                asked.add(camera_id)
        return asked
