"""TrackedReads' bookkeeping without Redis: what a read may keep, and for how long."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from shared_kernel.tracked_reads import MISSING, TrackedReads, _Kept, _merged


def _kept(**limits: Any) -> _Kept:
    settings = {"max_age_seconds": 30.0, "max_entries": 100, "max_bytes": 10_000} | limits
    return _Kept(["p:"], **settings)


def test_an_answer_read_before_an_invalidation_is_not_kept() -> None:
    kept = _kept()
    generation = kept.generation
    kept.invalidate([b"p:a"])  # a write landed while the read was in flight
    kept.store(["p:a"], [b"old"], [-1], generation)
    assert kept.lookup(["p:a"]) == [MISSING]


def test_a_value_lives_no_longer_than_its_key_nor_the_maximum_age() -> None:
    kept = _kept(max_age_seconds=0.2)
    kept.store(["p:short", "p:none", "p:forever"], [b"1", None, b"2"], [50, -2, -1],
               kept.generation)
    assert kept.lookup(["p:short", "p:none", "p:forever"]) == [b"1", None, b"2"]
    time.sleep(0.06)
    assert kept.lookup(["p:short", "p:none"]) == [MISSING, None]
    time.sleep(0.15)
    assert kept.lookup(["p:none", "p:forever"]) == [MISSING, MISSING]


def test_invalidations_drop_one_key_or_everything() -> None:
    kept = _kept()
    kept.store(["p:a", "p:b"], [b"1", b"2"], [-1, -1], kept.generation)
    kept.invalidate([b"p:a"])
    assert kept.lookup(["p:a", "p:b"]) == [MISSING, b"2"]
    kept.invalidate(None)  # FLUSHDB
    assert kept.lookup(["p:b"]) == [MISSING]


def test_the_table_starts_over_when_full_by_count_or_bytes() -> None:
    kept = _kept(max_entries=2, max_bytes=1_000)
    kept.store(["p:a", "p:b"], [b"1", b"2"], [-1, -1], kept.generation)
    kept.store(["p:c"], [b"3"], [-1], kept.generation)
    assert kept.lookup(["p:a", "p:c"]) == [MISSING, b"3"]
    kept.store(["p:big"], [b"x" * 2_000], [-1], kept.generation)  # over the bytes alone
    kept.store(["p:d"], [b"4"], [-1], kept.generation)
    assert kept.lookup(["p:c", "p:d"]) == [MISSING, b"4"]
    kept.store(["p:1", "p:2", "p:3"], [b"", b"", b""], [-1] * 3, kept.generation)
    assert kept.lookup(["p:1"]) == [MISSING]  # a read bigger than the table is not kept


def test_replaced_and_dropped_values_give_their_bytes_back() -> None:
    kept = _kept(max_entries=100, max_bytes=1_000)
    for _ in range(50):  # far more than 1 000 bytes stored over time, never at once
        kept.store(["p:a"], [b"x" * 100], [-1], kept.generation)
        kept.store(["p:b"], [b"y" * 100], [-1], kept.generation)
        kept.invalidate([b"p:b"])
    assert kept.lookup(["p:a"]) == [b"x" * 100]
    assert kept._bytes == 100 + 64  # what is kept now, not what was ever stored


def test_only_keys_under_the_prefixes_count_as_tracked() -> None:
    kept = _kept()
    assert kept.tracked(["p:a", "p:b"])
    assert not kept.tracked(["p:a", "q:b"])


def test_fetched_values_fill_the_missing_places_in_order() -> None:
    assert _merged([b"1", MISSING, None, MISSING], [b"2", b"3"]) == [b"1", b"2", None, b"3"]


class _Tracker:
    open = True

    def __init__(self, waiting: bool) -> None:
        self.waiting = waiting

    def bytes_waiting(self) -> bool:
        return self.waiting


class _Pipeline:
    def __init__(self, client: _Client) -> None:
        self._client = client
        self._replies: list[Any] = []

    async def __aenter__(self) -> _Pipeline:
        return self

    async def __aexit__(self, *exc: object) -> None:
        return None

    def mget(self, keys: Sequence[str]) -> None:
        self._replies.append([self._client.values.get(k) for k in keys])

    def pttl(self, key: str) -> None:
        self._replies.append(-1)

    async def execute(self) -> list[Any]:
        self._client.round_trips += 1
        return self._replies


class _Client:
    def __init__(self, values: dict[str, bytes]) -> None:
        self.values = values
        self.round_trips = 0

    def pipeline(self, transaction: bool) -> _Pipeline:
        return _Pipeline(self)


def _reads(client: _Client, *, waiting: bool = False) -> TrackedReads:
    reads = TrackedReads(client, ["p:"])  # type: ignore[arg-type]
    reads._tracker = _Tracker(waiting)  # type: ignore[assignment]
    reads._last_pong = time.monotonic()
    return reads


async def test_only_the_missing_keys_are_read_and_then_kept() -> None:
    client = _Client({"p:a": b"1", "p:b": b"2"})
    reads = _reads(client)
    assert await reads.mget(["p:a"]) == [b"1"]
    assert await reads.mget(["p:a", "p:b"]) == [b"1", b"2"]
    assert await reads.mget(["p:b", "p:a"]) == [b"2", b"1"]
    assert client.round_trips == 2


async def test_bytes_waiting_or_a_stale_pong_send_the_read_to_redis() -> None:
    client = _Client({"p:a": b"1"})
    reads = _reads(client)
    await reads.mget(["p:a"])
    reads._tracker = _Tracker(waiting=True)  # type: ignore[assignment]
    await reads.mget(["p:a"])
    assert client.round_trips == 2
    reads._tracker = _Tracker(waiting=False)  # type: ignore[assignment]
    reads._last_pong = time.monotonic() - 2 * reads._heartbeat - 0.1
    await reads.mget(["p:a"])
    assert client.round_trips == 3
