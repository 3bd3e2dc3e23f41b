"""``python -m streaming_service.workers.lpr_worker``: licence-plate recognition on the
live streams of LPR-enabled cameras.

Workers compete: each holds leases on at most ``lpr_max_cameras_per_worker`` cameras
(``infrastructure.leases``), renews them every third of the lease time, stops a camera
whose lease it lost, and claims free ones. For each held camera it samples frames from a
``FrameSource`` (an ffmpeg child process), recognises plates in a thread, groups reads of
one vehicle with the ``PlateTracker`` (vote, report once, de-duplicate), and records each
reported vehicle (crop, row, alerts, and their events into the outbox) through
``DetectionRecorder``. A vehicle's first confident read is matched against the watchlists
at once (``record_provisional``): a hit raises its alert before the vote, and the vote
then confirms, corrects or retracts it. The outbox relay delivers the events to RabbitMQ
and the tenant's live feed: its own process (``workers.outbox_relay``), or a task of this
worker with ``GTV_OUTBOX_RELAY_IN_PROCESS=true``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
import uuid
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol

from prometheus_client import CollectorRegistry, Counter, Histogram
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared_kernel.crypto import CredentialCipher
from shared_kernel.lifecycle import BackgroundLoop, retried, sleep_until_stopped
from streaming_service.application.ai.detections import NewDetection
from streaming_service.application.ai.recognise_frame import whole_plates
from streaming_service.domain.ai.detection import (
    PlateRead,
    PlateTracker,
    TrackerConfig,
    VehicleSighting,
)
from streaming_service.domain.ai.ports import FrameSource, PlateRecogniser, RecentPlates
from streaming_service.domain.errors import CameraSourceRefused
from streaming_service.infrastructure.db.models import Camera
from streaming_service.infrastructure.leases import CameraLease, PostgresCameraLeases
from streaming_service.workers.process import run_worker

if TYPE_CHECKING:
    pass

log = logging.getLogger(__name__)

RETRY_DELAYS = (1.0, 2.0, 5.0, 10.0, 30.0)
RECENT_SHARE_SECONDS = 5.0
"""How often each camera loop shares the plates still in view (``RecentPlates``)."""
RECORD_RETRY_DELAYS = (0.5, 1.0, 2.0, 4.0, 8.0)
"""Waits before trying a failed vehicle recording again (15.5 s in all: a database
restart or failover), after which it is dropped and logged."""
STOP_DRAIN_SECONDS = 20.0
"""How long a stopping camera loop waits for the vehicles still being recorded."""
SERVICE = "streaming_service"


class LprMetrics:
    """The LPR part of the metric contract (docs/observability.md)."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        self.frames = Counter("gtv_lpr_frames_total", "Frames run through the plate detector",
                              ["service"], registry=self.registry)
        self.dropped = Counter(
            "gtv_lpr_frames_dropped_total",
            "Sampled frames a camera loop was too busy to take (a newer one replaced them)",
            ["service"], registry=self.registry)
        self.latency = Histogram(
            "gtv_lpr_latency_seconds", "Per-frame LPR latency", ["service", "stage"],
            registry=self.registry,
            buckets=(0.01, 0.025, 0.05, 0.1, 0.2, 0.3, 0.5, 1, 2, 5))
        self.plates = Counter("gtv_plates_detected_total",
                              "Plates reported (after voting and de-duplication)",
                              ["service", "tenant"], registry=self.registry)
        self.alerts = Counter("gtv_alerts_raised_total", "Watchlist alerts raised",
                              ["service", "tenant", "severity"], registry=self.registry)


@dataclass(frozen=True)
class CameraSource:
    camera_id: uuid.UUID
    tenant_id: uuid.UUID
    url: str
    """The camera's RTSP URL, credentials included: never logged."""


class Recorder(Protocol):
    async def record(self, new: NewDetection) -> Any: ...

    async def record_provisional(self, new: NewDetection) -> Any: ...


SourceFactory = Callable[[CameraSource], FrameSource]


def encode_crop(crop: Any) -> bytes | None:
    if crop is None:
        return None
    if isinstance(crop, bytes | bytearray):
        return bytes(crop)
    import cv2

    ok, data = cv2.imencode(".jpg", crop, [cv2.IMWRITE_JPEG_QUALITY, 90])
    return data.tobytes() if ok else None


