"""Liveness for worker processes without an HTTP port: touch ``GTV_HEARTBEAT_FILE``
(when set) every few seconds while the worker's event loop runs; the container's health
check (docker-compose.yml, deploy/k8s) fails when the file goes stale. Shared by both
services' workers."""

from __future__ import annotations

import asyncio
import contextlib
import os
from pathlib import Path

from shared_kernel.lifecycle import sleep_until_stopped


async def beat(stop: asyncio.Event, *, every: float = 15.0) -> None:
    target = os.environ.get("GTV_HEARTBEAT_FILE")
    if not target:
        return
    path = Path(target)
    while not stop.is_set():
        with contextlib.suppress(OSError):
            path.touch()
        await sleep_until_stopped(stop, every)
