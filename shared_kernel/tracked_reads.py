"""Reads of Redis keys kept in the process, dropped the moment Redis says they changed.

Every authenticated request asks Redis whether its token was revoked (one ``MGET``), and
on a fast read that round trip costs more than the rest of the request. The answer almost
never changes: a key is written when somebody logs out or has their sessions revoked.
Redis can tell a client when keys it cares about change (server-assisted client-side
caching, ``CLIENT TRACKING``): in broadcast mode, for every key under the given prefixes,
whoever wrote it. :class:`TrackedReads` (asyncio) and :class:`ThreadTrackedReads`
(threads, for the WSGI service) keep one connection per process subscribed to those
invalidations and answer ``mget`` from memory while that connection is alive.

Why a kept answer is safe to give:

* Redis sends a broadcast invalidation before it flushes the writer's reply (both leave
  in the same turn of its event loop). A read that finds bytes waiting on the tracking
  socket (one ``poll`` call) does not use what is kept. Otherwise every invalidation
  that reached this host is already applied: the asyncio connection is a plain protocol
  (the event loop hands it the bytes, and the values are dropped, before any request
  woken in the same turn runs); the thread raises a flag before it takes bytes off the
  socket and lowers it once they are applied, and a read that sees it goes to Redis.
* A value fetched while any invalidation arrived (or while tracking was lost or
  regained) is not kept: a counter bumped by every invalidation must be unchanged between
  the ``MGET`` and the moment its answer is stored.
* A closed tracking connection drops every kept value at once. The connection is also
  pinged every ``heartbeat_seconds``; without an answer within that time everything is
  dropped and reads go to Redis until a new connection tracks again, so a connection that
  died silently (a network partition) leaves values in use for about two heartbeats.
* A value is kept at most ``max_age_seconds`` whatever happens, and at most
  ``max_entries`` values are kept (all are dropped when that is reached).

Redis over TLS is not tracked (reads then always go to Redis).
"""

from __future__ import annotations

import asyncio
import logging
import os
import select
import socket
import threading
import time
import weakref
from collections.abc import Callable, Sequence
from typing import Any

import hiredis
import redis
import redis.asyncio as aioredis

from shared_kernel.lifecycle import sleep_until_stopped

log = logging.getLogger(__name__)

INVALIDATE_CHANNEL = b"__redis__:invalidate"
LOST = "Redis key tracking lost; reading from Redis until it is back"


class _Kept:
    """The values kept for keys under ``prefixes``, and what may change them."""

    def __init__(self, prefixes: Sequence[str], max_age_seconds: float,
                 max_entries: int) -> None:
        if not prefixes:
            raise ValueError("tracked reads need at least one key prefix")
        self.prefixes = tuple(prefixes)
        self._max_age = max_age_seconds
        self._max_entries = max_entries
        self._values: dict[str, tuple[Any, float]] = {}
        # Bumped by every invalidation and every loss or gain of tracking: an MGET that
        # saw it change does not keep its answer.
        self.generation = 0
        self.hits = 0
        self.misses = 0

    def lookup(self, keys: Sequence[str]) -> list[Any] | None:
        now = time.monotonic()
        values = []
        for key in keys:
            kept = self._values.get(key)
            if kept is None or kept[1] <= now:
                self.misses += 1
                return None
            values.append(kept[0])
        self.hits += 1
        return values

    def store(self, keys: Sequence[str], fetched: Sequence[Any], generation: int) -> None:
        if generation != self.generation or not all(
                key.startswith(self.prefixes) for key in keys):
            return
        if len(self._values) + len(keys) > self._max_entries:
            self._values.clear()
        expires = time.monotonic() + self._max_age
        for key, value in zip(keys, fetched, strict=True):
            self._values[key] = (value, expires)

    def invalidate(self, keys: list[bytes] | None) -> None:
        self.generation += 1
        if keys is None:  # FLUSHALL / FLUSHDB
            self._values.clear()
            return
        for key in keys:
            self._values.pop(key.decode(errors="replace"), None)

    def forget_all(self) -> None:
        self.generation += 1
        self._values.clear()


def _connection_settings(pool: Any) -> dict[str, Any]:
    if "ssl" in pool.connection_class.__name__.lower():
        raise RuntimeError("Redis over TLS is not tracked")
    return dict(pool.connection_kwargs)


