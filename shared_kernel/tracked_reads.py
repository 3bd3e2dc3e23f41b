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

* Redis queues a broadcast invalidation before it flushes the writers' replies of the
  same turn of its event loop (``beforeSleep``; with Redis's I/O threads the two may leave
  in either order, microseconds apart). A read that finds bytes waiting on the tracking
  socket (one ``poll`` call), or a message half received, does not use what is kept.
  Otherwise every invalidation that reached this host is already applied: the asyncio
  connection is a plain protocol (the event loop hands it the bytes, and the values are
  dropped, before any request woken in the same turn runs); the thread raises a flag
  before it takes bytes off the socket and lowers it once they are applied.
* A value fetched while any invalidation arrived (or while tracking was lost or
  regained) is not kept: a counter bumped by every invalidation must be unchanged between
  the read and the moment its answer is stored.
* The connection is pinged every ``heartbeat_seconds``, and a pong comes back only after
  every invalidation queued before it: kept values are used only while the last pong is
  at most two heartbeats old. Closed, or unanswered for a heartbeat, the connection's
  values are dropped and reads go to Redis until a new connection tracks.
* A value is kept no longer than its key's own time to live (read with it) and
  ``max_age_seconds``; at most ``max_entries`` values and ``max_bytes`` of them are kept.

Redis over TLS, or one that refuses ``CLIENT TRACKING`` (before 6, or an ACL), is not
tracked: every read then goes to Redis, and the log says why once.
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
UNAVAILABLE = "Redis key tracking unavailable; every read goes to Redis"
MAX_RETRY_SECONDS = 60.0
MISSING: Any = object()


class TrackingRefused(Exception):
    """This Redis (or this connection to it) cannot track keys: not worth retrying."""


class _Kept:
    """The values kept for keys under ``prefixes``, and what may change them."""

    def __init__(self, prefixes: Sequence[str], max_age_seconds: float, max_entries: int,
                 max_bytes: int) -> None:
        if not prefixes:
            raise ValueError("tracked reads need at least one key prefix")
        self.prefixes = tuple(prefixes)
        self._max_age = max_age_seconds
        self._max_entries = max_entries
        self._max_bytes = max_bytes
        self._values: dict[str, tuple[Any, float, int]] = {}  # value, expiry, size
        self._bytes = 0
        # Bumped by every invalidation and every loss or gain of tracking: a read that
        # saw it change does not keep its answer.
        self.generation = 0
        self.hits = 0
        self.misses = 0

    def lookup(self, keys: Sequence[str]) -> list[Any]:
        """The kept value of each key, :data:`MISSING` where none is kept."""
        now = time.monotonic()
        values = []
        for key in keys:
            kept = self._values.get(key)
            values.append(MISSING if kept is None or kept[1] <= now else kept[0])
        if MISSING in values:
            self.misses += 1
        else:
            self.hits += 1
        return values

    def tracked(self, keys: Sequence[str]) -> bool:
        return all(key.startswith(self.prefixes) for key in keys)

    def store(self, keys: Sequence[str], fetched: Sequence[Any], ttls_ms: Sequence[int],
              generation: int) -> None:
        """Keep ``fetched`` (read at ``generation``), each value no longer than its key's
        remaining time to live in milliseconds (negative: none, or no key)."""
        if generation != self.generation or len(keys) > self._max_entries:
            return
        sizes = [_size(value) for value in fetched]
        if (len(self._values) + len(keys) > self._max_entries
                or self._bytes + sum(sizes) > self._max_bytes):
            self._values.clear()
            self._bytes = 0
        now = time.monotonic()
        for key, value, ttl_ms, size in zip(keys, fetched, ttls_ms, sizes, strict=True):
            life = self._max_age if ttl_ms < 0 else min(self._max_age, ttl_ms / 1000)
            self._drop(key)
            self._values[key] = (value, now + life, size)
            self._bytes += size

    def invalidate(self, keys: list[bytes] | None) -> None:
        self.generation += 1
        if keys is None:  # FLUSHALL / FLUSHDB
            self.forget_all()
            return
        for key in keys:
            self._drop(key.decode(errors="replace"))

    def _drop(self, key: str) -> None:
        kept = self._values.pop(key, None)
        if kept is not None:
            self._bytes -= kept[2]

    def forget_all(self) -> None:
        self.generation += 1
        self._values.clear()
        self._bytes = 0


