"""Live sockets re-check their tokens together: one round trip for all of them."""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

import pytest

from shared_kernel.auth import (
    AsyncRedisDenylist,
    CoalescingDenylist,
    TokenClaims,
    denylist_key,
    session_version_key,
)


class CountingRedis:
    """The two Redis calls the denylist makes, over a dict; counts round trips."""

    def __init__(self) -> None:
        self.values: dict[str, str] = {}
        self.round_trips = 0
        self.fail = False

    async def mget(self, keys: list[str]) -> list[Any]:
        self.round_trips += 1
        await asyncio.sleep(0)
        if self.fail:
            raise ConnectionError("redis went away")
        return [self.values.get(k) for k in keys]


def claims(version: int = 0) -> TokenClaims:
    return TokenClaims(user_id=uuid.uuid4(), jti=uuid.uuid4().hex,
                       exp=int(time.time()) + 600, session_version=version)


async def test_concurrent_checks_share_one_round_trip_and_each_gets_its_own_verdict() -> None:
    redis = CountingRedis()
    tokens = [claims(version=1) for _ in range(1000)]
    redis.values[denylist_key(tokens[3].jti)] = "1"  # logged out
    redis.values[session_version_key(tokens[7].user_id)] = "2"  # password changed
    redis.values[session_version_key(tokens[8].user_id)] = "1"  # same session: fine
    live = CoalescingDenylist(AsyncRedisDenylist(redis))
    verdicts = await asyncio.gather(*(live.is_revoked(t) for t in tokens))
    assert redis.round_trips == 1
    assert [i for i, revoked in enumerate(verdicts) if revoked] == [3, 7]
    # the same answers as one check each
    single = AsyncRedisDenylist(redis)
    assert [await single.is_revoked(t) for t in tokens[:10]] == verdicts[:10]


async def test_a_failed_round_trip_fails_every_check_it_served_and_the_next_one_recovers() -> None:
    redis = CountingRedis()
    redis.fail = True
    live = CoalescingDenylist(AsyncRedisDenylist(redis))
    outcomes = await asyncio.gather(*(live.is_revoked(claims()) for _ in range(5)),
                                    return_exceptions=True)
    assert all(isinstance(o, ConnectionError) for o in outcomes)
    redis.fail = False
    assert await live.is_revoked(claims()) is False
    assert redis.round_trips == 2


async def test_a_caller_that_went_away_does_not_break_the_others() -> None:
    redis = CountingRedis()
    live = CoalescingDenylist(AsyncRedisDenylist(redis))
    gone = asyncio.ensure_future(live.is_revoked(claims()))
    stays = asyncio.ensure_future(live.is_revoked(claims()))
    await asyncio.sleep(0)
    gone.cancel()
    assert await stays is False
    with pytest.raises(asyncio.CancelledError):
        await gone
