"""Event clips: for cameras with ``recording_mode = events``, a short MP4 around each plate
detection (and so around each alert), cut by the media engine from the recent video it
keeps, stored in the ``lpr-clips`` bucket and listed with the detection.

A loop in the API process looks every second for recent detections of events-mode
cameras without a clip. Once the post-roll has passed, it asks the engine
(:meth:`~streaming_service.domain.ports.MediaEngine.cut_clip`) for ``[detected_at -
pre_roll, detected_at + post_roll]`` (``detected_at`` is the first frame the plate was
read in): the FFmpeg engine joins its finished live HLS segments (stream copy), MediaMTX
serves the span from its recording buffer through its playback server. The clip is
uploaded and its key recorded in the detection's metadata (``clip_key``; a failure is
recorded as ``clip_error`` and not retried; a span still being recorded is asked for
again until ``give_up_seconds`` after its end). An engine that does not run the camera's
stream (another replica's FFmpeg) leaves the detection to the one that does. Every API
process (each worker of each replica) runs the loop: a short claim on the detection
(``WorkClaims``, Redis) lets one of them cut it, and is given back when that one could not
(not its stream, not recorded yet). Every clip URL handed out is audited
(``detection.clip``) before it leaves.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
import tempfile
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import bindparam, select, update
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared_kernel.lifecycle import sleep_until_stopped
from streaming_service.application.audit import Actor, AuditTrail
from streaming_service.domain.errors import NotFound
from streaming_service.domain.ports import ClipNotReady, ClipSpan, ClipUnavailable, ObjectStore
from streaming_service.infrastructure.db.models import Camera
from streaming_service.infrastructure.db.models.ai import Detection

log = logging.getLogger(__name__)

CLIPS_BUCKET = "lpr-clips"
EVENTS_MODE = "events"
SETTLE_SECONDS = 1.5
"""After the post-roll, how long to wait for the segment that covers it to be finished."""


class ClipSource(Protocol):
    """What cuts the clips: the media engine (``MediaEngine.cut_clip``)."""

    async def cut_clip(self, camera_id: uuid.UUID, start: datetime, end: datetime,
                       output: Path) -> ClipSpan | None: ...


class WorkClaims(Protocol):
    """Short claims on items of work that several processes see (``SET NX`` with a TTL)."""

    async def claim(self, item: str) -> bool:
        """True when this process took ``item`` (nobody else holds it)."""
        ...

    async def release(self, item: str) -> None: ...


class ClipNotFound(NotFound):
    code = "clip_not_found"


def clip_key(detection: Detection) -> str:
    at = detection.detected_at.astimezone(UTC)
    return f"{detection.tenant_id}/{detection.camera_id}/{at:%Y/%m/%d}/{detection.id}.mp4"


def clip_path(detection_id: uuid.UUID) -> str:
    """The API path a client asks for a detection's clip URL (authenticated, audited)."""
    return f"/api/ai/detections/{detection_id}/clip"


def has_clip(details: dict[str, Any] | None) -> bool:
    return bool(details and details.get("clip_key"))


