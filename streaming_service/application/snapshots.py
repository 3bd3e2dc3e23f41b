"""Snapshots on demand: one frame of the camera as JPEG in the ``snapshots`` bucket, with
its metadata row; the caller gets the metadata and an expiring URL."""

from __future__ import annotations

import logging
import shutil
import tempfile
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared_kernel.crypto import CredentialCipher
from streaming_service.application.audit import Actor, AuditTrail
from streaming_service.domain.errors import CameraSourceRefused, SnapshotFailed
from streaming_service.domain.ports import ObjectStore
from streaming_service.domain.recording import SNAPSHOTS_BUCKET, snapshot_object_key
from streaming_service.domain.stream import StreamFailure
from streaming_service.infrastructure.db.models import Snapshot
from streaming_service.infrastructure.db.repository import get_streamable_camera

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class GrabbedFrame:
    width: int | None
    height: int | None


class FrameGrabber(Protocol):
    """Writes one JPEG frame of ``source`` (an RTSP URL or a local playlist) to ``output``.

    Raises ``CameraSourceRefused`` for a camera the network policy refuses; any other
    error may carry a ``failure`` attribute (a ``StreamFailure``) saying why."""

    async def __call__(self, source: str, output: Path) -> GrabbedFrame: ...


def failure_of(exc: BaseException) -> StreamFailure:
    """The ``StreamFailure`` a grabber's error carries, else ``stream_error``."""
    failure = getattr(exc, "failure", None)
    return failure if isinstance(failure, StreamFailure) else StreamFailure.STREAM_ERROR


@dataclass(frozen=True)
class TakenSnapshot:
    snapshot: Snapshot
    url: str


class Snapshots:
    def __init__(
        self,
        *,
        sessions: async_sessionmaker[AsyncSession],
        store: ObjectStore,
        cipher: CredentialCipher,
        grab: FrameGrabber,
        work_dir: Path,
        audit: AuditTrail,
        url_ttl_seconds: int = 600,
    ) -> None:
        self._sessions = sessions
        self._audit = audit
        self._store = store
        self._cipher = cipher
        self._grab = grab
        self._work_dir = work_dir
        self._url_ttl = url_ttl_seconds

    async def take(
        self, *, camera_id: uuid.UUID, tenant_id: uuid.UUID | None, actor: Actor
    ) -> TakenSnapshot:
        """Grab, store and record a snapshot; the row and its audit record commit together,
        before the URL is handed out."""
        async with self._sessions() as session:
            camera = await get_streamable_camera(session, camera_id, tenant_id)
        snapshot_id = uuid.uuid4()
        taken_at = datetime.now(UTC)
        self._work_dir.mkdir(parents=True, exist_ok=True)
        workdir = Path(tempfile.mkdtemp(prefix="snapshot-", dir=self._work_dir))
        try:
            output = workdir / "frame.jpg"
            try:
                frame = await self._grab(self._cipher.decrypt(camera.rtsp_url_encrypted), output)
            except CameraSourceRefused:
                raise
            except Exception as exc:
                # The grabber's error may quote the camera URL: say only what failed, as
                # a stable code when the grabber knows it.
                reason = failure_of(exc)
                log.warning("snapshot failed", extra={"camera_id": str(camera.id),
                                                      "error_type": type(exc).__name__,
                                                      "failure": reason.value})
                raise SnapshotFailed("could not take a frame from the camera",
                                     {"camera_id": str(camera.id), "reason": reason.value}
                                     ) from exc
            if not output.exists() or output.stat().st_size == 0:
                raise SnapshotFailed("the camera gave no frame", {"camera_id": str(camera.id)})
            key = snapshot_object_key(camera.tenant_id, camera.id, snapshot_id, taken_at)
            size = await self._store.put_file(SNAPSHOTS_BUCKET, key, output, "image/jpeg")
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
        snapshot = Snapshot(
            id=snapshot_id, tenant_id=camera.tenant_id, camera_id=camera.id, kind="snapshot",
            taken_at=taken_at, bucket=SNAPSHOTS_BUCKET, object_key=key,
            content_type="image/jpeg", size_bytes=size, width=frame.width, height=frame.height,
            requested_by=actor.user_id, details={},
        )
        async with self._sessions() as session, session.begin():
            session.add(snapshot)
            await self._audit.add(session, actor, "snapshot.take", object_type="snapshot",
                                  object_id=snapshot.id, tenant_id=camera.tenant_id,
                                  after={"camera_id": str(camera.id)})
        url = await self._store.presigned_get_url(SNAPSHOTS_BUCKET, key, self._url_ttl)
        return TakenSnapshot(snapshot=snapshot, url=url)
