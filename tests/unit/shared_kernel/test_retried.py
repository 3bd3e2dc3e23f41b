"""``retried``: an attempt tried again after each delay, every failure reported."""

from __future__ import annotations

import pytest

from shared_kernel.lifecycle import retried


async def test_an_attempt_that_recovers_returns_its_value_after_the_failures() -> None:
    outcomes: list[object] = [ConnectionError("down"), ConnectionError("down"), "stored"]
    heard: list[tuple[str, int, float | None]] = []

    async def attempt() -> object:
        outcome = outcomes.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    result = await retried(attempt, (0.0, 0.0, 0.0),
                           lambda error, number, delay: heard.append((str(error), number, delay)))
    assert result == "stored"
    assert heard == [("down", 1, 0.0), ("down", 2, 0.0)]


async def test_the_last_failure_propagates_after_every_delay() -> None:
    heard: list[tuple[int, float | None]] = []

    async def attempt() -> None:
        raise TimeoutError("still down")

    with pytest.raises(TimeoutError, match="still down"):
        await retried(attempt, (0.0, 0.01), lambda _e, number, delay: heard.append((number, delay)))
    assert heard == [(1, 0.0), (2, 0.01), (3, None)]