def sighting_to_detection(lease: CameraLease, sighting: VehicleSighting) -> NewDetection:
    # A stable id: recording the same vehicle again (after a crash mid-record) is a no-op,
    # and a track's provisional and voted sightings are one detection.
    key = sighting.track_id or f"{sighting.plate.to_mercosul().value}:{sighting.first_seen:.3f}"
    detection_id = uuid.uuid5(lease.camera_id, key)
    return NewDetection(
        tenant_id=lease.tenant_id,
        camera_id=lease.camera_id,
        plate=sighting.plate,
        confidence=max(0.0, min(1.0, sighting.confidence)),
        detected_at=datetime.fromtimestamp(sighting.first_seen, UTC),
        crop_jpeg=encode_crop(sighting.best.crop),
        bbox=sighting.best.bbox.as_list(),
        track_id=str(detection_id)[:8],
        reads=sighting.reads,
        support=round(sighting.support, 4),
        details={"raw_text": sighting.best.raw_text,
                 "detector_score": round(sighting.best.detector_score, 4),
                 "first_seen": sighting.first_seen, "last_seen": sighting.last_seen},
        detection_id=detection_id,
    )


class EarlyAlerts:
    """Provisional records in flight, per track. The frame loop does not wait for them (a
    watchlist match and, on a hit, its insert are database round trips); a track's vote
    waits for its own, so the vote always finds the provisional detection committed."""

    def __init__(self) -> None:
        self._tasks: dict[str, list[asyncio.Task[None]]] = {}

    def start(self, track_id: str, work: Coroutine[Any, Any, None]) -> None:
        self._tasks = {k: live for k, v in self._tasks.items()
                       if (live := [t for t in v if not t.done()])}
        self._tasks.setdefault(track_id, []).append(asyncio.create_task(work))

    async def settle(self, track_id: str) -> None:
        for task in self._tasks.pop(track_id, []):
            with contextlib.suppress(Exception):
                await asyncio.shield(task)

    def cancel(self) -> None:
        for tasks in self._tasks.values():
            for task in tasks:
                task.cancel()
        self._tasks = {}


class SightingRecorder:
    """Records a camera's vehicles one after another, off the frame loop.

    Recording a vehicle (its crop, the detection and its events, a clip) takes a database
    transaction and an upload: half a second, seconds on a busy host. Awaited in the
    frame loop, it stopped the camera's frames meanwhile, and vehicles that passed then
    were read fewer times or not at all. Here the loop hands each vehicle over and goes on;
    one task records them in the order they were handed over, each after its track's
    provisional record (``EarlyAlerts.settle``). A failed recording (the database restarting,
    the object store away) is tried again after ``retry_delays`` (recording is idempotent:
    the detection's id comes from the camera and the track); one that still fails is logged
    and dropped. ``drain`` waits until every vehicle handed over is recorded or dropped."""

    def __init__(self, record: Callable[[VehicleSighting], Coroutine[Any, Any, None]],
                 early: EarlyAlerts, camera_id: str,
                 retry_delays: Sequence[float] = RECORD_RETRY_DELAYS) -> None:
        self._record = record
        self._early = early
        self._camera_id = camera_id
        self._retry_delays = tuple(retry_delays)
        self._queue: asyncio.Queue[VehicleSighting] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None

    def submit(self, sighting: VehicleSighting) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name=f"lpr-record-{self._camera_id}")
        self._queue.put_nowait(sighting)

    async def drain(self) -> None:
        if self._task is not None and not self._task.done():
            await self._queue.join()

    def cancel(self) -> None:
        if self._task is not None:
            self._task.cancel()

    async def _run(self) -> None:
        while True:
            sighting = await self._queue.get()
            try:
                await self._early.settle(sighting.track_id)
                await self._record_with_retries(sighting)
            finally:
                self._queue.task_done()

    async def _record_with_retries(self, sighting: VehicleSighting) -> None:
        def failed(error: Exception, attempt: int, delay: float | None) -> None:
            log.warning("recording a vehicle failed", extra={
                "camera_id": self._camera_id, "plate": str(sighting.plate),
                "attempt": attempt, "retry_in_s": delay, "error": repr(error)[:300]})

        with contextlib.suppress(Exception):  # the last failure was logged: dropped
            await retried(lambda: self._record(sighting), self._retry_delays, failed)


