"""The recording keeper: cameras with ``recording_mode = continuous`` are recorded even
when nobody watches them, and cameras with ``recording_mode = events`` keep streaming
(live segments only, no recording) so that event clips can be cut around each plate
detection (``application.ai.event_clips``).

Every ``interval`` seconds one tick:

* applies recording-mode changes of the projection to the streams **this replica's**
  engine runs (each replica does this for its own streams; no lease needed): when a
  camera's mode changed since the previous tick, recording is turned on (``continuous``)
  or off (anything else). Only changes are applied, so an operator's manual recording
  on a non-continuous camera is left alone.
* while holding a short Redis lease (one replica at a time), starts the stream of every
  available, non-decommissioned continuous or events camera whose status is absent,
  stopped or failed, or whose replica is gone (with an engine that runs streams in the
  API process: no live replica holds the camera's ownership lease, so the status in the
  cache is a dead replica's last word). A running stream (starting, live, reconnecting)
  of a live replica is left to the engine's own reconnect backoff.

Camera URLs are never logged (``StreamControl`` decrypts them and logs only ids).
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from dataclasses import dataclass
from typing import Protocol

from shared_kernel.lifecycle import sleep_until_stopped
from streaming_service.application.streams import ACTIVE_STATES, StreamControl
from streaming_service.domain.ports import CameraDirectory, StreamStatusCache

log = logging.getLogger(__name__)

CONTINUOUS = "continuous"
EVENTS = "events"
KEPT_RUNNING = (CONTINUOUS, EVENTS)


class ExclusiveLease(Protocol):
    async def acquire(self) -> bool: ...

    async def release(self) -> None: ...


@dataclass(frozen=True)
class KeptCamera:
    camera_id: uuid.UUID
    tenant_id: uuid.UUID
    recording_mode: str


class RecordingKeeper:
    def __init__(
        self,
        *,
        cameras: CameraDirectory,
        streams: StreamControl,
        cache: StreamStatusCache,
        lease: ExclusiveLease,
        interval_seconds: float = 15.0,
    ) -> None:
        self._cameras = cameras
        self._streams = streams
        self._cache = cache
        self._lease = lease
        self.interval_seconds = interval_seconds
        self._modes: dict[uuid.UUID, str] = {}
        self._holding = False

    async def run(self, stop: asyncio.Event) -> None:
        """Tick until ``stop`` is set; then give the lease back."""
        try:
            while not stop.is_set():
                try:
                    await self.tick()
                except Exception as exc:
                    log.warning("recording keeper tick failed",
                                extra={"error_type": type(exc).__name__})
                await sleep_until_stopped(stop, self.interval_seconds)
        finally:
            if self._holding:
                try:
                    await self._lease.release()
                except Exception as exc:
                    log.warning("recording keeper could not release its lease",
                                extra={"error_type": type(exc).__name__})
                self._holding = False

    async def tick(self) -> None:
        cameras = await self._kept()
        await self._apply_mode_changes(cameras)
        holding = await self._lease.acquire()
        if holding != self._holding:
            log.info("recording keeper lease %s", "acquired" if holding else "lost")
            self._holding = holding
        if holding:
            await self._ensure_running(cameras)

    async def _kept(self) -> list[KeptCamera]:
        return [KeptCamera(c.id, c.tenant_id, c.recording_mode)
                for c in await self._cameras.all_streamable()]

    async def _apply_mode_changes(self, cameras: list[KeptCamera]) -> None:
        previous, self._modes = self._modes, {c.camera_id: c.recording_mode for c in cameras}
        for camera in cameras:
            before = previous.get(camera.camera_id)
            if before is None or before == camera.recording_mode:
                continue
            status = await self._streams.engine.status(camera.camera_id)
            want = camera.recording_mode == CONTINUOUS
            if status is None or status.state not in ACTIVE_STATES or status.recording == want:
                continue
            try:
                await self._streams.set_recording(camera.camera_id, camera.tenant_id, want)
            except Exception as exc:
                log.warning("recording keeper could not change recording",
                            extra={"camera_id": str(camera.camera_id),
                                   "error_type": type(exc).__name__})
                continue
            log.info("recording keeper turned recording %s", "on" if want else "off",
                     extra={"camera_id": str(camera.camera_id),
                            "recording_mode": camera.recording_mode})

    async def _ensure_running(self, cameras: list[KeptCamera]) -> None:
        for camera in cameras:
            if camera.recording_mode not in KEPT_RUNNING:
                continue
            status = await self._cache.get(camera.camera_id)
            if status is not None and status.state in ACTIVE_STATES:
                if await self._streams.has_live_owner(camera.camera_id):
                    continue
                # Its replica died (the status is its last word): take the camera over.
                log.warning("recording keeper takes over a stream whose replica is gone",
                            extra={"camera_id": str(camera.camera_id),
                                   "previous_state": status.state.value})
            try:
                await self._streams.start(camera.camera_id, camera.tenant_id)
            except Exception as exc:
                log.warning("recording keeper could not start stream",
                            extra={"camera_id": str(camera.camera_id),
                                   "error_type": type(exc).__name__})
                continue
            log.info("recording keeper started stream",
                     extra={"camera_id": str(camera.camera_id),
                            "previous_state": status.state.value if status else None})
