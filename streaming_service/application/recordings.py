"""Use cases of recorded video: store a finished segment, list, play back, apply
retention. Every playback is announced as ``RecordingAccessed`` (the admin service
writes it to the audit log, LGPD). Events are written to the outbox in the transaction
of the change (the recording row) or, for a playback, before the URL is handed out."""

from __future__ import annotations

import asyncio
import builtins
import contextlib
import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import and_, delete, func, select, tuple_
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from shared_kernel.events import RecordingAccessed, RecordingCompleted, RecordingGap
from shared_kernel.lifecycle import retried
from shared_kernel.pagination import Page
from streaming_service.domain.ports import (
    CompletedSegment,
    ObjectStore,
    Outbox,
    StreamTelemetry,
)
from streaming_service.domain.recording import RECORDINGS_BUCKET, TimeRange, recording_object_key
from streaming_service.infrastructure.db.models import Camera, Recording
from streaming_service.infrastructure.db.partitions import (
    ensure_month_partition,
    ensure_partitions_ahead,
)
from streaming_service.infrastructure.db.repository import get_camera, get_recording

log = logging.getLogger(__name__)

RECORDING_ID_NAMESPACE = uuid.UUID("5c1f0d2e-8a47-4c55-9d6e-3b2a61f0c7a9")
"""A recording's id is derived from its object key and size: storing the same segment
again (a retry after a commit whose answer was lost) finds its row, while another segment
that happens to get the same key (a restart within the second of a cut) gets a row of
its own."""


@dataclass(frozen=True)
class Playback:
    recording: Recording
    url: str
    expires_at: datetime


@dataclass(frozen=True)
class Gap:
    """A hole in a camera's recording: no segment from ``started_at`` to ``ended_at``."""

    started_at: datetime
    ended_at: datetime

    @property
    def seconds(self) -> float:
        return (self.ended_at - self.started_at).total_seconds()


@dataclass(frozen=True)
class RetentionReport:
    cameras: int
    deleted: int
    failed: int


