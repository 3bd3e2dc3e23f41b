"""Workers' liveness file (shared_kernel/heartbeat.py): touched while the loop runs."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from shared_kernel.heartbeat import beat


async def test_beat_touches_the_file_until_stopped(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "heartbeat"
    monkeypatch.setenv("GTV_HEARTBEAT_FILE", str(target))
    stop = asyncio.Event()
    task = asyncio.create_task(beat(stop, every=0.01))
    while not target.exists():
        await asyncio.sleep(0.01)
    stop.set()
    await asyncio.wait_for(task, 5)
    assert target.exists()


async def test_beat_without_a_file_returns_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GTV_HEARTBEAT_FILE", raising=False)
    await asyncio.wait_for(beat(asyncio.Event()), 5)