def _setup_commands(settings: dict[str, Any]) -> list[list[Any]]:
    if not settings.get("password"):
        return []
    return [[b"AUTH", *([settings["username"]] if settings.get("username") else []),
             settings["password"]]]


def _tracking_command(client_id: int, prefixes: Sequence[str]) -> list[Any]:
    command: list[Any] = [b"CLIENT", b"TRACKING", b"ON", b"REDIRECT", client_id, b"BCAST"]
    for prefix in prefixes:
        command += [b"PREFIX", prefix]
    return command


def _is_invalidation(reply: Any) -> bool:
    return (isinstance(reply, list) and len(reply) == 3 and reply[0] == b"message"
            and reply[1] == INVALIDATE_CHANNEL)


class TrackedReads:
    """``mget`` over an asyncio ``client``, answered from memory for keys under
    ``prefixes`` while Redis tracks them for this process. Run :meth:`run` as a
    background loop; without it every read goes to Redis."""

    def __init__(self, client: aioredis.Redis, prefixes: Sequence[str], *,
                 heartbeat_seconds: float = 0.5, max_age_seconds: float = 30.0,
                 max_entries: int = 20_000, retry_seconds: float = 1.0) -> None:
        self._client = client
        self._kept = _Kept(prefixes, max_age_seconds, max_entries)
        self._heartbeat = heartbeat_seconds
        self._retry = retry_seconds
        self._tracker: _Tracker | None = None

    @property
    def live(self) -> bool:
        """Whether Redis is tracking the prefixes for this process right now."""
        return self._tracker is not None and self._tracker.open

    @property
    def tracking_client_id(self) -> int | None:
        """The tracking connection's id in Redis (``CLIENT LIST``) while it tracks."""
        return self._tracker.client_id if self.live and self._tracker is not None else None

    @property
    def hits(self) -> int:
        return self._kept.hits

    @property
    def misses(self) -> int:
        return self._kept.misses

    async def mget(self, keys: Sequence[str]) -> list[Any]:
        tracker = self._tracker
        if tracker is not None and tracker.open and not tracker.bytes_waiting():
            kept = self._kept.lookup(keys)
            if kept is not None:
                return kept
        generation = self._kept.generation
        fetched: list[Any] = await self._client.mget(keys)
        if self.live:
            self._kept.store(keys, fetched, generation)
        return fetched

    async def smembers(self, key: str) -> Any:
        """The set at ``key``, as the client's ``smembers`` answers it."""
        tracker = self._tracker
        if tracker is not None and tracker.open and not tracker.bytes_waiting():
            kept = self._kept.lookup([key])
            if kept is not None:
                return kept[0]
        generation = self._kept.generation
        members = await self._client.smembers(key)
        if self.live:
            self._kept.store([key], [members], generation)
        return members

    async def run(self, stop: asyncio.Event) -> None:
        """Keep a tracking connection until ``stop`` is set, replacing it after any
        failure (waiting ``retry_seconds``, doubled after each failure in a row up to a
        minute); reads go to Redis while there is none."""
        delay = self._retry
        while not stop.is_set():
            tracker = _Tracker(self._kept.invalidate, self._kept.forget_all)
            was_live = False
            try:
                await tracker.open_to(self._client, self._kept.prefixes, self._heartbeat)
                self._kept.forget_all()  # whatever was kept before this connection tracked
                self._tracker = tracker
                was_live = True
                while not stop.is_set():
                    if await sleep_until_stopped(stop, self._heartbeat):
                        break
                    await tracker.command(self._heartbeat, b"PING")
            except Exception as exc:
                log.warning(LOST, extra={"error": repr(exc)[:200], "retry_seconds": delay})
            finally:
                self._tracker = None
                self._kept.forget_all()
                tracker.close()
            if was_live:
                delay = self._retry
            await sleep_until_stopped(stop, delay)
            delay = min(60.0, delay * 2)