def _size(value: Any) -> int:
    if isinstance(value, bytes):
        return len(value) + 64
    if isinstance(value, frozenset):
        return sum(len(member) + 64 for member in value)
    return 64


def _connection_settings(pool: Any) -> dict[str, Any]:
    if "ssl" in pool.connection_class.__name__.lower():
        raise TrackingRefused("Redis over TLS is not tracked")
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


def _is_pong(reply: Any) -> bool:
    return isinstance(reply, list) and bool(reply) and reply[0] == b"pong"


def _gives_up(exc: Exception, delay: float) -> bool:
    """Log a tracking connection's failure; True when tracking is refused for good."""
    if isinstance(exc, TrackingRefused):
        log.warning(UNAVAILABLE, extra={"error": str(exc)[:200]})
        return True
    log.warning(LOST, extra={"error": repr(exc)[:200], "retry_seconds": delay})
    return False


def _refused(reply: Any, what: str) -> Any:
    if isinstance(reply, Exception):
        raise TrackingRefused(f"{what}: {reply}")
    return reply


class _TrackedBase:
    def __init__(self, client: Any, prefixes: Sequence[str], *,
                 heartbeat_seconds: float = 0.5, max_age_seconds: float = 30.0,
                 max_entries: int = 20_000, max_bytes: int = 32 * 1024 * 1024,
                 retry_seconds: float = 1.0) -> None:
        self._client = client
        self._kept = _Kept(prefixes, max_age_seconds, max_entries, max_bytes)
        self._heartbeat = heartbeat_seconds
        self._retry = retry_seconds
        self._last_pong = 0.0

    @property
    def hits(self) -> int:
        """Reads answered from memory (for tests and diagnostics)."""
        return self._kept.hits

    @property
    def misses(self) -> int:
        """Reads that went to Redis while tracking was live."""
        return self._kept.misses

    def _fresh(self) -> bool:
        return time.monotonic() - self._last_pong <= 2 * self._heartbeat

    def _next_delay(self, delay: float, was_live: bool) -> float:
        return self._retry if was_live else min(MAX_RETRY_SECONDS, delay * 2)


