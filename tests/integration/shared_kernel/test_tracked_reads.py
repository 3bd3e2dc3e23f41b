"""TrackedReads against the real Redis: kept values, the invalidations that drop them, and
what happens when the tracking connection is lost."""

from __future__ import annotations

import asyncio
import os
import threading
import time
import uuid
from collections.abc import AsyncIterator, Iterator

import pytest
import redis
import redis.asyncio as aioredis

from shared_kernel.tracked_reads import ThreadTrackedReads, TrackedReads

REDIS_URL = "redis://127.0.0.1:6379/0"


@pytest.fixture
def prefix() -> str:
    return f"gtv:test-tracked:{uuid.uuid4().hex[:8]}:"


@pytest.fixture
async def writer(prefix: str) -> AsyncIterator[aioredis.Redis]:
    client = aioredis.from_url(REDIS_URL)
    yield client
    keys = [key async for key in client.scan_iter(match=f"{prefix}*")]
    if keys:
        await client.delete(*keys)
    await client.aclose()


@pytest.fixture
async def reads(prefix: str) -> AsyncIterator[TrackedReads]:
    client = aioredis.from_url(REDIS_URL)
    tracked = TrackedReads(client, [prefix], heartbeat_seconds=0.25, retry_seconds=0.1)
    stop = asyncio.Event()
    task = asyncio.create_task(tracked.run(stop))
    await _until(lambda: tracked.live)
    yield tracked
    stop.set()
    await asyncio.wait_for(task, 5)
    await client.aclose()


async def _until(condition, timeout: float = 5.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.01)


async def test_a_read_is_kept_and_every_write_is_seen_by_the_next_read(
    reads: TrackedReads, writer: aioredis.Redis, prefix: str
) -> None:
    key = f"{prefix}jti"
    assert await reads.mget([key]) == [None]
    assert await reads.mget([key]) == [None]
    assert (reads.misses, reads.hits) == (1, 1)
    # A write from another connection, then at once a read: never the old value.
    for n in range(200):
        await writer.set(key, str(n))
        assert await reads.mget([key]) == [str(n).encode()]
        assert await reads.mget([key]) == [str(n).encode()]
    assert reads.hits > 100
    await writer.delete(key)
    assert await reads.mget([key]) == [None]


async def test_keys_outside_the_prefixes_are_never_kept(
    reads: TrackedReads, writer: aioredis.Redis, prefix: str
) -> None:
    other = f"gtv:test-untracked:{uuid.uuid4().hex}"
    try:
        await writer.set(other, "1")
        for _ in range(3):
            assert await reads.mget([f"{prefix}a", other]) == [None, b"1"]
        assert reads.hits == 0
    finally:
        await writer.delete(other)


async def test_an_expired_key_is_dropped(
    reads: TrackedReads, writer: aioredis.Redis, prefix: str
) -> None:
    key = f"{prefix}short"
    await writer.set(key, "1", px=100)
    assert await reads.mget([key]) == [b"1"]
    await asyncio.sleep(0.15)
    await writer.exists(key)  # an access expires it now, as Redis's own sweep would soon
    assert await reads.mget([key]) == [None]


async def test_a_killed_tracking_connection_drops_what_is_kept_and_comes_back(
    reads: TrackedReads, writer: aioredis.Redis, prefix: str
) -> None:
    key = f"{prefix}k"
    await writer.set(key, "before")
    await reads.mget([key])
    assert await reads.mget([key]) == [b"before"]
    hits = reads.hits
    tracking = reads.tracking_client_id
    assert tracking is not None
    assert any(int(c["id"]) == tracking and "t" in c["flags"]
               for c in await writer.client_list())
    await writer.client_kill_filter(_id=tracking)
    await _until(lambda: not reads.live, timeout=2)
    await writer.set(key, "after")  # no connection tracks this write
    assert await reads.mget([key]) == [b"after"]
    assert reads.hits == hits
    await _until(lambda: reads.live)
    assert await reads.mget([key]) == [b"after"]


async def test_a_silent_redis_stops_the_reads_from_memory(
    reads: TrackedReads, writer: aioredis.Redis, prefix: str
) -> None:
    key = f"{prefix}p"
    await reads.mget([key])
    assert reads.live
    # Paused longer than two heartbeats of 0.25 s: the loss must be seen within the pause.
    await writer.execute_command("CLIENT", "PAUSE", "1500", "ALL")
    await _until(lambda: not reads.live, timeout=1.5)
    await _until(lambda: reads.live)
    hits = reads.hits
    await reads.mget([key])
    assert reads.hits == hits  # nothing from before the pause was kept


