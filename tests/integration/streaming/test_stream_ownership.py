"""Stream ownership in the real Redis: one holder per camera, renewed by it, free again
when its holder stops renewing, and stop requests taken once by the owner."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from streaming_service.infrastructure.stream_ownership import RedisStreamOwnership


async def test_one_owner_per_camera_until_its_lease_runs_out(redis_client: Any) -> None:
    prefix = f"gtv-test-{uuid.uuid4().hex[:8]}:"
    a = RedisStreamOwnership(redis_client, prefix, ttl_seconds=1.0, holder="a")
    b = RedisStreamOwnership(redis_client, prefix, ttl_seconds=1.0, holder="b")
    camera = uuid.uuid4()
    assert await a.claim(camera)
    assert await a.claim(camera), "claiming again extends our own lease"
    assert not await b.claim(camera)
    assert await b.is_held(camera)
    assert await a.renew([camera]) == {camera}
    assert await b.renew([camera]) == set(), "b cannot renew what a holds"
    await asyncio.sleep(1.3)  # a died: it renewed no more
    assert not await a.is_held(camera)
    assert await b.claim(camera)
    assert await a.renew([camera]) == set(), "taken over: a learns it lost the camera"
    await b.release(camera)
    assert not await b.is_held(camera)
    assert await a.renew([camera]) == {camera}, "free again: renewing takes it back"


async def test_a_stop_request_is_taken_once(redis_client: Any) -> None:
    prefix = f"gtv-test-{uuid.uuid4().hex[:8]}:"
    owner = RedisStreamOwnership(redis_client, prefix, ttl_seconds=5.0, holder="a")
    other = RedisStreamOwnership(redis_client, prefix, ttl_seconds=5.0, holder="b")
    asked, quiet = uuid.uuid4(), uuid.uuid4()
    await other.request_stop(asked)
    assert await owner.take_stop_requests([asked, quiet]) == {asked}
    assert await owner.take_stop_requests([asked, quiet]) == set()
