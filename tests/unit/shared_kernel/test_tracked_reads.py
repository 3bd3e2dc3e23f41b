"""TrackedReads' bookkeeping without Redis: what an MGET may keep."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from shared_kernel.tracked_reads import TrackedReads


class _OpenTracker:
    open = True

    def bytes_waiting(self) -> bool:
        return False


class _Client:
    """An MGET that lets the test act while it is in flight."""

    def __init__(self, values: dict[str, bytes]) -> None:
        self.values = values
        self.during: Any = None
        self.calls = 0

    async def mget(self, keys: Sequence[str]) -> list[bytes | None]:
        self.calls += 1
        answer = [self.values.get(k) for k in keys]
        if self.during is not None:
            self.during()
        return answer


def _reads(client: _Client) -> TrackedReads:
    reads = TrackedReads(client, ["p:"])  # type: ignore[arg-type]
    reads._tracker = _OpenTracker()  # type: ignore[assignment]
    return reads


async def test_an_answer_that_raced_an_invalidation_is_not_kept() -> None:
    client = _Client({"p:a": b"old"})
    reads = _reads(client)

    def write() -> None:
        client.values["p:a"] = b"new"
        reads._kept.invalidate([b"p:a"])

    client.during = write
    assert await reads.mget(["p:a"]) == [b"old"]  # read before the write landed
    client.during = None
    assert await reads.mget(["p:a"]) == [b"new"]
    assert client.calls == 2


async def test_a_flush_drops_everything_and_a_full_table_starts_over() -> None:
    client = _Client({"p:a": b"1"})
    reads = _reads(client)
    reads._kept._max_entries = 2
    await reads.mget(["p:a"])
    reads._kept.invalidate(None)
    await reads.mget(["p:a"])
    assert client.calls == 2
    await reads.mget(["p:b", "p:c"])  # over the bound: the table is emptied first
    assert set(reads._kept._values) == {"p:b", "p:c"}


async def test_bytes_waiting_on_the_socket_send_the_read_to_redis() -> None:
    client = _Client({"p:a": b"1"})
    reads = _reads(client)
    await reads.mget(["p:a"])

    class _Busy(_OpenTracker):
        def bytes_waiting(self) -> bool:
            return True

    reads._tracker = _Busy()  # type: ignore[assignment]
    await reads.mget(["p:a"])
    assert client.calls == 2
