"""The LPR worker's cross-camera frame batcher: frames of several cameras read in one
pass, each caller given its own frame's reads, failures given to every caller."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from streaming_service.workers.lpr_worker import FrameBatcher


class Reader:
    def __init__(self, fail: bool = False) -> None:
        self.batches: list[list[Any]] = []
        self.fail = fail

    def __call__(self, images: list[Any]) -> list[list[Any]]:
        self.batches.append(list(images))
        if self.fail:
            raise RuntimeError("device lost")
        return [[f"read of {image}"] for image in images]


async def test_frames_arriving_together_are_read_in_one_pass_and_answered_in_order() -> None:
    reader = Reader()
    batcher = FrameBatcher(reader, max_batch=8, window=0.05)
    try:
        results = await asyncio.gather(*(batcher.recognise(f"cam{i}") for i in range(5)))
    finally:
        await batcher.close()
    assert results == [[f"read of cam{i}"] for i in range(5)]
    assert [len(b) for b in reader.batches] == [5]


async def test_a_batch_never_exceeds_its_size() -> None:
    reader = Reader()
    batcher = FrameBatcher(reader, max_batch=3, window=0.05)
    try:
        await asyncio.gather(*(batcher.recognise(i) for i in range(7)))
    finally:
        await batcher.close()
    assert sorted(x for b in reader.batches for x in b) == list(range(7))
    assert max(len(b) for b in reader.batches) == 3


async def test_a_lone_frame_is_read_after_the_window_without_waiting_for_more() -> None:
    reader = Reader()
    batcher = FrameBatcher(reader, max_batch=32, window=0.01)
    try:
        assert await asyncio.wait_for(batcher.recognise("only"), 5) == ["read of only"]
    finally:
        await batcher.close()


async def test_a_failed_pass_fails_each_of_its_frames_and_the_next_pass_still_runs() -> None:
    reader = Reader(fail=True)
    batcher = FrameBatcher(reader, max_batch=4, window=0.05)
    try:
        results = await asyncio.gather(*(batcher.recognise(i) for i in range(3)),
                                       return_exceptions=True)
        assert all(isinstance(r, RuntimeError) for r in results)
        reader.fail = False
        assert await batcher.recognise("again") == ["read of again"]
    finally:
        await batcher.close()


async def test_closing_cancels_frames_still_waiting() -> None:
    started = asyncio.Event()
    loop = asyncio.get_running_loop()

    def slow(images: list[Any]) -> list[list[Any]]:
        loop.call_soon_threadsafe(started.set)
        time.sleep(0.2)
        return [[] for _ in images]

    batcher = FrameBatcher(slow, max_batch=1, window=0.0)
    first = asyncio.create_task(batcher.recognise(1))
    second = asyncio.create_task(batcher.recognise(2))
    await asyncio.wait_for(started.wait(), 5)
    await batcher.close()
    with pytest.raises(asyncio.CancelledError):
        await second
    first.cancel()
