"""A short exclusive lease in Redis (``SET NX PX``, renewed by its holder), so exactly one
of several API replicas does a periodic job at a time. A holder that dies stops renewing
and the lease expires; another replica takes it at its next attempt."""

from __future__ import annotations

import functools
import os
import socket
import uuid
from typing import Any

# Renew or release only while we still hold it (the value is our holder id).
_RENEW = """
if redis.call('get', KEYS[1]) == ARGV[1] then
  return redis.call('pexpire', KEYS[1], ARGV[2])
end
return 0
"""
RELEASE_SCRIPT = """
if redis.call('get', KEYS[1]) == ARGV[1] then
  return redis.call('del', KEYS[1])
end
return 0
"""


def holder_id() -> str:
    """Who holds a lease: this host and process, and a random part for a reused pid."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class RedisLease:
    def __init__(self, client: Any, key: str, *, ttl_seconds: float,
                 holder: str | None = None) -> None:
        self._redis = client
        self.key = key
        self._ttl_ms = max(1, int(ttl_seconds * 1000))
        self.holder = holder or holder_id()

    async def acquire(self) -> bool:
        """Take the lease, or extend it when we already hold it. False: someone else has it."""
        if await self._redis.set(self.key, self.holder, nx=True, px=self._ttl_ms):
            return True
        return bool(await self._redis.eval(_RENEW, 1, self.key, self.holder, self._ttl_ms))

    async def release(self) -> None:
        await self._redis.eval(RELEASE_SCRIPT, 1, self.key, self.holder)


class RedisClaims:
    """One-off claims on items of shared work: a :class:`RedisLease` per item,
    ``<prefix><item>``. Of the processes that see the same item, the one whose claim lands
    does it; a claim its holder never gives back (it died) expires."""

    def __init__(self, client: Any, prefix: str, *, ttl_seconds: float,
                 holder: str | None = None) -> None:
        self._lease = functools.partial(RedisLease, client, ttl_seconds=ttl_seconds,
                                        holder=holder or holder_id())
        self._prefix = prefix

    async def claim(self, item: str) -> bool:
        return await self._lease(f"{self._prefix}{item}").acquire()

    async def release(self, item: str) -> None:
        await self._lease(f"{self._prefix}{item}").release()