class FrameBatcher:
    """Reads the frames of all of a worker's cameras in batches.

    Camera loops hand a frame in and await its reads; one task collects up to
    ``max_batch`` frames (waiting at most ``window`` seconds after the first for the
    rest), runs ``read_batch`` over them in a thread and hands each loop its frame's
    reads. A failed batch fails each of its frames' callers, as a failed frame would.
    """

    def __init__(self, read_batch: Callable[[list[Any]], list[list[PlateRead]]], *,
                 max_batch: int, window: float) -> None:
        self._read_batch = read_batch
        self._max = max(1, max_batch)
        self._window = max(0.0, window)
        self._queue: asyncio.Queue[tuple[Any, asyncio.Future[list[PlateRead]]]] = \
            asyncio.Queue()
        self._task: asyncio.Task[None] | None = None

    async def recognise(self, image: Any) -> list[PlateRead]:
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name="lpr-batcher")
        future: asyncio.Future[list[PlateRead]] = asyncio.get_running_loop().create_future()
        await self._queue.put((image, future))
        return await future

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(BaseException):
                await self._task
        while not self._queue.empty():
            _, future = self._queue.get_nowait()
            future.cancel()

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            batch = [await self._queue.get()]
            deadline = loop.time() + self._window
            while len(batch) < self._max:
                try:
                    batch.append(self._queue.get_nowait())
                    continue
                except asyncio.QueueEmpty:
                    pass
                left = deadline - loop.time()
                if left <= 0:
                    break
                try:
                    batch.append(await asyncio.wait_for(self._queue.get(), left))
                except TimeoutError:
                    break
            live = [(image, f) for image, f in batch if not f.done()]
            if not live:
                continue
            try:
                results = await asyncio.to_thread(self._read_batch, [i for i, _ in live])
            except Exception as exc:
                for _, future in live:
                    if not future.done():
                        future.set_exception(exc)
                continue
            for (_, future), reads in zip(live, results, strict=True):
                if not future.done():
                    future.set_result(reads)