class EventClips:
    def __init__(
        self,
        *,
        sessions: async_sessionmaker[AsyncSession],
        store: ObjectStore,
        engine: ClipSource,
        audit: AuditTrail,
        work_dir: Path,
        pre_roll_seconds: float = 3.0,
        post_roll_seconds: float = 5.0,
        lookback: timedelta = timedelta(minutes=2),
        url_ttl_seconds: int = 600,
        give_up_seconds: float = 60.0,
        claims: WorkClaims | None = None,
    ) -> None:
        self._sessions = sessions
        self._claims = claims
        self._store = store
        self._engine = engine
        self._give_up = give_up_seconds
        self._audit = audit
        self._work_dir = work_dir
        self.pre_roll = pre_roll_seconds
        self.post_roll = post_roll_seconds
        self._lookback = lookback
        self._url_ttl = url_ttl_seconds

    async def run(self, stop: asyncio.Event, interval: float = 1.0) -> None:
        while not stop.is_set():
            try:
                await self.tick()
            except Exception as exc:
                log.warning("event clips tick failed", extra={"error": repr(exc)[:300]})
            await sleep_until_stopped(stop, interval)

    async def tick(self, now: datetime | None = None) -> int:
        """Clip every due detection this host has video for; returns how many were cut."""
        now = now or datetime.now(UTC)
        made = 0
        for detection in await self._pending(now):
            due = detection.detected_at + timedelta(seconds=self.post_roll + SETTLE_SECONDS)
            if now < due:
                continue
            if self._claims is not None and not await self._claims.claim(str(detection.id)):
                continue  # another process is cutting it
            if await self.capture(detection, now=now):
                made += 1
            elif self._claims is not None:
                await self._claims.release(str(detection.id))
        return made

    async def _pending(self, now: datetime) -> list[Detection]:
        async with self._sessions() as session:
            rows = await session.execute(
                select(Detection)
                .join(Camera, Camera.id == Detection.camera_id)
                .where(Camera.recording_mode == EVENTS_MODE,
                       Detection.detected_at >= now - self._lookback,
                       ~Detection.details.has_key("clip_key"),
                       ~Detection.details.has_key("clip_error"))
                .order_by(Detection.detected_at).limit(50))
            return list(rows.scalars().all())

    async def capture(self, detection: Detection, *, now: datetime | None = None) -> bool:
        """Cut, store and record the clip of ``detection``; False when it was not made:
        not this host's stream or not recorded yet (left for later), or failed
        (``clip_error`` recorded)."""
        now = now or datetime.now(UTC)
        start = detection.detected_at - timedelta(seconds=self.pre_roll)
        end = detection.detected_at + timedelta(seconds=self.post_roll)
        self._work_dir.mkdir(parents=True, exist_ok=True)
        workdir = Path(tempfile.mkdtemp(prefix=f"clip-{detection.id}-", dir=self._work_dir))
        try:
            output = workdir / "clip.mp4"
            span = await self._engine.cut_clip(detection.camera_id, start, end, output)
            if span is None:
                return False  # not this host's stream
            if not output.exists() or output.stat().st_size == 0:
                raise RuntimeError("the engine produced no clip")
            key = clip_key(detection)
            await self._store.put_file(CLIPS_BUCKET, key, output, "video/mp4")
        except ClipNotReady as exc:
            if now < end + timedelta(seconds=self._give_up):
                log.info("event clip not recorded yet", extra={
                    "detection_id": str(detection.id), "reason": str(exc)[:200]})
                return False
            await self._fail(detection, exc, "the video around the detection was not "
                                              "recorded in time")
            return False
        except Exception as exc:
            await self._fail(detection, exc, None)
            return False
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
        await self._mark(detection, {
            "clip_key": key,
            "clip_start": span.start.astimezone(UTC).isoformat(),
            "clip_end": span.end.astimezone(UTC).isoformat()})
        log.info("event clip stored", extra={"detection_id": str(detection.id)})
        return True

    async def _fail(self, detection: Detection, exc: Exception, reason: str | None) -> None:
        log.warning("event clip failed", extra={"detection_id": str(detection.id),
                                                "error": repr(exc)[:300]})
        if reason is None:
            reason = (str(exc)[:200] if isinstance(exc, ClipUnavailable)
                      else f"clip failed ({type(exc).__name__})")
        await self._mark(detection, {"clip_error": reason})

    async def _mark(self, detection: Detection, values: dict[str, Any]) -> None:
        async with self._sessions() as session, session.begin():
            await session.execute(
                update(Detection)
                .where(Detection.id == detection.id,
                       Detection.detected_at == detection.detected_at)
                .values(details=Detection.details.op("||")(
                    bindparam("clip", values, type_=JSONB))))

    async def url(self, detection: Detection, *, actor: Actor) -> tuple[str, datetime]:
        """An expiring URL of the detection's clip, audited before it is handed out."""
        key = (detection.details or {}).get("clip_key")
        if not key:
            raise ClipNotFound("this detection has no clip",
                               {"detection_id": str(detection.id)})
        await self._audit.record(actor, "detection.clip", object_type="detection",
                                 object_id=detection.id, tenant_id=detection.tenant_id,
                                 after={"camera_id": str(detection.camera_id)})
        url = await self._store.presigned_get_url(CLIPS_BUCKET, str(key), self._url_ttl)
        return url, datetime.now(UTC) + timedelta(seconds=self._url_ttl)
