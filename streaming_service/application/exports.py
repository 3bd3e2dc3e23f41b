"""Export a camera's recorded time range to one MP4 in the ``exports`` bucket.

Requesting an export creates a ``pending`` job row, announces the access
(``RecordingAccessed``, audited by the admin service; written to the outbox in the
job's transaction) and runs the job in the background:
the overlapping segments are fetched from the object store, concatenated and trimmed to
the range by ffmpeg (stream copy), and uploaded. The row moves ``pending`` → ``running``
→ ``done`` | ``failed`` (with the reason). A tenant runs at most a few exports at a time
(each one is an ffmpeg job and disk space); a request over the cap answers 429.
Every download URL handed out is audited (``export.download``) before it leaves.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
import tempfile
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Protocol

from sqlalchemy import func, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared_kernel.events import RecordingAccessed
from streaming_service.application.audit import Actor, AuditTrail
from streaming_service.domain.errors import TooManyExports
from streaming_service.domain.ports import ObjectStore, Outbox, StreamTelemetry
from streaming_service.domain.recording import (
    EXPORTS_BUCKET,
    RECORDINGS_BUCKET,
    TimeRange,
    export_object_key,
)
from streaming_service.infrastructure.db.models import Export, Recording
from streaming_service.infrastructure.db.repository import get_camera, get_export

log = logging.getLogger(__name__)


class SegmentConcatenator(Protocol):
    """Joins ``segments`` (in order) into ``output``, keeping ``duration`` seconds from
    ``start_offset`` seconds into the first segment."""

    async def __call__(
        self, segments: Sequence[Path], output: Path, *, start_offset: float, duration: float
    ) -> None: ...


class Exports:
    def __init__(
        self,
        *,
        sessions: async_sessionmaker[AsyncSession],
        store: ObjectStore,
        outbox: Outbox,
        metrics: StreamTelemetry,
        concat: SegmentConcatenator,
        work_dir: Path,
        audit: AuditTrail,
        max_range: timedelta = timedelta(hours=24),
        url_ttl_seconds: int = 600,
        max_active_per_tenant: int = 2,
    ) -> None:
        self._sessions = sessions
        self._audit = audit
        self.max_active_per_tenant = max_active_per_tenant
        self._store = store
        self._outbox = outbox
        self._metrics = metrics
        self._concat = concat
        self._work_dir = work_dir
        self.max_range = max_range
        self._url_ttl = url_ttl_seconds
        self._tasks: set[asyncio.Task[None]] = set()

    async def request(
        self,
        *,
        tenant_id: uuid.UUID | None,
        camera_id: uuid.UUID,
        start: datetime,
        end: datetime,
        user_id: uuid.UUID,
        ip: str | None,
    ) -> Export:
        window = TimeRange.validated(start, end, max_span=self.max_range)
        async with self._sessions() as session, session.begin():
            camera = await get_camera(session, camera_id, tenant_id, include_decommissioned=True)
            await self._check_capacity(session, camera.tenant_id)
            export = Export(
                id=uuid.uuid4(), tenant_id=camera.tenant_id, camera_id=camera.id,
                range_start=window.start, range_end=window.end, status="pending",
                requested_by=user_id,
            )
            session.add(export)
            # Audited before any video leaves: the job and its audit event commit together.
            await self._outbox.add(
                session,
                RecordingAccessed(
                    tenant_id=camera.tenant_id, user_id=user_id, camera_id=camera.id,
                    action="export", export_id=export.id, range_start=window.start,
                    range_end=window.end, ip=ip,
                ),
                tenant_id=camera.tenant_id,
            )
        task = asyncio.create_task(self.run(export.id), name=f"export-{export.id}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return export

    async def _check_capacity(self, session: AsyncSession, tenant_id: uuid.UUID) -> None:
        # One request at a time per tenant decides (a transaction-scoped advisory lock),
        # so concurrent requests cannot all pass the count.
        await session.execute(text("SELECT pg_advisory_xact_lock(hashtextextended(:k, 0))"),
                              {"k": f"gtv:exports:{tenant_id}"})
        active = (await session.execute(
            select(func.count()).select_from(Export)
            .where(Export.tenant_id == tenant_id, Export.status.in_(("pending", "running")))
        )).scalar_one()
        if active >= self.max_active_per_tenant:
            raise TooManyExports(
                "too many exports are running for this prefeitura; try again when one ends",
                {"active": int(active), "limit": self.max_active_per_tenant})

    async def get(self, export_id: uuid.UUID, tenant_id: uuid.UUID | None) -> Export:
        async with self._sessions() as session:
            return await get_export(session, export_id, tenant_id)

    async def download_url(self, export: Export, *, actor: Actor) -> str | None:
        """An expiring URL of a finished export, audited before it is handed out."""
        if export.status != "done" or not export.object_key:
            return None
        await self._audit.record(actor, "export.download", object_type="export",
                                 object_id=export.id, tenant_id=export.tenant_id,
                                 after={"camera_id": str(export.camera_id),
                                        "range_start": export.range_start.isoformat(),
                                        "range_end": export.range_end.isoformat()})
        return await self._store.presigned_get_url(EXPORTS_BUCKET, export.object_key,
                                                   self._url_ttl)

    async def run(self, export_id: uuid.UUID) -> None:
        """Do one export job; never raises (the outcome is in the row)."""
        await self._set(export_id, status="running")
        try:
            key, size = await self._produce(export_id)
        except asyncio.CancelledError:
            await self._set(export_id, status="failed", error="interrupted (service stopped)")
            raise
        except Exception as exc:
            log.warning("export failed", extra={"export_id": str(export_id),
                                                "error": repr(exc)[:300]})
            await self._set(export_id, status="failed", error=_reason(exc))
            return
        await self._set(export_id, status="done", object_key=key, size_bytes=size,
                        completed_at=datetime.now(UTC))
        log.info("export done", extra={"export_id": str(export_id), "size_bytes": size})

    async def _produce(self, export_id: uuid.UUID) -> tuple[str, int]:
        async with self._sessions() as session:
            export = (await session.execute(
                select(Export).where(Export.id == export_id))).scalar_one()
            segments = (await session.execute(
                select(Recording)
                .where(Recording.camera_id == export.camera_id,
                       Recording.tenant_id == export.tenant_id,
                       Recording.started_at < export.range_end,
                       Recording.started_at >= export.range_start - timedelta(days=1),
                       Recording.ended_at > export.range_start)
                .order_by(Recording.started_at)
            )).scalars().all()
        if not segments:
            raise ExportProblem("no recordings in the requested range")
        self._work_dir.mkdir(parents=True, exist_ok=True)
        workdir = Path(tempfile.mkdtemp(prefix=f"export-{export_id}-", dir=self._work_dir))
        try:
            paths = []
            for index, segment in enumerate(segments):
                path = workdir / f"{index:05d}{Path(segment.object_key).suffix or '.mp4'}"
                path.write_bytes(await self._store.get_bytes(RECORDINGS_BUCKET,
                                                             segment.object_key))
                paths.append(path)
            first_start = segments[0].started_at
            start_offset = max(0.0, (export.range_start - first_start).total_seconds())
            last_end = min(export.range_end, max(s.ended_at for s in segments))
            begin = max(export.range_start, first_start)
            duration = max(0.0, (last_end - begin).total_seconds())
            output = workdir / "export.mp4"
            await self._concat(paths, output, start_offset=start_offset, duration=duration)
            if not output.exists() or output.stat().st_size == 0:
                raise ExportProblem("ffmpeg produced no output")
            key = export_object_key(export.tenant_id, export.camera_id, export.id)
            size = await self._store.put_file(EXPORTS_BUCKET, key, output, "video/mp4")
            return key, size
        finally:
            shutil.rmtree(workdir, ignore_errors=True)

    async def _set(self, export_id: uuid.UUID, **values: object) -> None:
        async with self._sessions() as session, session.begin():
            await session.execute(
                update(Export).where(Export.id == export_id)
                .values(**values, updated_at=datetime.now(UTC)))

    async def fail_interrupted(self, older_than: timedelta = timedelta(hours=1)) -> int:
        """At startup: jobs left unfinished by a dead process are failed, not left hanging.
        Only stale ones, so a restarting replica does not fail its siblings' jobs."""
        cutoff = datetime.now(UTC) - older_than
        async with self._sessions() as session, session.begin():
            result = await session.execute(
                update(Export).where(Export.status.in_(("pending", "running")),
                                     Export.updated_at < cutoff)
                .values(status="failed", error="interrupted (service restarted)",
                        updated_at=datetime.now(UTC))
                .returning(Export.id))
            return len(result.all())

    async def wait_idle(self, timeout: float = 60.0) -> None:
        if self._tasks:
            await asyncio.wait_for(asyncio.gather(*self._tasks, return_exceptions=True),
                                   timeout)

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)


class ExportProblem(Exception):
    """A reason an export cannot be produced, fit to show the user."""


def _reason(exc: Exception) -> str:
    if isinstance(exc, ExportProblem):
        return str(exc)
    return f"export failed ({type(exc).__name__})"
