"""Long-running loops and their stop signal: one way to wait, one way to run in background.

Every loop of the platform (outbox relays, workers, the recording keeper, heartbeats) runs
until an ``asyncio.Event`` is set and waits between rounds with :func:`sleep_until_stopped`,
so SIGTERM interrupts a sleep at once instead of after it. :class:`BackgroundLoop` runs
such a loop as a task of an application (the API's lifespan) and stops it cleanly.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")


async def sleep_until_stopped(stop: asyncio.Event, seconds: float) -> bool:
    """Sleep ``seconds`` or until ``stop`` is set, whichever comes first; True if stopped."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=max(0.0, seconds))
    return stop.is_set()


class BackgroundLoop:
    """A loop ``run(stop)`` started as a task, stopped by setting its event and waiting
    (bounded) for it to return; a loop that does not return in time is cancelled."""

    def __init__(self, name: str, run: Callable[[asyncio.Event], Awaitable[None]]) -> None:
        self.name = name
        self._run = run
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> BackgroundLoop:
        async def runner() -> None:
            await self._run(self._stop)

        self._task = asyncio.create_task(runner(), name=self.name)
        return self

    async def stop(self, timeout: float = 15.0) -> None:
        if self._task is None:
            return
        self._stop.set()
        task, self._task = self._task, None
        try:
            await asyncio.wait_for(task, timeout=timeout)
        except Exception as exc:
            log.warning("background loop did not stop cleanly",
                        extra={"loop": self.name, "error": repr(exc)[:300]})


async def retried(attempt: Callable[[], Awaitable[T]], delays: Sequence[float],
                  on_failure: Callable[[Exception, int, float | None], None]) -> T:
    """``attempt()``, tried again after each of ``delays`` while it raises. Every failure
    is told to ``on_failure(error, attempt_number, next_delay)`` (``None``: it was the
    last try), and the last one propagates."""
    for number, delay in enumerate((*delays, None), start=1):
        try:
            return await attempt()
        except Exception as exc:
            on_failure(exc, number, delay)
            if delay is None:
                raise
        await asyncio.sleep(delay)
    raise AssertionError("unreachable")