@pytest.fixture
def thread_reads(prefix: str) -> Iterator[ThreadTrackedReads]:
    client = redis.Redis.from_url(REDIS_URL)
    tracked = ThreadTrackedReads(client, [prefix], heartbeat_seconds=0.25, retry_seconds=0.1)
    tracked.mget([f"{prefix}warm-up"])  # the first read starts the thread
    _wait_until(lambda: tracked.live)
    yield tracked
    tracked.stop()
    client.close()


def _wait_until(condition, timeout: float = 5.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.01)


def _ten_hits_in_a_row(reads: ThreadTrackedReads, key: str, value: bytes) -> bool:
    hits = reads.hits
    for _ in range(10):
        assert reads.mget([key]) == [value]
    return reads.hits == hits + 10


def test_threads_see_every_write_in_the_next_read(
    thread_reads: ThreadTrackedReads, prefix: str
) -> None:
    writer = redis.Redis.from_url(REDIS_URL)
    key = f"{prefix}user"
    try:
        thread_reads.mget([key])
        for n in range(200):
            writer.set(key, str(n))
            assert thread_reads.mget([key]) == [str(n).encode()]
            assert thread_reads.mget([key]) == [str(n).encode()]
        # Without writes, reads are answered from memory (once the thread caught up, and
        # unless a starved machine made it miss a heartbeat).
        _wait_until(lambda: _ten_hits_in_a_row(thread_reads, key, b"199"))
    finally:
        writer.delete(key)
        writer.close()


def test_a_thread_whose_connection_is_killed_or_silent_reads_from_redis_until_it_is_back(
    thread_reads: ThreadTrackedReads, prefix: str
) -> None:
    writer = redis.Redis.from_url(REDIS_URL)
    key = f"{prefix}state"
    try:
        writer.set(key, "before")
        thread_reads.mget([key])
        assert thread_reads.mget([key]) == [b"before"]
        writer.client_kill_filter(_id=thread_reads.client_id)
        _wait_until(lambda: not thread_reads.live, timeout=2)
        writer.set(key, "after")
        assert thread_reads.mget([key]) == [b"after"]
        _wait_until(lambda: thread_reads.live)
        writer.execute_command("CLIENT", "PAUSE", "1500", "ALL")
        _wait_until(lambda: not thread_reads.live, timeout=1.5)
        _wait_until(lambda: thread_reads.live)
        hits = thread_reads.hits
        assert thread_reads.mget([key]) == [b"after"]
        assert thread_reads.hits == hits
    finally:
        writer.delete(key)
        writer.close()


def test_a_forked_worker_tracks_on_its_own_connection(
    thread_reads: ThreadTrackedReads, prefix: str
) -> None:
    """What gunicorn does: a worker forked from a process that already tracked."""
    key = f"{prefix}forked"
    thread_reads.mget([key])
    parent_id = thread_reads.client_id
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report and leave without running pytest's teardown
        try:
            assert not thread_reads.live  # nothing of the parent's tracking is used
            thread_reads.mget([key])
            _wait_until(lambda: thread_reads.live)
            thread_reads.mget([key])
            hits = thread_reads.hits
            thread_reads.mget([key])
            report = f"{thread_reads.client_id} {thread_reads.hits - hits}"
        except BaseException as exc:  # whatever it is, the parent reports it
            report = f"error {exc!r}"
        os.write(write_end, report.encode())
        os._exit(0)
    os.close(write_end)
    _, status = os.waitpid(pid, 0)
    report = os.read(read_end, 1000).decode()
    os.close(read_end)
    assert status == 0
    assert not report.startswith("error"), report
    child_id, hits = report.split()
    assert int(child_id) != parent_id
    assert int(hits) == 1


def test_many_threads_read_at_once(thread_reads: ThreadTrackedReads, prefix: str) -> None:
    """gunicorn's threads: reads at the same moment from several threads, while the key
    changes, never fail and never answer a value older than the last write they saw."""
    writer = redis.Redis.from_url(REDIS_URL)
    key = f"{prefix}shared"
    writer.set(key, "0")
    written = [0]
    failures: list[str] = []

    def reader() -> None:
        try:
            for _ in range(400):
                floor = written[0]
                (value,) = thread_reads.mget([key])
                if int(value) < floor:
                    failures.append(f"read {int(value)} after {floor} was written")
        except Exception as exc:
            failures.append(repr(exc))

    threads = [threading.Thread(target=reader) for _ in range(8)]
    try:
        for thread in threads:
            thread.start()
        for n in range(1, 50):
            writer.set(key, str(n))
            written[0] = n
            time.sleep(0.002)
        for thread in threads:
            thread.join(timeout=30)
        assert failures == []
        assert thread_reads.hits > 0
    finally:
        writer.delete(key)
        writer.close()
