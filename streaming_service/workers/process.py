"""The process main loop every worker shares: logging set up for the service, SIGTERM and
SIGINT set a stop event, and (for workers with a health-checked heartbeat file) the
heartbeat runs until the worker's coroutine returns."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Awaitable, Callable
from typing import TypeVar

from shared_kernel.logging import configure_logging
from streaming_service.workers.heartbeat import beat

T = TypeVar("T")


def run_worker(
    main: Callable[[asyncio.Event], Awaitable[T]],
    *,
    service: str,
    log_level: str,
    heartbeat: bool = True,
) -> T:
    """Configure logging as ``service``, then run ``main(stop)`` in a fresh event loop,
    ``stop`` being set on SIGTERM/SIGINT; returns what ``main`` returns. With
    ``heartbeat`` (every worker: compose and Kubernetes check it), :func:`beat` touches
    ``GTV_HEARTBEAT_FILE`` while ``main`` runs."""
    configure_logging(service, log_level)

    async def _main() -> T:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            with contextlib.suppress(NotImplementedError):
                loop.add_signal_handler(sig, stop.set)
        if not heartbeat:
            return await main(stop)
        beating = asyncio.create_task(beat(stop))
        try:
            return await main(stop)
        finally:
            stop.set()
            await beating

    return asyncio.run(_main())