class _Tracker(asyncio.Protocol):
    """One connection to Redis, subscribed to its invalidation messages, which it applies
    as soon as the event loop hands it the bytes; other replies wait for ``command``."""

    def __init__(self, on_invalidate: Callable[[list[bytes] | None], None],
                 on_lost: Callable[[], None]) -> None:
        self._on_invalidate = on_invalidate
        self._on_lost = on_lost
        self._parser = hiredis.Reader()
        self._replies: asyncio.Queue[Any] = asyncio.Queue()
        self._transport: Any = None  # asyncio's or uvloop's transport
        self._poll: Any = None
        self.open = False
        self.client_id: int | None = None

    async def open_to(self, client: aioredis.Redis, prefixes: Sequence[str],
                      timeout: float) -> None:
        settings = _connection_settings(client.connection_pool)
        loop = asyncio.get_running_loop()
        connect_timeout = settings.get("socket_connect_timeout") or 5.0
        if settings.get("path"):
            connecting = loop.create_unix_connection(lambda: self, settings["path"])
        else:
            connecting = loop.create_connection(lambda: self, settings.get("host", "localhost"),
                                                int(settings.get("port", 6379)))
        await asyncio.wait_for(connecting, connect_timeout)
        for command in _setup_commands(settings):
            await self.command(connect_timeout, *command)
        self.client_id = int(await self.command(timeout, b"CLIENT", b"ID"))
        await self.command(timeout, *_tracking_command(self.client_id, prefixes))
        await self.command(timeout, b"SUBSCRIBE", INVALIDATE_CHANNEL)
        self.open = True

    async def command(self, timeout: float, *args: Any) -> Any:
        if self._transport is None or self._transport.is_closing():
            raise ConnectionError("the tracking connection is closed")
        self._transport.write(_pack(args))
        reply = await asyncio.wait_for(self._replies.get(), timeout)
        if isinstance(reply, Exception):
            raise reply
        return reply

    def bytes_waiting(self) -> bool:
        """Whether bytes the event loop has not handed over yet wait on the socket."""
        return bool(self._poll.poll(0)) if self._poll is not None else True

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport
        self._poll = select.poll()
        self._poll.register(transport.get_extra_info("socket").fileno(),
                            select.POLLIN | select.POLLPRI)

    def data_received(self, data: bytes) -> None:
        self._parser.feed(data)
        while (reply := self._parser.gets()) is not False:
            if _is_invalidation(reply):
                self._on_invalidate(reply[2])
            else:
                self._replies.put_nowait(reply)

    def connection_lost(self, exc: Exception | None) -> None:
        self.open = False
        self._on_lost()
        self._replies.put_nowait(ConnectionError("the tracking connection was closed"))

    def close(self) -> None:
        self.open = False
        if self._transport is not None:
            self._transport.close()


