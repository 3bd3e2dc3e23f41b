"""The live hub: one feed reader per tenant fans events out to every subscriber, with no
gap or repeat between a resuming socket's catch-up and its queue."""

from __future__ import annotations

import asyncio
import json
import uuid

import pytest

import streaming_service.application.ai.live_hub as live_hub
from streaming_service.application.ai.live_hub import (
    HubFull,
    LiveHub,
    SubscriberLagged,
    Subscription,
    UserLimitReached,
)
from tests.unit.streaming.fakes import MemoryLiveFeed

TENANT = uuid.UUID(int=1)
OTHER = uuid.UUID(int=2)


def _hub(feed: MemoryLiveFeed, **kwargs: int) -> LiveHub:
    return LiveHub(feed, block_ms=kwargs.pop("block_ms", 50),
                   max_subscribers=kwargs.pop("max_subscribers", 10_000), **kwargs)


async def _drain(subscription: Subscription, n: int) -> list[object]:
    return [json.loads((await asyncio.wait_for(subscription.next(), 1)).text)["n"]
            for _ in range(n)]


async def test_a_thousand_subscribers_share_one_reader_and_each_gets_every_event() -> None:
    feed = MemoryLiveFeed()
    hub = _hub(feed)
    subscriptions = [await hub.subscribe(TENANT) for _ in range(1000)]
    other = await hub.subscribe(OTHER)
    assert hub.readers == 2 and hub.subscribers == 1001
    for n in range(3):
        await feed.append(TENANT, {"n": n})
    for subscription in subscriptions:
        assert await _drain(subscription, 3) == [0, 1, 2]
    assert other._queue.empty()  # another tenant's socket hears nothing
    await hub.close()


async def test_the_reader_stops_with_its_last_subscriber_and_restarts_with_the_next() -> None:
    feed = MemoryLiveFeed()
    hub = _hub(feed)
    first = await hub.subscribe(TENANT)
    second = await hub.subscribe(TENANT)
    first.close()
    assert hub.readers == 1
    second.close()
    second.close()  # closing twice changes nothing
    assert (hub.readers, hub.subscribers) == (0, 0)
    await feed.append(TENANT, {"n": "while nobody listened"})
    again = await hub.subscribe(TENANT)
    assert again.since == feed.events[TENANT][-1].id
    await feed.append(TENANT, {"n": "new"})
    assert await _drain(again, 1) == ["new"]
    await hub.close()


async def test_a_resuming_subscriber_catches_up_from_the_feed_then_its_queue_without_gaps() -> None:
    feed = MemoryLiveFeed()
    hub = _hub(feed)
    seen = await feed.append(TENANT, {"n": 0})
    for n in (1, 2):
        await feed.append(TENANT, {"n": n})
    subscription = await hub.subscribe(TENANT)
    await feed.append(TENANT, {"n": 3})
    gap = hub.catch_up(TENANT, seen, subscription.since)
    caught_up = [json.loads(e.text)["n"] async for e in gap]
    assert caught_up == [1, 2]
    assert await _drain(subscription, 1) == [3]
    await hub.close()


async def test_catch_up_reads_long_gaps_in_pages() -> None:
    feed = MemoryLiveFeed()
    hub = _hub(feed, read_count=7)
    for n in range(40):
        await feed.append(TENANT, {"n": n})
    subscription = await hub.subscribe(TENANT)
    got = [json.loads(e.text)["n"] async for e in hub.catch_up(TENANT, "0-0", subscription.since)]
    assert got == list(range(40))
    await hub.close()


async def test_a_subscriber_that_stops_reading_is_marked_lagged_and_others_are_unaffected() -> None:
    feed = MemoryLiveFeed()
    hub = _hub(feed, queue_size=10)
    slow = await hub.subscribe(TENANT)
    fast = await hub.subscribe(TENANT)
    received: list[int] = []
    for n in range(25):
        await feed.append(TENANT, {"n": n})
        received += await _drain(fast, 1)
    assert received == list(range(25))
    assert slow.lagged
    assert len(await _drain(slow, 10)) == 10  # what it buffered is still delivered
    with pytest.raises(SubscriberLagged):
        await slow.next()
    await hub.close()


async def test_the_replica_refuses_subscribers_past_its_maximum() -> None:
    hub = _hub(MemoryLiveFeed(), max_subscribers=2)
    first = await hub.subscribe(TENANT)
    await hub.subscribe(OTHER)
    with pytest.raises(HubFull):
        await hub.subscribe(TENANT)
    first.close()
    assert (await hub.subscribe(TENANT)).tenant_id == TENANT
    await hub.close()


async def test_a_failing_feed_read_is_retried_and_nothing_is_lost() -> None:
    feed = MemoryLiveFeed()
    hub = _hub(feed)
    live_hub.READ_ERROR_BACKOFF_SECONDS, saved = 0.01, live_hub.READ_ERROR_BACKOFF_SECONDS
    try:
        feed.fail_next = 2
        subscription = await hub.subscribe(TENANT)
        await feed.append(TENANT, {"n": "after the outage"})
        assert await _drain(subscription, 1) == ["after the outage"]
    finally:
        live_hub.READ_ERROR_BACKOFF_SECONDS = saved
        await hub.close()


async def test_one_user_holds_at_most_their_share_of_a_replica() -> None:
    feed = MemoryLiveFeed()
    hub = _hub(feed, max_per_user=3)
    greedy, other = uuid.UUID(int=10), uuid.UUID(int=11)
    held = [await hub.subscribe(TENANT, greedy) for _ in range(3)]
    with pytest.raises(UserLimitReached):
        await hub.subscribe(TENANT, greedy)
    colleague = await hub.subscribe(TENANT, other)  # the rest of the tenant is unaffected
    assert hub.subscribers == 4
    held[0].close()
    held[0].close()  # closing twice frees one place, not two
    again = await hub.subscribe(TENANT, greedy)
    with pytest.raises(UserLimitReached):
        await hub.subscribe(TENANT, greedy)
    for subscription in (*held[1:], again, colleague):
        subscription.close()
    assert (hub.subscribers, hub.readers) == (0, 0)
    assert hub._per_user == {}
    await hub.close()
