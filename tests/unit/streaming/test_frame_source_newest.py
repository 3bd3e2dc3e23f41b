"""The live frame source's newest-frame hand-over, with a scripted ffmpeg read: the end
of the stream and a failed read reach the consumer however slow it is, frames it was too
busy for are dropped and counted, and closing stops the reader."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import numpy as np
import pytest

from streaming_service.domain.ai.ports import SampledFrame
from streaming_service.infrastructure.frame_source import FfmpegFrameSource


class ScriptedSource(FfmpegFrameSource):
    """Frames numbered 1, 2, … every ``interval`` s, then the end (or ``fail``)."""

    def __init__(self, count: int, interval: float, fail: Exception | None = None) -> None:
        self.dropped: list[int] = []
        super().__init__("rtsp://camera.invalid/x", on_dropped=self.dropped.append)
        self._script: Iterator[int] = iter(range(1, count + 1))
        self._interval = interval
        self._fail = fail

    async def _read_frame(self) -> SampledFrame | None:
        await asyncio.sleep(self._interval)
        number = next(self._script, None)
        if number is None:
            if self._fail is not None:
                raise self._fail
            return None
        return SampledFrame(image=np.full((2, 2, 3), number, np.uint8), at=float(number))


async def _consume(source: ScriptedSource, busy: float) -> list[int]:
    taken: list[int] = []
    async for frame in source._newest_frames():
        taken.append(int(frame.image[0, 0, 0]))
        await asyncio.sleep(busy)
    return taken


async def test_a_slow_consumer_gets_the_last_frame_and_then_the_end() -> None:
    source = ScriptedSource(count=10, interval=0.01)
    taken = await asyncio.wait_for(_consume(source, busy=0.035), 5)
    assert taken[-1] == 10, "the frame waiting when the stream ended is still handed over"
    assert taken == sorted(taken) and len(taken) < 10
    assert sum(source.dropped) == 10 - len(taken)


async def test_a_fast_consumer_gets_every_frame() -> None:
    source = ScriptedSource(count=8, interval=0.02)
    assert await asyncio.wait_for(_consume(source, busy=0.0), 5) == list(range(1, 9))
    assert source.dropped == []


async def test_a_failed_read_reaches_a_slow_consumer() -> None:
    source = ScriptedSource(count=5, interval=0.01, fail=OSError("pipe broke"))
    with pytest.raises(OSError, match="pipe broke"):
        await asyncio.wait_for(_consume(source, busy=0.03), 5)


async def test_close_stops_the_reader_of_an_abandoned_stream() -> None:
    source = ScriptedSource(count=10_000, interval=0.005)
    frames = source._newest_frames()
    await anext(frames)
    reader = source._reader
    assert reader is not None and not reader.done()
    await asyncio.wait_for(source.close(), 5)
    assert reader.done()
    await frames.aclose()