class ThreadTrackedReads:
    """:class:`TrackedReads` for a threaded (WSGI) process over a synchronous ``client``:
    a daemon thread keeps the tracking connection, started by the first read in each
    process (so a pre-forking server's workers each start their own)."""

    def __init__(self, client: redis.Redis, prefixes: Sequence[str], *,
                 heartbeat_seconds: float = 0.5, max_age_seconds: float = 30.0,
                 max_entries: int = 20_000, retry_seconds: float = 1.0) -> None:
        self._client = client
        self._kept = _Kept(prefixes, max_age_seconds, max_entries)
        self._heartbeat = heartbeat_seconds
        self._retry = retry_seconds
        # Held while invalidations are applied and while a read stores what it fetched
        # (its generation check and its writes are one step).
        self._lock = threading.Lock()
        self._applying = False
        self._socket: socket.socket | None = None
        self._fd: int | None = None
        self._owner_pid: int | None = None
        self._stop = threading.Event()
        self.client_id: int | None = None
        reset = weakref.WeakMethod(self._reset_in_child)
        os.register_at_fork(after_in_child=lambda: (method := reset()) and method())

    @property
    def live(self) -> bool:
        return self._socket is not None

    @property
    def hits(self) -> int:
        return self._kept.hits

    @property
    def misses(self) -> int:
        return self._kept.misses

    def mget(self, keys: Sequence[str]) -> list[Any]:
        self._ensure_thread()
        # The socket first, then the flag the thread raises before it takes bytes off the
        # socket and lowers once they are applied: bytes that reached this host before
        # this read are either still on the socket or being applied. No lock around the
        # poll: it gives the GIL up, and a lock held across that would queue every thread.
        fd = self._fd
        if fd is not None and not _readable(fd) and not self._applying:
            kept = self._kept.lookup(keys)
            if kept is not None:
                return kept
        generation = self._kept.generation
        fetched: list[Any] = self._client.mget(keys)
        with self._lock:
            if self._socket is not None:
                self._kept.store(keys, fetched, generation)
        return fetched

    def stop(self) -> None:
        self._stop.set()

    def _reset_in_child(self) -> None:
        """A forked child inherits the parent's kept values and lock, not its thread: it
        starts from nothing (and a lock the thread may have held at the fork is new)."""
        self._lock = threading.Lock()
        self._applying = False
        self._socket = None
        self._fd = None
        self._owner_pid = None
        self._kept.forget_all()

    def _ensure_thread(self) -> None:
        pid = os.getpid()
        if self._owner_pid == pid:
            return
        with self._lock:
            if self._owner_pid == pid:
                return
            self._owner_pid = pid
            threading.Thread(target=self._run, name="redis-key-tracking", daemon=True).start()

    def _run(self) -> None:
        delay = self._retry
        while not self._stop.is_set():
            was_live = False
            sock: socket.socket | None = None
            try:
                sock, parser = self._open()
                with self._lock:
                    self._kept.forget_all()
                    self._socket = sock
                    self._fd = sock.fileno()
                was_live = True
                self._track(sock, parser)
            except Exception as exc:
                log.warning(LOST, extra={"error": repr(exc)[:200], "retry_seconds": delay})
            finally:
                with self._lock:
                    self._socket = None
                    self._fd = None
                    self._kept.forget_all()
                if sock is not None:
                    sock.close()
            if was_live:
                delay = self._retry
            self._stop.wait(delay)
            delay = min(60.0, delay * 2)

    def _open(self) -> tuple[socket.socket, Any]:
        settings = _connection_settings(self._client.connection_pool)
        timeout = settings.get("socket_connect_timeout") or 5.0
        if settings.get("path"):
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.settimeout(timeout)
            sock.connect(settings["path"])
        else:
            sock = socket.create_connection(
                (settings.get("host", "localhost"), int(settings.get("port", 6379))), timeout)
        try:
            sock.settimeout(self._heartbeat)
            parser = hiredis.Reader()
            for command in _setup_commands(settings):
                self._command(sock, parser, command)
            self.client_id = int(self._command(sock, parser, [b"CLIENT", b"ID"]))
            self._command(sock, parser, _tracking_command(self.client_id, self._kept.prefixes))
            self._command(sock, parser, [b"SUBSCRIBE", INVALIDATE_CHANNEL])
        except BaseException:
            sock.close()
            raise
        return sock, parser

    @staticmethod
    def _command(sock: socket.socket, parser: Any, command: list[Any]) -> Any:
        """One command before the subscription (no invalidation can come yet)."""
        sock.sendall(_pack(command))
        while (reply := parser.gets()) is False:
            data = sock.recv(65536)
            if not data:
                raise ConnectionError("Redis closed the tracking connection")
            parser.feed(data)
        if isinstance(reply, Exception):
            raise reply
        return reply

    def _track(self, sock: socket.socket, parser: Any) -> None:
        """Apply invalidations as they come; ping every heartbeat and give up when a
        ping is not answered by the next one."""
        sock.setblocking(False)
        next_ping = time.monotonic()
        awaiting_pong = False
        while not self._stop.is_set():
            now = time.monotonic()
            if now >= next_ping:
                if awaiting_pong:
                    raise TimeoutError(f"no pong from Redis within {self._heartbeat}s")
                sock.sendall(_pack([b"PING"]))
                awaiting_pong = True
                next_ping = now + self._heartbeat
            readable, _, _ = select.select([sock], [], [], max(0.0, next_ping - now))
            if not readable:
                continue
            self._applying = True
            try:
                try:
                    data = sock.recv(65536)
                except BlockingIOError:
                    continue
                if not data:
                    raise ConnectionError("Redis closed the tracking connection")
                parser.feed(data)
                with self._lock:
                    while (reply := parser.gets()) is not False:
                        if _is_invalidation(reply):
                            self._kept.invalidate(reply[2])
                        elif isinstance(reply, list) and reply and reply[0] == b"pong":
                            awaiting_pong = False
            finally:
                self._applying = False


def _readable(fd: int) -> bool:
    """Whether bytes (or a hang-up) wait on ``fd``. A poll object of its own per call:
    one shared between threads refuses concurrent ``poll()`` calls."""
    poll = select.poll()
    poll.register(fd, select.POLLIN | select.POLLPRI)
    return bool(poll.poll(0))


def _pack(args: Sequence[Any]) -> bytes:
    parts = [b"*%d\r\n" % len(args)]
    for arg in args:
        value = arg if isinstance(arg, bytes) else str(arg).encode()
        parts.append(b"$%d\r\n%s\r\n" % (len(value), value))
    return b"".join(parts)