class Recordings:
    def __init__(
        self,
        *,
        db: AsyncEngine,
        sessions: async_sessionmaker[AsyncSession],
        store: ObjectStore,
        outbox: Outbox,
        metrics: StreamTelemetry,
        max_range: timedelta = timedelta(days=31),
        playback_ttl_seconds: int = 600,
        gap_seconds: float = 5.0,
        store_concurrency: int = 4,
        store_retry_delays: Sequence[float] = (1.0, 4.0, 10.0),
    ) -> None:
        self._db = db
        self._storing = asyncio.Semaphore(store_concurrency)
        self._retry_delays = tuple(store_retry_delays)
        self._background: set[asyncio.Task[None]] = set()
        self._sessions = sessions
        self._store = store
        self._outbox = outbox
        self._metrics = metrics
        self.max_range = max_range
        self._playback_ttl = playback_ttl_seconds
        # Consecutive segments this far apart (or more) leave a reported recording gap.
        self.gap_seconds = gap_seconds

    # --- writing -------------------------------------------------------------------------

    async def submit_segment(self, segment: CompletedSegment) -> None:
        """Store ``segment`` in the background (the in-process engine's segment sink): a
        stream's supervision loop, a stop, and the renewal of stream ownership never wait
        for uploads, the queue of ``store_concurrency`` or retries. A failure is logged
        and counted by :meth:`record_segment`, and the file stays for the next start."""
        task = asyncio.create_task(self._store_in_background(segment))
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _store_in_background(self, segment: CompletedSegment) -> None:
        with contextlib.suppress(Exception):  # logged and counted in record_segment
            await self.record_segment(segment)

    async def close(self, timeout: float = 30.0) -> None:
        """Wait (at most ``timeout``) for the segments being stored in the background;
        those still unstored stay on disk, reported again at the camera's next start."""
        if not self._background:
            return
        _, pending = await asyncio.wait(set(self._background), timeout=timeout)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        if pending:
            log.warning("segments left unstored at shutdown",
                        extra={"segments": len(pending)})

    async def record_segment(self, segment: CompletedSegment) -> Recording | None:
        """Upload a finished segment, store its row, announce it, delete the local file.

        At most ``store_concurrency`` segments are stored at once; a failed attempt is
        tried again after each of ``store_retry_delays`` (idempotent: the object is
        written again under its key, the row is found by its derived id). If every
        attempt fails the local file is kept (the engine's directory is the retry queue
        of the next start) and the error propagates to the engine's callback wrapper.
        """
        async def attempt() -> Recording | None:
            async with self._storing:
                return await self._store_segment(segment)

        def failed(error: Exception, _number: int, delay: float | None) -> None:
            where = {"camera_id": str(segment.camera_id), "segment": segment.path.name}
            if delay is None:
                self._metrics.segment_failed()
                log.error("storing a recording segment failed", exc_info=error, extra=where)
            else:
                log.warning("storing a recording segment failed; trying again",
                            exc_info=error, extra={**where, "retry_in_seconds": delay})

        return await retried(attempt, self._retry_delays, failed)

    async def _store_segment(self, segment: CompletedSegment) -> Recording | None:
        if not segment.path.exists():
            log.warning("segment file vanished", extra={"camera_id": str(segment.camera_id)})
            return None
        size = segment.path.stat().st_size
        if size == 0:
            segment.path.unlink(missing_ok=True)
            return None
        started = segment.started_at.astimezone(UTC)
        key = recording_object_key(segment.tenant_id, segment.camera_id, started,
                                   suffix=segment.path.suffix or ".mp4")
        size = await self._store.put_file(RECORDINGS_BUCKET, key, segment.path,
                                          _content_type(segment.path.suffix))
        await ensure_month_partition(self._db, started)
        recording = Recording(
            id=uuid.uuid5(RECORDING_ID_NAMESPACE, f"{key}:{size}"), tenant_id=segment.tenant_id,
            camera_id=segment.camera_id, started_at=started,
            ended_at=segment.ended_at.astimezone(UTC), object_key=key, size_bytes=size,
        )
        async with self._sessions() as session, session.begin():
            stored = await session.get(Recording, (recording.id, started))
            if stored is not None:  # an earlier attempt committed: nothing to add
                self._metrics.segment_recorded()
                segment.path.unlink(missing_ok=True)
                return stored
            gap = await self._gap_before(session, recording)
            session.add(recording)
            if gap is not None:
                await self._outbox.add(
                    session,
                    RecordingGap(
                        camera_id=recording.camera_id, tenant_id=recording.tenant_id,
                        gap_started_at=gap.started_at, gap_ended_at=gap.ended_at,
                        seconds=gap.seconds, recording_id=recording.id,
                    ),
                    tenant_id=recording.tenant_id,
                )
            await self._outbox.add(
                session,
                RecordingCompleted(
                    recording_id=recording.id, camera_id=recording.camera_id,
                    tenant_id=recording.tenant_id, started_at=recording.started_at,
                    ended_at=recording.ended_at, object_key=key, size_bytes=size,
                ),
                tenant_id=recording.tenant_id,
            )
        self._metrics.segment_recorded()
        segment.path.unlink(missing_ok=True)
        if gap is not None:
            log.warning("recording gap", extra={
                "camera_id": str(recording.camera_id), "gap_seconds": round(gap.seconds, 1),
                "gap_started_at": gap.started_at.isoformat(),
                "gap_ended_at": gap.ended_at.isoformat()})
        return recording

    async def _gap_before(self, session: AsyncSession, recording: Recording) -> Gap | None:
        """The hole between the camera's previous segment (within a day) and this one."""
        previous = (await session.execute(
            select(func.max(Recording.ended_at)).where(
                Recording.camera_id == recording.camera_id,
                Recording.tenant_id == recording.tenant_id,
                Recording.started_at < recording.started_at,
                Recording.started_at >= recording.started_at - timedelta(days=1),
            ))).scalar_one_or_none()
        if previous is None or (recording.started_at - previous).total_seconds() < \
                self.gap_seconds:
            return None
        return Gap(started_at=previous, ended_at=recording.started_at)

    # --- reading -------------------------------------------------------------------------

    async def list(
        self,
        *,
        tenant_id: uuid.UUID | None,
        camera_id: uuid.UUID,
        start: datetime,
        end: datetime,
        page: int,
        page_size: int,
    ) -> Page[Recording]:
        window = TimeRange.validated(start, end, max_span=self.max_range)
        async with self._sessions() as session:
            camera = await get_camera(session, camera_id, tenant_id, include_decommissioned=True)
            # Overlap, with the partition key bounded on both sides so PostgreSQL prunes
            # to the months involved (a segment is never longer than a day).
            where = and_(
                Recording.camera_id == camera.id,
                Recording.tenant_id == camera.tenant_id,
                Recording.started_at < window.end,
                Recording.started_at >= window.start - timedelta(days=1),
                Recording.ended_at > window.start,
            )
            total = int((await session.execute(
                select(func.count()).select_from(Recording).where(where))).scalar_one())
            rows = (await session.execute(
                select(Recording).where(where)
                .order_by(Recording.started_at, Recording.id)
                .offset((page - 1) * page_size).limit(page_size)
            )).scalars().all()
        return Page(items=list(rows), total=total)

    async def gaps(
        self,
        *,
        tenant_id: uuid.UUID | None,
        camera_id: uuid.UUID,
        start: datetime,
        end: datetime,
    ) -> builtins.list[Gap]:
        """The holes between consecutive segments of the camera in a time range (those of
        at least ``gap_seconds``), oldest first; the same holes ``RecordingGap`` announced."""
        window = TimeRange.validated(start, end, max_span=self.max_range)
        async with self._sessions() as session:
            camera = await get_camera(session, camera_id, tenant_id, include_decommissioned=True)
            previous_end = func.lag(Recording.ended_at).over(
                order_by=(Recording.started_at, Recording.id)).label("previous_end")
            ordered = (
                select(Recording.started_at, previous_end)
                .where(Recording.camera_id == camera.id,
                       Recording.tenant_id == camera.tenant_id,
                       Recording.started_at < window.end,
                       Recording.started_at >= window.start - timedelta(days=1))
                .subquery())
            rows = (await session.execute(
                select(ordered.c.previous_end, ordered.c.started_at)
                .where(ordered.c.previous_end.is_not(None),
                       ordered.c.started_at > window.start,
                       ordered.c.started_at - ordered.c.previous_end
                       >= timedelta(seconds=self.gap_seconds))
                .order_by(ordered.c.started_at))).all()
        return [Gap(started_at=row[0], ended_at=row[1]) for row in rows]

    async def playback(
        self,
        recording_id: uuid.UUID,
        *,
        tenant_id: uuid.UUID | None,
        user_id: uuid.UUID,
        ip: str | None,
    ) -> Playback:
        async with self._sessions() as session:
            recording = await get_recording(session, recording_id, tenant_id)
        url = await self._store.presigned_get_url(
            RECORDINGS_BUCKET, recording.object_key, self._playback_ttl)
        # Audited access: the URL is only handed out once the access is recorded (the
        # outbox row commits; the relay publishes it to the admin service's audit log).
        async with self._sessions() as session, session.begin():
            await self._outbox.add(
                session,
                RecordingAccessed(
                    tenant_id=recording.tenant_id, user_id=user_id,
                    camera_id=recording.camera_id, action="playback",
                    recording_id=recording.id, range_start=recording.started_at,
                    range_end=recording.ended_at, ip=ip,
                ),
                tenant_id=recording.tenant_id,
            )
        return Playback(recording=recording, url=url,
                        expires_at=datetime.now(UTC) + timedelta(seconds=self._playback_ttl))

    # --- retention -----------------------------------------------------------------------

    async def apply_retention(
        self, *, now: datetime | None = None, batch_size: int = 500
    ) -> RetentionReport:
        """Delete every recording (object, then row) that ended before its camera's
        retention window. Objects that fail to delete keep their row for the next run."""
        now = now or datetime.now(UTC)
        await ensure_partitions_ahead(self._db, now)
        async with self._sessions() as session:
            cameras = (await session.execute(
                select(Camera.id, Camera.retention_days))).all()
        deleted = failed = 0
        for camera_id, retention_days in cameras:
            cutoff = now - timedelta(days=int(retention_days))
            while True:
                async with self._sessions() as session:
                    batch = (await session.execute(
                        select(Recording.id, Recording.started_at, Recording.object_key)
                        .where(Recording.camera_id == camera_id,
                               Recording.started_at < cutoff,
                               Recording.ended_at <= cutoff)
                        .order_by(Recording.started_at).limit(batch_size)
                    )).all()
                if not batch:
                    break
                gone: list[tuple[uuid.UUID, datetime]] = []
                for rec_id, started_at, key in batch:
                    try:
                        await self._store.delete(RECORDINGS_BUCKET, key)
                    except Exception as exc:
                        failed += 1
                        log.warning("could not delete recording object",
                                    extra={"object_key": key, "error": repr(exc)[:300]})
                        continue
                    gone.append((rec_id, started_at))
                if gone:
                    async with self._sessions() as session, session.begin():
                        await session.execute(delete(Recording).where(
                            tuple_(Recording.id, Recording.started_at).in_(gone)))
                    deleted += len(gone)
                if len(gone) < len(batch):
                    break  # failures: leave the rest for the next run instead of looping
        log.info("retention applied",
                 extra={"cameras": len(cameras), "deleted": deleted, "failed": failed})
        return RetentionReport(cameras=len(cameras), deleted=deleted, failed=failed)


def _content_type(suffix: str) -> str:
    return {".ts": "video/mp2t", ".mkv": "video/x-matroska"}.get(suffix.lower(), "video/mp4")