class TrackedReads(_TrackedBase):
    """``mget``/``smembers`` over an asyncio ``client``, answered from memory for keys
    under ``prefixes`` while Redis tracks them for this process. Run :meth:`run` as a
    background loop; without it every read goes to Redis."""

    def __init__(self, client: aioredis.Redis, prefixes: Sequence[str],
                 **limits: Any) -> None:
        super().__init__(client, prefixes, **limits)
        self._tracker: _Tracker | None = None

    @property
    def live(self) -> bool:
        """Whether Redis is tracking the prefixes for this process right now."""
        return self._tracker is not None and self._tracker.open

    @property
    def tracking_client_id(self) -> int | None:
        """The tracking connection's id in Redis (``CLIENT LIST``) while it tracks."""
        tracker = self._tracker
        return tracker.client_id if tracker is not None and tracker.open else None

    def _usable(self) -> bool:
        tracker = self._tracker
        return (tracker is not None and tracker.open and not tracker.bytes_waiting()
                and self._fresh())

    async def mget(self, keys: Sequence[str]) -> list[Any]:
        values = self._kept.lookup(keys) if self._usable() else [MISSING] * len(keys)
        missing = [key for key, value in zip(keys, values, strict=True) if value is MISSING]
        if not missing:
            return values
        if not self.live or not self._kept.tracked(missing):
            return list(await self._client.mget(keys))
        generation = self._kept.generation
        async with self._client.pipeline(transaction=False) as pipe:
            pipe.mget(missing)
            for key in missing:
                pipe.pttl(key)
            fetched, *ttls = await pipe.execute()
        if self.live:
            self._kept.store(missing, fetched, ttls, generation)
        return _merged(values, fetched)

    async def smembers(self, key: str) -> frozenset[Any]:
        """The set at ``key`` (a frozenset: a kept answer is shared by every caller)."""
        if self._usable():
            (kept,) = self._kept.lookup([key])
            if kept is not MISSING:
                return kept  # type: ignore[no-any-return]
        if not self.live or not self._kept.tracked([key]):
            return frozenset(await self._client.smembers(key))
        generation = self._kept.generation
        async with self._client.pipeline(transaction=False) as pipe:
            pipe.smembers(key)
            pipe.pttl(key)
            members, ttl = await pipe.execute()
        found = frozenset(members)
        if self.live:
            self._kept.store([key], [found], [ttl], generation)
        return found

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
                self._last_pong = time.monotonic()
                self._tracker = tracker
                was_live = True
                while not stop.is_set():
                    if await sleep_until_stopped(stop, self._heartbeat):
                        break
                    await tracker.command(self._heartbeat, b"PING")
                    self._last_pong = time.monotonic()
            except Exception as exc:
                if _gives_up(exc, delay):
                    return
            finally:
                self._tracker = None
                self._kept.forget_all()
                tracker.close()
            delay = self._next_delay(delay, was_live)
            await sleep_until_stopped(stop, delay)


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
        self.client_id = int(_refused(await self.command(timeout, b"CLIENT", b"ID",
                                                         errors=True), "CLIENT ID"))
        _refused(await self.command(timeout, *_tracking_command(self.client_id, prefixes),
                                    errors=True), "CLIENT TRACKING")
        _refused(await self.command(timeout, b"SUBSCRIBE", INVALIDATE_CHANNEL, errors=True),
                 "SUBSCRIBE")
        self.open = True

    async def command(self, timeout: float, *args: Any, errors: bool = False) -> Any:
        """Send a command and wait for its reply; an error reply raises, or with
        ``errors`` is returned."""
        if self._transport is None or self._transport.is_closing():
            raise ConnectionError("the tracking connection is closed")
        self._transport.write(_pack(args))
        reply = await asyncio.wait_for(self._replies.get(), timeout)
        if isinstance(reply, ConnectionError) or (isinstance(reply, Exception) and not errors):
            raise reply
        return reply

    def bytes_waiting(self) -> bool:
        """Whether bytes the event loop has not handed over yet wait on the socket, or a
        message is half received (or the connection is going away)."""
        if self._poll is None or self._transport.is_closing():
            return True
        return self._parser.has_data() or bool(self._poll.poll(0))

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


