"""The LPR worker records vehicles off the frame loop: in the order they were handed
over, each after its track's provisional record, a failure tried again and then logged
without stopping the ones after it, and ``drain`` waits for all of them."""

from __future__ import annotations

import asyncio
from typing import Any

from streaming_service.workers.lpr_worker import EarlyAlerts, SightingRecorder


class Sighting:
    def __init__(self, track_id: str, plate: str) -> None:
        self.track_id, self.plate = track_id, plate


async def test_vehicles_are_recorded_in_order_after_their_provisional_record() -> None:
    log: list[str] = []
    early = EarlyAlerts()
    provisional_done = asyncio.Event()

    async def provisional() -> None:
        await provisional_done.wait()
        log.append("provisional t1")

    async def record(sighting: Any) -> None:
        await asyncio.sleep(0)
        log.append(f"record {sighting.plate}")

    early.start("t1", provisional())
    recorder = SightingRecorder(record, early, "cam")
    recorder.submit(Sighting("t1", "ABC1D23"))  # type: ignore[arg-type]
    recorder.submit(Sighting("t2", "XYZ9876"))  # type: ignore[arg-type]
    for _ in range(5):
        await asyncio.sleep(0)
    assert log == [], "the first vehicle waits for its provisional record, the next for it"
    provisional_done.set()
    await asyncio.wait_for(recorder.drain(), 5)
    assert log == ["provisional t1", "record ABC1D23", "record XYZ9876"]
    recorder.cancel()


async def test_submitting_does_not_wait_for_the_recording() -> None:
    started, release = asyncio.Event(), asyncio.Event()

    async def record(sighting: Any) -> None:
        started.set()
        await release.wait()

    recorder = SightingRecorder(record, EarlyAlerts(), "cam")
    recorder.submit(Sighting("t1", "ABC1D23"))  # type: ignore[arg-type]
    await asyncio.wait_for(started.wait(), 5)
    recorder.submit(Sighting("t2", "XYZ9876"))  # returns while the first is recording
    release.set()
    await asyncio.wait_for(recorder.drain(), 5)
    recorder.cancel()


async def test_a_failed_recording_is_dropped_and_the_next_still_recorded() -> None:
    recorded: list[str] = []

    async def record(sighting: Any) -> None:
        if sighting.plate == "BAD0000":
            raise RuntimeError("database gone")
        recorded.append(sighting.plate)

    recorder = SightingRecorder(record, EarlyAlerts(), "cam", retry_delays=(0.01, 0.01))
    recorder.submit(Sighting("t1", "BAD0000"))  # type: ignore[arg-type]
    recorder.submit(Sighting("t2", "XYZ9876"))  # type: ignore[arg-type]
    await asyncio.wait_for(recorder.drain(), 5)
    assert recorded == ["XYZ9876"]
    recorder.cancel()


async def test_a_recording_that_fails_while_the_database_restarts_is_tried_again() -> None:
    attempts: list[str] = []
    recorded: list[str] = []

    async def record(sighting: Any) -> None:
        attempts.append(sighting.plate)
        if sighting.plate == "ABC1D23" and attempts.count("ABC1D23") < 3:
            raise ConnectionError("the database is restarting")
        recorded.append(sighting.plate)

    recorder = SightingRecorder(record, EarlyAlerts(), "cam", retry_delays=(0.01, 0.02, 0.04))
    recorder.submit(Sighting("t1", "ABC1D23"))  # type: ignore[arg-type]
    recorder.submit(Sighting("t2", "XYZ9876"))  # type: ignore[arg-type]
    await asyncio.wait_for(recorder.drain(), 5)
    assert attempts == ["ABC1D23", "ABC1D23", "ABC1D23", "XYZ9876"]
    assert recorded == ["ABC1D23", "XYZ9876"], "in order, none lost"
    recorder.cancel()
