"""Periodic thumbnails of live streams (SPEC §2 flow 5).

For every stream the status cache reports live, one frame is grabbed and scaled (ffmpeg,
a small JPEG), stored in the ``thumbnails`` bucket twice: under a timestamped key and as
``<tenant>/<camera>/latest.jpg``, and recorded as a ``snapshots`` row of kind
``thumbnail``. Timestamped thumbnails older than the history window are pruned (object,
then row). Operators ask for a camera's newest one through the API.
"""

from __future__ import annotations

import logging
import struct
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from streaming_service.application.audit import Actor, AuditTrail
from streaming_service.application.snapshots import failure_of
from streaming_service.domain.errors import CameraSourceRefused, SnapshotFailed, ThumbnailNotFound
from streaming_service.domain.ports import ObjectStore, StreamStatusCache
from streaming_service.domain.recording import (
    THUMBNAILS_BUCKET,
    thumbnail_latest_key,
    thumbnail_object_key,
)
from streaming_service.domain.stream import StreamState
from streaming_service.infrastructure.db.models import Camera, Snapshot
from streaming_service.infrastructure.db.repository import get_camera

log = logging.getLogger(__name__)

THUMBNAIL_KIND = "thumbnail"


class ThumbnailGrabber(Protocol):
    """One JPEG frame of ``source`` (RTSP URL, HLS playlist or file), ``width`` px wide."""

    async def __call__(self, source: str, *, width: int) -> bytes: ...


SourceResolver = Callable[[Camera], str]
"""Where to read a camera's frame: its live playlist when this host has one, else the
camera itself. The result may hold credentials: it goes to the grabber only."""


@dataclass(frozen=True)
class Thumbnail:
    snapshot: Snapshot
    url: str


@dataclass(frozen=True)
class ThumbnailReport:
    live: int
    stored: int
    failed: int
    pruned: int