class LprWorker:
    def __init__(
        self,
        *,
        worker_id: str,
        leases: PostgresCameraLeases,
        sessions: async_sessionmaker[AsyncSession],
        recogniser: PlateRecogniser,
        recorder: Recorder,
        source_factory: SourceFactory,
        cipher: CredentialCipher | None = None,
        max_cameras: int = 8,
        tracker_config: TrackerConfig | None = None,
        metrics: LprMetrics | None = None,
        recent: RecentPlates | None = None,
        batch_size: int = 1,
        batch_window: float = 0.02,
    ) -> None:
        self.worker_id = worker_id
        self._leases = leases
        self._sessions = sessions
        self._recogniser = recogniser
        self._recorder = recorder
        self._source_factory = source_factory
        self._cipher = cipher
        self._max = max_cameras
        self._tracker_config = tracker_config or TrackerConfig()
        self.metrics = metrics or LprMetrics()
        self._recent = recent
        self.cameras: dict[uuid.UUID, asyncio.Task[None]] = {}
        self._lease_of: dict[uuid.UUID, CameraLease] = {}
        self._batcher = (
            FrameBatcher(self._recognise_batch, max_batch=batch_size, window=batch_window)
            if batch_size > 1 else None
        )

    @property
    def held(self) -> set[uuid.UUID]:
        return set(self.cameras)

    async def run(self, stop: asyncio.Event) -> None:
        interval = self._leases.lease_seconds / 3
        try:
            while not stop.is_set():
                try:
                    await self.tick()
                except Exception as exc:
                    log.warning("lease round failed", extra={"worker": self.worker_id,
                                                             "error": repr(exc)[:300]})
                await sleep_until_stopped(stop, interval)
        finally:
            await self.shutdown(release=True)

    async def tick(self) -> None:
        """One lease round: sync camera rows, renew, drop lost cameras, claim free ones."""
        await self._leases.sync_cameras()
        for camera_id, task in list(self.cameras.items()):
            if task.done():  # the camera loop gave up; let another worker try
                self.cameras.pop(camera_id)
                self._lease_of.pop(camera_id, None)
                await self._leases.release(self.worker_id, [camera_id])
        held = await self._leases.renew(self.worker_id, list(self.cameras))
        for camera_id in set(self.cameras) - held:
            log.warning("lease lost; stopping camera",
                        extra={"worker": self.worker_id, "camera_id": str(camera_id)})
            await self._stop_camera(camera_id)
        for lease in await self._leases.claim(self.worker_id, self._max - len(self.cameras)):
            log.info("camera claimed", extra={"worker": self.worker_id,
                                              "camera_id": str(lease.camera_id)})
            self._lease_of[lease.camera_id] = lease
            self.cameras[lease.camera_id] = asyncio.create_task(
                self._camera_loop(lease), name=f"lpr-{lease.camera_id}")

    async def shutdown(self, *, release: bool) -> None:
        """Stop every camera; ``release=False`` simulates a crash (leases just expire)."""
        ids = list(self.cameras)
        for camera_id in ids:
            await self._stop_camera(camera_id)
        if self._batcher is not None:
            await self._batcher.close()
        if release and ids:
            with contextlib.suppress(Exception):
                await self._leases.release(self.worker_id, ids)

    async def _stop_camera(self, camera_id: uuid.UUID) -> None:
        task = self.cameras.pop(camera_id, None)
        self._lease_of.pop(camera_id, None)
        if task is not None:
            task.cancel()
            with contextlib.suppress(BaseException):
                await task

    async def _source_for(self, lease: CameraLease) -> CameraSource | None:
        async with self._sessions() as session:
            camera = (await session.execute(
                select(Camera).where(Camera.id == lease.camera_id))).scalar_one_or_none()
        if camera is None:
            return None
        url = camera.rtsp_url_encrypted
        if self._cipher is not None:
            url = self._cipher.decrypt(url)
        return CameraSource(lease.camera_id, lease.tenant_id, url)

    async def _camera_loop(self, lease: CameraLease) -> None:
        attempt = 0
        while True:
            tracker = PlateTracker(self._tracker_config)
            early = EarlyAlerts()
            recorder = SightingRecorder(lambda sighting: self._record(lease, sighting),
                                        early, str(lease.camera_id))
            source: FrameSource | None = None
            try:
                camera = await self._source_for(lease)
                if camera is None:
                    return
                source = self._source_factory(camera)
                shared_at = 0.0
                async for frame in source.frames():
                    attempt = 0
                    if frame.at - shared_at >= RECENT_SHARE_SECONDS:
                        shared_at = frame.at
                        await self._share_recent(lease, tracker)
                    if self._batcher is not None:
                        reads = await self._batcher.recognise(frame.image)
                    else:
                        reads = await asyncio.to_thread(self._recognise, frame.image)
                    for sighting in tracker.observe(str(lease.camera_id), reads, frame.at):
                        if sighting.provisional:
                            early.start(sighting.track_id,
                                        self._early_alert(lease, tracker, sighting))
                        else:
                            recorder.submit(sighting)
                for sighting in tracker.flush(str(lease.camera_id)):
                    recorder.submit(sighting)
                await recorder.drain()
            except asyncio.CancelledError:
                # Losing the lease (or stopping) must not lose a vehicle already seen.
                for sighting in tracker.flush(str(lease.camera_id)):
                    recorder.submit(sighting)
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(asyncio.shield(recorder.drain()), STOP_DRAIN_SECONDS)
                raise
            except CameraSourceRefused as refused:
                log.warning("camera source refused", extra={
                    "worker": self.worker_id, "camera_id": str(lease.camera_id),
                    "failure": refused.failure.value})
            except Exception as exc:
                log.warning("camera loop failed", extra={
                    "worker": self.worker_id, "camera_id": str(lease.camera_id),
                    "error": repr(exc)[:300]})
            finally:
                if source is not None:
                    with contextlib.suppress(Exception):
                        await source.close()
                with contextlib.suppress(BaseException):
                    await asyncio.wait_for(recorder.drain(), STOP_DRAIN_SECONDS)
                recorder.cancel()
                early.cancel()
            delay = RETRY_DELAYS[min(attempt, len(RETRY_DELAYS) - 1)]
            attempt += 1
            log.info("camera stream ended; retrying", extra={
                "camera_id": str(lease.camera_id), "attempt": attempt, "delay_s": delay})
            await asyncio.sleep(delay)

    def _recognise(self, image: Any) -> list[PlateRead]:
        """Runs in a worker thread; counts the frame and its stage latencies."""
        started = time.perf_counter()
        timed = getattr(self._recogniser, "recognise_timed", None)
        if callable(timed):
            reads, stages = timed(image)
        else:
            reads, stages = self._recogniser.recognise(image), {}
        stages.setdefault("total", time.perf_counter() - started)
        self.metrics.frames.labels(SERVICE).inc()
        for stage, seconds in stages.items():
            self.metrics.latency.labels(SERVICE, stage).observe(seconds)
        return whole_plates(reads, image)

    def _recognise_batch(self, images: list[Any]) -> list[list[PlateRead]]:
        """Runs in a worker thread: one batched pass over frames of several cameras."""
        started = time.perf_counter()
        batched = getattr(self._recogniser, "recognise_batch", None)
        if callable(batched):
            results = batched(images)
        else:
            results = [self._recogniser.recognise(image) for image in images]
        elapsed = time.perf_counter() - started
        self.metrics.frames.labels(SERVICE).inc(len(images))
        # Each frame of the batch waited for the whole pass.
        for _ in images:
            self.metrics.latency.labels(SERVICE, "total").observe(elapsed)
        return [whole_plates(reads, image) for reads, image in zip(results, images, strict=True)]

    async def _share_recent(self, lease: CameraLease, tracker: PlateTracker) -> None:
        """Plates still in view (a parked car, de-duplicated since its first report) are
        what a watchlist entry added now must be matched against ("seen recently")."""
        if self._recent is None:
            return
        try:
            await self._recent.seen(lease.tenant_id, lease.camera_id,
                                    tracker.recently_seen(str(lease.camera_id)))
        except Exception as exc:
            log.warning("recent plates unavailable", extra={
                "camera_id": str(lease.camera_id), "error": repr(exc)[:300]})

    async def _early_alert(self, lease: CameraLease, tracker: PlateTracker,
                           sighting: VehicleSighting) -> None:
        if await self._record_provisional(lease, sighting):
            # An alert is out: the vote must confirm or correct it.
            tracker.hold(sighting)

    async def _record_provisional(self, lease: CameraLease, sighting: VehicleSighting) -> bool:
        """True when the read raised an alert (and so was recorded)."""
        new = await asyncio.to_thread(sighting_to_detection, lease, sighting)
        try:
            result = await self._recorder.record_provisional(new)
        except Exception as exc:
            # The voted sighting still records the vehicle (and raises its alerts).
            log.warning("provisional record failed", extra={
                "camera_id": str(lease.camera_id), "error": repr(exc)[:300]})
            return False
        if result is None:
            return False
        tenant = str(lease.tenant_id)
        for alert in getattr(result, "alerts", None) or []:
            self.metrics.alerts.labels(SERVICE, tenant, alert.severity).inc()
        return True

    async def _record(self, lease: CameraLease, sighting: VehicleSighting) -> None:
        new = await asyncio.to_thread(sighting_to_detection, lease, sighting)
        result = await self._recorder.record(new)
        tenant = str(lease.tenant_id)
        if getattr(result, "events", None) != []:  # [] means: already recorded before
            self.metrics.plates.labels(SERVICE, tenant).inc()
        for alert in getattr(result, "alerts", None) or []:
            self.metrics.alerts.labels(SERVICE, tenant, alert.severity).inc()


