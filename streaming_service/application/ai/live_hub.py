"""Live-feed fan-out inside one API replica: one feed reader per tenant, however many sockets.

Each WebSocket used to hold its own blocking ``XREAD`` on the tenant's Redis stream, so a
replica's Redis pool capped it at about a hundred live clients. Here a tenant's first
subscriber starts one reader task; every event it reads is offered to each subscriber's
bounded in-memory queue; the last subscriber leaving stops the reader.

A subscription carries ``since``, the feed position from which every event is guaranteed
to reach its queue, so a socket that resumes from an older position reads the gap from the
feed itself (:meth:`LiveHub.catch_up`) and then drains its queue, skipping what it already
sent — no event is lost or repeated between the two. A subscriber whose queue fills up (a
client that stopped reading) is marked lagged and should be closed: its client reconnects
with its last event id and catches up from the feed.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

from streaming_service.domain.ai.ports import LiveEvent, LiveFeed

log = logging.getLogger(__name__)

READ_ERROR_BACKOFF_SECONDS = 1.0


class HubFull(Exception):
    """This replica already serves its maximum of live subscribers."""


class UserLimitReached(HubFull):
    """This user already holds their maximum of live subscribers on this replica (one
    token must not take every place of a replica shared by every tenant)."""


class SubscriberLagged(Exception):
    """The subscriber's queue overflowed: it must reconnect and catch up from the feed."""


@dataclass(frozen=True)
class LiveMessage:
    """An event as a socket sends it (the envelope plus its feed ``id``), encoded once
    per replica however many sockets send it."""

    id: str
    text: str

    @classmethod
    def of(cls, event: LiveEvent) -> LiveMessage:
        return cls(event.id, json.dumps({**event.data, "id": event.id}, separators=(",", ":")))


def position(event_id: str) -> tuple[int, int]:
    """A Redis stream id (``<ms>-<seq>``) as a comparable pair."""
    ms, _, seq = event_id.partition("-")
    return int(ms), int(seq or 0)


class Subscription:
    def __init__(self, hub: LiveHub, tenant_id: uuid.UUID, since: str, queue_size: int,
                 user_id: uuid.UUID | None = None) -> None:
        self.tenant_id = tenant_id
        self.user_id = user_id
        self.since = since
        """Every event after this feed position reaches this subscription."""
        self._hub = hub
        self._queue: asyncio.Queue[LiveMessage] = asyncio.Queue(maxsize=queue_size)
        self.lagged = False

    def offer(self, event: LiveMessage) -> None:
        if self.lagged:
            return
        try:
            self._queue.put_nowait(event)
        except asyncio.QueueFull:
            self.lagged = True

    async def next(self) -> LiveMessage:
        if self.lagged and self._queue.empty():
            raise SubscriberLagged
        event = await self._queue.get()
        return event

    def close(self) -> None:
        self._hub._unsubscribe(self)


class _TenantReader:
    def __init__(self, position: str) -> None:
        self.position = position
        self.subscribers: set[Subscription] = set()
        self.task: asyncio.Task[None] | None = None


