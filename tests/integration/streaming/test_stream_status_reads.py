"""A tenant's stream statuses read through TrackedReads: every change is in the next read."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import replace

import pytest
import redis.asyncio as aioredis

from shared_kernel.tracked_reads import TrackedReads
from streaming_service.domain.stream import StreamState, StreamStatus
from streaming_service.infrastructure.stream_status import RedisStreamStatusCache

REDIS_URL = "redis://127.0.0.1:6379/0"


@pytest.fixture
async def statuses() -> AsyncIterator[tuple[RedisStreamStatusCache, TrackedReads]]:
    prefix = f"gtv-test-status-{uuid.uuid4().hex[:8]}:"
    client = aioredis.from_url(REDIS_URL)
    reads = TrackedReads(client, RedisStreamStatusCache.tracked_prefixes(prefix),
                         heartbeat_seconds=0.2)
    stop = asyncio.Event()
    task = asyncio.create_task(reads.run(stop))
    deadline = time.monotonic() + 5
    while not reads.live:
        assert time.monotonic() < deadline
        await asyncio.sleep(0.01)
    yield RedisStreamStatusCache(client, prefix, reads), reads
    stop.set()
    await task
    keys = [key async for key in client.scan_iter(match=f"{prefix}*")]
    if keys:
        await client.delete(*keys)
    await client.aclose()


async def test_every_change_is_in_the_next_read_and_reads_between_changes_stay_in_process(
    statuses: tuple[RedisStreamStatusCache, TrackedReads]
) -> None:
    cache, reads = statuses
    tenant = uuid.uuid4()
    first = StreamStatus(camera_id=uuid.uuid4(), tenant_id=tenant, state=StreamState.STARTING,
                         engine="ffmpeg")
    await cache.put(first)
    assert await cache.for_tenant(tenant) == [first]
    hits = reads.hits
    assert await cache.for_tenant(tenant) == [first]
    assert reads.hits == hits + 2  # the tenant's set and the statuses, both in process
    # Each document is decoded once: the same document gives back the same status object.
    assert (await cache.for_tenant(tenant))[0] is (await cache.for_tenant(tenant))[0]

    live = replace(first, state=StreamState.LIVE, bitrate_kbps=950.0)
    await cache.put(live)
    assert await cache.for_tenant(tenant) == [live]
    second = StreamStatus(camera_id=uuid.uuid4(), tenant_id=tenant, state=StreamState.LIVE,
                          engine="ffmpeg")
    await cache.put(second)
    assert sorted(await cache.for_tenant(tenant), key=lambda s: str(s.camera_id)) == sorted(
        [live, second], key=lambda s: str(s.camera_id))
    await cache.put(replace(live, state=StreamState.STOPPED))
    assert await cache.for_tenant(tenant) == [second]
    assert await cache.for_tenant(uuid.uuid4()) == []