class ThreadTrackedReads(_TrackedBase):
    """:class:`TrackedReads` for a threaded (WSGI) process over a synchronous ``client``
    (``mget`` only): a daemon thread keeps the tracking connection, started by the first
    read in each process (so a pre-forking server's workers each start their own)."""

    def __init__(self, client: redis.Redis, prefixes: Sequence[str], **limits: Any) -> None:
        super().__init__(client, prefixes, **limits)
        # Held while invalidations are applied and while a read stores what it fetched
        # (its generation check and its writes are one step).
        self._lock = threading.Lock()
        # Raised from before the thread takes bytes off the socket until they are
        # applied (and while a message is half received).
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

    def mget(self, keys: Sequence[str]) -> list[Any]:
        self._ensure_thread()
        # The socket first, then the flag: bytes that reached this host before this read
        # are either still on the socket or being applied. No lock around the poll: it
        # gives the GIL up, and a lock held across that would queue every thread.
        fd = self._fd
        usable = (fd is not None and not _readable(fd) and not self._applying
                  and self._fresh() and fd == self._fd)
        values = self._kept.lookup(keys) if usable else [MISSING] * len(keys)
        missing = [key for key, value in zip(keys, values, strict=True) if value is MISSING]
        if not missing:
            return values
        if not self.live or not self._kept.tracked(missing):
            return list(self._client.mget(keys))
        generation = self._kept.generation
        pipe = self._client.pipeline(transaction=False)
        pipe.mget(missing)
        for key in missing:
            pipe.pttl(key)
        fetched, *ttls = pipe.execute()
        with self._lock:
            if self._socket is not None:
                self._kept.store(missing, fetched, ttls, generation)
        return _merged(values, fetched)

    def stop(self) -> None:
        self._stop.set()

    def _reset_in_child(self) -> None:
        """A forked child inherits the parent's kept values, lock, event and socket, not
        its thread: it starts from nothing, and closes its copy of the parent's socket
        (or that connection would outlive the parent's use of it)."""
        inherited = self._socket
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._applying = False
        self._socket = None
        self._fd = None
        self._owner_pid = None
        self.client_id = None
        self._kept.forget_all()
        if inherited is not None:
            inherited.close()

    def _ensure_thread(self) -> None:
        pid = os.getpid()
        if self._owner_pid == pid:
            return
        with self._lock:
            if self._owner_pid == pid:
                return
            try:
                threading.Thread(target=self._run, name="redis-key-tracking",
                                 daemon=True).start()
            except RuntimeError as exc:  # no thread now: reads go to Redis, next read retries
                log.warning(LOST, extra={"error": repr(exc)[:200]})
                return
            self._owner_pid = pid

    def _run(self) -> None:
        delay = self._retry
        while not self._stop.is_set():
            was_live = False
            sock: socket.socket | None = None
            try:
                sock, parser = self._open()
                with self._lock:
                    self._kept.forget_all()
                    self._last_pong = time.monotonic()
                    self._socket = sock
                    self._fd = sock.fileno()
                was_live = True
                self._track(sock, parser)
            except Exception as exc:
                if _gives_up(exc, delay):
                    return
            finally:
                with self._lock:
                    self._socket = None
                    self._fd = None
                    self._kept.forget_all()
                if sock is not None:
                    sock.close()
            delay = self._next_delay(delay, was_live)
            self._stop.wait(delay)

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
                _raise_error(self._command(sock, parser, command))
            self.client_id = int(_refused(self._command(sock, parser, [b"CLIENT", b"ID"]),
                                          "CLIENT ID"))
            _refused(self._command(sock, parser,
                                   _tracking_command(self.client_id, self._kept.prefixes)),
                     "CLIENT TRACKING")
            _refused(self._command(sock, parser, [b"SUBSCRIBE", INVALIDATE_CHANNEL]),
                     "SUBSCRIBE")
        except BaseException:
            sock.close()
            raise
        return sock, parser

    @staticmethod
    def _command(sock: socket.socket, parser: Any, command: list[Any]) -> Any:
        """One command before the subscription (no invalidation can come yet); its reply,
        an error reply included."""
        sock.sendall(_pack(command))
        while (reply := parser.gets()) is False:
            data = sock.recv(65536)
            if not data:
                raise ConnectionError("Redis closed the tracking connection")
            parser.feed(data)
        return reply

    def _track(self, sock: socket.socket, parser: Any) -> None:
        """Apply invalidations as they come; ping every heartbeat and give up when a
        ping is not answered by the next one."""
        sock.setblocking(False)
        waiting = select.poll()
        waiting.register(sock.fileno(), select.POLLIN | select.POLLPRI)
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
            if not waiting.poll(max(0.0, next_ping - now) * 1000):
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
                        elif _is_pong(reply):
                            awaiting_pong = False
                            self._last_pong = time.monotonic()
            finally:
                self._applying = parser.has_data()


def _merged(values: list[Any], fetched: Sequence[Any]) -> list[Any]:
    """``values`` with each :data:`MISSING` replaced, in order, by what was fetched."""
    answers = iter(fetched)
    return [next(answers) if value is MISSING else value for value in values]


def _raise_error(reply: Any) -> Any:
    if isinstance(reply, Exception):
        raise reply
    return reply


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