async def run(stop: asyncio.Event) -> None:
    from streaming_service.bootstrap import bootstrap
    from streaming_service.infrastructure.frame_source import FfmpegFrameSource
    from streaming_service.settings import StreamingSettings

    settings = StreamingSettings()
    # Detections and their events commit together into the outbox; the outbox relay
    # (its own process, or in here with GTV_OUTBOX_RELAY_IN_PROCESS) delivers them to
    # RabbitMQ and the tenants' live feeds.
    services = bootstrap(settings)

    def source(camera: CameraSource) -> FrameSource:
        return FfmpegFrameSource(camera.url, fps=settings.lpr_sample_fps,
                                 width=settings.lpr_frame_width,
                                 height=settings.lpr_frame_height,
                                 ffmpeg=settings.ffmpeg_binary,
                                 address_policy=services.address_policy,
                                 on_dropped=metrics.dropped.labels(SERVICE).inc)

    metrics = LprMetrics()
    if settings.metrics_port:
        from prometheus_client import start_http_server

        start_http_server(settings.metrics_port, registry=metrics.registry)
    assert services.recogniser is not None
    worker = LprWorker(
        metrics=metrics,
        worker_id=settings.lpr_worker_id or f"{socket.gethostname()}-{os.getpid()}",
        leases=PostgresCameraLeases(services.sessions,
                                    lease_seconds=settings.lpr_lease_seconds),
        sessions=services.sessions, recogniser=services.recogniser,
        recorder=services.recorder, source_factory=source, cipher=services.cipher,
        recent=services.recent_plates,
        max_cameras=settings.lpr_max_cameras_per_worker,
        batch_size=settings.lpr_batch_size,
        batch_window=settings.lpr_batch_window_ms / 1000,
        tracker_config=TrackerConfig(
            dedupe_window_s=settings.lpr_dedupe_window_seconds,
            provisional_min_confidence=settings.lpr_provisional_min_confidence),
    )
    async with contextlib.AsyncExitStack() as stack:
        stack.push_async_callback(services.close)
        if settings.outbox_relay_in_process:
            from streaming_service.workers.outbox_relay import build_relays, run_relays

            relays = build_relays(settings, services.sessions, services.live)
            relay = BackgroundLoop("outbox-relay", lambda stop: run_relays(relays, stop))
            stack.push_async_callback(relay.stop)
            relay.start()
        await worker.run(stop)


def main() -> None:
    from streaming_service.settings import StreamingSettings

    run_worker(run, service="streaming_service.lpr_worker", log_level=StreamingSettings().log_level)


if __name__ == "__main__":
    main()