class LiveHub:
    def __init__(self, feed: LiveFeed, *, block_ms: int, max_subscribers: int,
                 queue_size: int = 1000, read_count: int = 500,
                 max_per_user: int | None = None) -> None:
        self._feed = feed
        self._block_ms = block_ms
        self._max_subscribers = max_subscribers
        self._max_per_user = max_per_user
        self._per_user: dict[uuid.UUID, int] = {}
        self._queue_size = queue_size
        self._read_count = read_count
        self._readers: dict[uuid.UUID, _TenantReader] = {}
        self._starting: dict[uuid.UUID, asyncio.Lock] = {}
        self._count = 0

    @property
    def subscribers(self) -> int:
        return self._count

    @property
    def readers(self) -> int:
        return len(self._readers)

    async def subscribe(self, tenant_id: uuid.UUID,
                        user_id: uuid.UUID | None = None) -> Subscription:
        self._check_user(user_id)
        if self._count >= self._max_subscribers:
            raise HubFull(f"this server already has {self._count} live subscribers")
        reader = self._readers.get(tenant_id)
        if reader is None:
            lock = self._starting.setdefault(tenant_id, asyncio.Lock())
            async with lock:
                reader = self._readers.get(tenant_id)
                if reader is None:
                    # The reader's starting point is read before it exists, so the first
                    # subscriber knows exactly from where its queue is complete.
                    reader = _TenantReader(await self._feed.last_id(tenant_id))
                    self._readers[tenant_id] = reader
                    reader.task = asyncio.create_task(self._read(tenant_id, reader),
                                                      name=f"live-hub-{tenant_id}")
        try:
            self._check_user(user_id)  # again: other sockets of the user may have waited
            if self._count >= self._max_subscribers:
                raise HubFull(f"this server already has {self._count} live subscribers")
        except HubFull:
            self._stop_if_idle(tenant_id, reader)
            raise
        subscription = Subscription(self, tenant_id, reader.position, self._queue_size,
                                    user_id)
        reader.subscribers.add(subscription)
        self._count += 1
        if user_id is not None:
            self._per_user[user_id] = self._per_user.get(user_id, 0) + 1
        return subscription

    def _check_user(self, user_id: uuid.UUID | None) -> None:
        if user_id is None or self._max_per_user is None:
            return
        if self._per_user.get(user_id, 0) >= self._max_per_user:
            raise UserLimitReached(
                f"this user already has {self._max_per_user} live connections here")

    async def catch_up(self, tenant_id: uuid.UUID, after: str,
                       until: str) -> AsyncIterator[LiveMessage]:
        """The feed's events after ``after`` (no further back than the feed replays) up to
        ``until`` (inclusive), without blocking."""
        end = position(until)
        cursor = await self._feed.replay_from(after)
        while position(cursor) < end:
            events = await self._feed.read(tenant_id, cursor, block_ms=None,
                                           count=self._read_count)
            if not events:
                return
            for event in events:
                if position(event.id) > end:
                    return
                yield LiveMessage.of(event)
                cursor = event.id

    def _unsubscribe(self, subscription: Subscription) -> None:
        reader = self._readers.get(subscription.tenant_id)
        if reader is None or subscription not in reader.subscribers:
            return
        reader.subscribers.discard(subscription)
        self._count -= 1
        if subscription.user_id is not None:
            left = self._per_user.get(subscription.user_id, 1) - 1
            if left > 0:
                self._per_user[subscription.user_id] = left
            else:
                self._per_user.pop(subscription.user_id, None)
        self._stop_if_idle(subscription.tenant_id, reader)

    def _stop_if_idle(self, tenant_id: uuid.UUID, reader: _TenantReader) -> None:
        if reader.subscribers or self._readers.get(tenant_id) is not reader:
            return
        del self._readers[tenant_id]
        if reader.task is not None:
            reader.task.cancel()

    async def _read(self, tenant_id: uuid.UUID, reader: _TenantReader) -> None:
        while True:
            try:
                events = await self._feed.read(tenant_id, reader.position,
                                               block_ms=self._block_ms, count=self._read_count)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("live feed read failed; retrying",
                            extra={"tenant_id": str(tenant_id), "error": repr(exc)[:300]})
                await asyncio.sleep(READ_ERROR_BACKOFF_SECONDS)
                continue
            # No await between moving the position and offering: a subscription that
            # registers meanwhile starts exactly after what was dispatched.
            for event in events:
                message = LiveMessage.of(event)
                reader.position = event.id
                for subscription in tuple(reader.subscribers):
                    subscription.offer(message)

    async def close(self) -> None:
        readers, self._readers = list(self._readers.values()), {}
        for reader in readers:
            if reader.task is not None:
                reader.task.cancel()
        for reader in readers:
            if reader.task is not None:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await reader.task