class Thumbnails:
    def __init__(
        self,
        *,
        sessions: async_sessionmaker[AsyncSession],
        store: ObjectStore,
        cache: StreamStatusCache,
        grab: ThumbnailGrabber,
        source_for: SourceResolver,
        width: int = 320,
        history: timedelta = timedelta(hours=24),
        url_ttl_seconds: int = 600,
        audit: AuditTrail | None = None,
    ) -> None:
        self._sessions = sessions
        self._audit = audit
        self._store = store
        self._cache = cache
        self._grab = grab
        self._source_for = source_for
        self._width = width
        self._history = history
        self._url_ttl = url_ttl_seconds

    async def refresh_live(self) -> ThumbnailReport:
        """One pass over every live stream; a camera that fails does not stop the rest."""
        async with self._sessions() as session:
            tenant_ids = (await session.execute(
                select(Camera.tenant_id).where(Camera.decommissioned_at.is_(None)).distinct()
            )).scalars().all()
        live = stored = failed = pruned = 0
        for tenant_id in tenant_ids:
            for status in await self._cache.for_tenant(tenant_id):
                if status.state is not StreamState.LIVE:
                    continue
                live += 1
                try:
                    await self.refresh(status.camera_id, status.tenant_id)
                except Exception as exc:
                    failed += 1
                    log.warning("thumbnail failed", extra={
                        "camera_id": str(status.camera_id), "error_type": type(exc).__name__})
                    continue
                stored += 1
                try:
                    pruned += await self.prune(status.camera_id)
                except Exception as exc:
                    log.warning("pruning thumbnails failed", extra={
                        "camera_id": str(status.camera_id), "error": repr(exc)[:300]})
        report = ThumbnailReport(live=live, stored=stored, failed=failed, pruned=pruned)
        log.info("thumbnails refreshed", extra=report.__dict__)
        return report

    async def refresh(self, camera_id: uuid.UUID, tenant_id: uuid.UUID | None) -> Snapshot:
        async with self._sessions() as session:
            camera = await get_camera(session, camera_id, tenant_id)
        try:
            data = await self._grab(self._source_for(camera), width=self._width)
        except CameraSourceRefused:
            raise
        except Exception as exc:
            # The grabber's error may quote the camera URL: say only what failed.
            raise SnapshotFailed("could not take a frame from the stream",
                                 {"camera_id": str(camera.id),
                                  "reason": failure_of(exc).value}) from exc
        width, height = jpeg_size(data)
        taken_at = datetime.now(UTC)
        key = thumbnail_object_key(camera.tenant_id, camera.id, taken_at)
        latest = thumbnail_latest_key(camera.tenant_id, camera.id)
        size = await self._store.put_bytes(THUMBNAILS_BUCKET, key, data, "image/jpeg")
        await self._store.put_bytes(THUMBNAILS_BUCKET, latest, data, "image/jpeg")
        snapshot = Snapshot(
            id=uuid.uuid4(), tenant_id=camera.tenant_id, camera_id=camera.id,
            kind=THUMBNAIL_KIND, taken_at=taken_at, bucket=THUMBNAILS_BUCKET, object_key=key,
            content_type="image/jpeg", size_bytes=size, width=width, height=height,
            requested_by=None, details={"latest_key": latest},
        )
        async with self._sessions() as session, session.begin():
            session.add(snapshot)
        return snapshot

    async def prune(self, camera_id: uuid.UUID, *, now: datetime | None = None) -> int:
        """Delete the camera's timestamped thumbnails older than the history window (the
        newest one is always kept). Objects that fail to delete keep their row."""
        cutoff = (now or datetime.now(UTC)) - self._history
        async with self._sessions() as session:
            newest = (await session.execute(
                select(Snapshot.id).where(Snapshot.camera_id == camera_id,
                                          Snapshot.kind == THUMBNAIL_KIND)
                .order_by(Snapshot.taken_at.desc()).limit(1))).scalar_one_or_none()
            old = (await session.execute(
                select(Snapshot.id, Snapshot.object_key)
                .where(Snapshot.camera_id == camera_id, Snapshot.kind == THUMBNAIL_KIND,
                       Snapshot.taken_at < cutoff, Snapshot.id != newest)
                .limit(1000))).all()
        gone: list[uuid.UUID] = []
        for snapshot_id, key in old:
            try:
                await self._store.delete(THUMBNAILS_BUCKET, key)
            except Exception as exc:
                log.warning("could not delete thumbnail object",
                            extra={"object_key": key, "error": repr(exc)[:300]})
                continue
            gone.append(snapshot_id)
        if gone:
            async with self._sessions() as session, session.begin():
                await session.execute(delete(Snapshot).where(Snapshot.id.in_(gone)))
        return len(gone)

    async def latest(
        self, camera_id: uuid.UUID, tenant_id: uuid.UUID | None, *, actor: Actor | None = None
    ) -> Thumbnail:
        """The camera's newest thumbnail and an expiring URL; 404 when it has none. The
        actor's view is audited (once per audit window) before the URL is handed out."""
        async with self._sessions() as session:
            camera = await get_camera(session, camera_id, tenant_id)
            snapshot = (await session.execute(
                select(Snapshot)
                .where(Snapshot.camera_id == camera.id, Snapshot.tenant_id == camera.tenant_id,
                       Snapshot.kind == THUMBNAIL_KIND)
                .order_by(Snapshot.taken_at.desc()).limit(1))).scalar_one_or_none()
        if snapshot is None:
            raise ThumbnailNotFound("the camera has no thumbnail yet",
                                    {"camera_id": str(camera_id)})
        if actor is not None and self._audit is not None:
            await self._audit.record_view(actor, "thumbnail.view", object_type="camera",
                                          object_id=camera.id, tenant_id=camera.tenant_id)
        url = await self._store.presigned_get_url(snapshot.bucket, snapshot.object_key,
                                                  self._url_ttl)
        return Thumbnail(snapshot=snapshot, url=url)


_SOF_MARKERS = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}


def jpeg_size(data: bytes) -> tuple[int | None, int | None]:
    """(width, height) from a JPEG's start-of-frame header; (None, None) if not found."""
    if not data.startswith(b"\xff\xd8"):
        return None, None
    index = 2
    while index + 4 <= len(data):
        if data[index] != 0xFF:
            return None, None
        marker = data[index + 1]
        if marker == 0xFF:  # fill byte
            index += 1
            continue
        if marker in (0x01, *range(0xD0, 0xD8)):  # markers without a length
            index += 2
            continue
        (length,) = struct.unpack(">H", data[index + 2:index + 4])
        if marker in _SOF_MARKERS and index + 9 <= len(data):
            height, width = struct.unpack(">HH", data[index + 5:index + 9])
            return int(width), int(height)
        index += 2 + length
    return None, None
