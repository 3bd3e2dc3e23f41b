"""The shared outbox relay's publishing rules, with an in-memory store and publisher."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest

from shared_kernel.events import StreamStopped, new_event
from shared_kernel.outbox_relay import (
    BrokerUnavailable,
    ClaimedBatch,
    OutboxRelay,
    OutboxRow,
    RelaySettings,
)


class MemoryStore:
    def __init__(self, count: int) -> None:
        tenant = uuid.uuid4()
        self.rows = [OutboxRow(key=i, envelope=new_event(
            StreamStopped(camera_id=uuid.uuid4(), tenant_id=tenant),
            producer="test", tenant_id=tenant).model_dump(mode="json")) for i in range(count)]
        self.published: set[int] = set()
        self.errors: dict[int, str] = {}
        self.locked: set[int] = set()  # rows held by an open claim (FOR UPDATE SKIP LOCKED)
        self.open_claims = 0
        self.most_open_claims = 0
        self.claims = 0
        self.fail_commit_of_claim: int | None = None  # this claim's commit raises

    @contextlib.asynccontextmanager
    async def claim(self, limit: int) -> AsyncIterator[ClaimedBatch]:
        number = self.claims
        self.claims += 1
        await asyncio.sleep(0)  # a round trip
        pending = [r for r in self.rows
                   if r.key not in self.published and r.key not in self.locked][:limit]
        self.locked.update(r.key for r in pending)
        self.open_claims += 1
        self.most_open_claims = max(self.most_open_claims, self.open_claims)
        batch = ClaimedBatch(pending)
        try:
            yield batch
            await asyncio.sleep(0.002)  # the commit's round trip
            if number == self.fail_commit_of_claim:
                raise ConnectionError("database went away")
            self.published.update(r.key for r in batch.published)
            self.errors.update({r.key: error for r, error in batch.failed})
        finally:
            self.open_claims -= 1
            self.locked.difference_update(r.key for r in pending)

    async def pending_count(self) -> int:
        return len(self.rows) - len(self.published)

    async def wait_for_commit(self, timeout: float) -> bool:
        return False

    async def listen(self) -> None:
        return None

    async def reset(self) -> None:
        return None

    async def close(self) -> None:
        return None


class WindowedPublisher:
    """Confirms after a short delay; ``fail`` lists the row numbers (publish order) it
    refuses; records the order and the most publishes awaiting a confirm at once."""

    def __init__(self, max_in_flight: int, fail: set[int] | None = None) -> None:
        self.max_in_flight = max_in_flight
        self.fail = fail or set()
        self.order: list[str] = []
        self.in_flight = 0
        self.peak = 0

    async def publish(self, envelope: Any, *, exchange: str, routing_key: str) -> None:
        number = len(self.order)
        self.order.append(str(envelope.event_id))
        self.in_flight += 1
        self.peak = max(self.peak, self.in_flight)
        try:
            await asyncio.sleep(0.001)
            if number in self.fail:
                raise ConnectionError(f"nack {number}")
        finally:
            self.in_flight -= 1

    async def close(self) -> None:
        return None


async def test_a_windowed_publisher_gets_many_confirms_in_flight_in_row_order() -> None:
    store = MemoryStore(250)
    publisher = WindowedPublisher(max_in_flight=32)
    relay = OutboxRelay(store=store, publisher=publisher,
                        settings=RelaySettings(batch_size=100))
    assert await relay.drain_once() == 250
    assert publisher.peak == 32
    assert publisher.order == [r.envelope["event_id"] for r in store.rows]
    assert store.published == set(range(250))


async def test_failed_rows_stay_pending_and_rows_confirmed_after_them_are_published() -> None:
    store = MemoryStore(20)
    relay = OutboxRelay(store=store, publisher=WindowedPublisher(8, fail={5, 9}),
                        settings=RelaySettings(batch_size=100))
    with pytest.raises(BrokerUnavailable):
        await relay.drain_once()
    assert set(store.errors) == {5, 9} and "nack 5" in store.errors[5]
    assert store.published == set(range(20)) - {5, 9}
    # The next drain publishes exactly what was left.
    assert await relay.drain_once() == 2


async def test_an_unreachable_destination_is_tried_once_per_batch_not_once_per_row() -> None:
    store = MemoryStore(50)
    publisher = WindowedPublisher(16, fail=set(range(1000)))
    relay = OutboxRelay(store=store, publisher=publisher, settings=RelaySettings(batch_size=50))
    with pytest.raises(BrokerUnavailable):
        await relay.drain_once()
    assert len(publisher.order) == 1 and store.published == set()


async def test_a_publisher_without_a_window_publishes_one_at_a_time_and_stops_at_a_failure(
) -> None:
    class OneAtATime(WindowedPublisher):
        def __init__(self) -> None:
            super().__init__(max_in_flight=1, fail={3})
            del self.max_in_flight

    store = MemoryStore(10)
    publisher = OneAtATime()
    relay = OutboxRelay(store=store, publisher=publisher)
    with pytest.raises(BrokerUnavailable):
        await relay.drain_once()
    assert publisher.peak == 1 and len(publisher.order) == 4
    assert store.published == {0, 1, 2} and set(store.errors) == {3}


class PipelinedStore(MemoryStore):
    overlapping_claims = True


async def test_a_store_with_overlapping_claims_is_drained_in_order_with_commits_overlapped(
) -> None:
    store = PipelinedStore(1050)
    publisher = WindowedPublisher(max_in_flight=32)
    relay = OutboxRelay(store=store, publisher=publisher,
                        settings=RelaySettings(batch_size=100))
    assert await relay.drain_once() == 1050
    assert publisher.order == [r.envelope["event_id"] for r in store.rows]
    assert store.published == set(range(1050)) and relay.published_total == 1050
    # the next batch claimed and published while the previous one commits
    assert store.most_open_claims == 3 and store.open_claims == 0
    assert not store.locked


async def test_a_pipelined_drain_stops_at_a_failed_publish_and_releases_what_it_claimed_ahead(
) -> None:
    store = PipelinedStore(500)
    publisher = WindowedPublisher(16, fail={150})
    relay = OutboxRelay(store=store, publisher=publisher,
                        settings=RelaySettings(batch_size=100))
    with pytest.raises(BrokerUnavailable):
        await relay.drain_once()
    assert set(store.errors) == {150}
    assert store.published == set(range(200)) - {150}
    assert store.open_claims == 0 and not store.locked
    assert await relay.drain_once() == 301


async def test_a_failed_commit_in_a_pipelined_drain_leaves_the_next_batch_pending_too() -> None:
    store = PipelinedStore(500)
    store.fail_commit_of_claim = 1
    relay = OutboxRelay(store=store, publisher=WindowedPublisher(16),
                        settings=RelaySettings(batch_size=100))
    with pytest.raises(ConnectionError):
        await relay.drain_once()
    # batch 0 committed; batch 1's commit failed; batch 2 (published meanwhile) rolled back
    assert store.published == set(range(100))
    assert store.open_claims == 0 and not store.locked
    # published again (at least once), in order
    assert await relay.drain_once() == 400
    assert store.published == set(range(500))
