"""TrackedReads against the real Redis: kept values, the invalidations that drop them, and
what happens when the tracking connection is lost."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import threading
import time
import uuid
from collections.abc import AsyncIterator, Iterator

import pytest
import redis
import redis.asyncio as aioredis

from shared_kernel.tracked_reads import ThreadTrackedReads, TrackedReads

REDIS_URL = "redis://127.0.0.1:6379/0"


class SilentableProxy:
    """A TCP proxy to Redis that can stop passing bytes on (a silent network, for this
    process's connections only: Redis itself keeps serving everyone else)."""

    def __init__(self) -> None:
        self._server = socket.create_server(("127.0.0.1", 0))
        self.url = f"redis://127.0.0.1:{self._server.getsockname()[1]}/0"
        self.silent = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._server.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", 6379))
            for source, target in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pass, args=(source, target), daemon=True).start()

    def _pass(self, source: socket.socket, target: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                while self.silent.is_set():
                    time.sleep(0.01)
                target.sendall(data)
        except OSError:
            pass
        finally:
            for end in (source, target):
                with contextlib.suppress(OSError):
                    end.shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        self._server.close()


@pytest.fixture
def proxy() -> Iterator[SilentableProxy]:
    silentable = SilentableProxy()
    yield silentable
    silentable.silent.clear()
    silentable.close()


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


async def test_a_value_is_kept_no_longer_than_its_key_lives(
    reads: TrackedReads, writer: aioredis.Redis, prefix: str
) -> None:
    key = f"{prefix}short"
    await writer.set(key, "1", px=300)
    assert await reads.mget([key]) == [b"1"]
    assert await reads.mget([key]) == [b"1"]
    hits = reads.hits
    # Nothing touches the key in Redis: Redis may not delete it (nor say so) for a while,
    # but the kept copy ends with the key's time to live.
    await asyncio.sleep(0.35)
    assert await reads.mget([key]) == [None]
    assert reads.hits == hits


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


async def test_a_silent_network_stops_the_reads_from_memory(
    proxy: SilentableProxy, prefix: str
) -> None:
    client = aioredis.from_url(proxy.url, socket_timeout=5)
    reads = TrackedReads(client, [prefix], heartbeat_seconds=0.25, retry_seconds=0.1)
    stop = asyncio.Event()
    task = asyncio.create_task(reads.run(stop))
    try:
        await _until(lambda: reads.live)
        key = f"{prefix}p"
        await reads.mget([key])
        assert await reads.mget([key]) == [None]
        proxy.silent.set()
        # Two heartbeats of 0.25 s: from then on nothing kept is used.
        await asyncio.sleep(0.55)
        assert not reads._usable()
        await _until(lambda: not reads.live, timeout=2)
        proxy.silent.clear()
        await _until(lambda: reads.live)
        hits = reads.hits
        await reads.mget([key])
        assert reads.hits == hits  # nothing from before the silence was kept
    finally:
        proxy.silent.clear()
        stop.set()
        await asyncio.wait_for(task, 5)
        await client.aclose()


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


def _ten_hits_in_a_row(reads: ThreadTrackedReads, key: str, value: bytes | None) -> bool:
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


def test_a_thread_whose_connection_is_killed_reads_from_redis_until_it_is_back(
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
    finally:
        writer.delete(key)
        writer.close()


def test_a_thread_behind_a_silent_network_reads_from_redis_until_it_is_back(
    proxy: SilentableProxy, prefix: str
) -> None:
    client = redis.Redis.from_url(proxy.url, socket_timeout=5)
    reads = ThreadTrackedReads(client, [prefix], heartbeat_seconds=0.25, retry_seconds=0.1)
    key = f"{prefix}quiet"
    try:
        reads.mget([key])
        _wait_until(lambda: reads.live)
        reads.mget([key])
        proxy.silent.set()
        time.sleep(0.55)
        assert not reads._fresh()  # two heartbeats without a pong: nothing kept is used
        _wait_until(lambda: not reads.live, timeout=2)
        proxy.silent.clear()
        _wait_until(lambda: reads.live)
        hits = reads.hits
        assert reads.mget([key]) == [None]
        assert reads.hits == hits
    finally:
        proxy.silent.clear()
        reads.stop()
        client.close()


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
            _wait_until(lambda: _ten_hits_in_a_row(thread_reads, key, None))
            report = f"{thread_reads.client_id}"
        except BaseException as exc:  # whatever it is, the parent reports it
            report = f"error {exc!r}"
        os.write(write_end, report.encode())
        os._exit(0)
    os.close(write_end)
    deadline = time.monotonic() + 30
    while (done := os.waitpid(pid, os.WNOHANG))[0] == 0:
        if time.monotonic() > deadline:
            os.kill(pid, 9)
            os.waitpid(pid, 0)
            raise AssertionError("the forked worker did not finish in 30 s")
        time.sleep(0.05)
    report = os.read(read_end, 1000).decode()
    os.close(read_end)
    assert done[1] == 0
    assert not report.startswith("error"), report
    assert int(report) != parent_id
