"""Ports of the streaming context: what the use cases need from the outside world."""

from __future__ import annotations

import asyncio
import enum
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from shared_kernel.events import EventEnvelope, EventPayload
from streaming_service.domain.report_document import ReportDocument
from streaming_service.domain.stream import StreamSource, StreamStatus

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession


@dataclass(frozen=True)
class CompletedSegment:
    """A finished recording segment on local disk, ready to be uploaded."""

    camera_id: uuid.UUID
    tenant_id: uuid.UUID
    path: Path
    started_at: datetime
    ended_at: datetime


@dataclass(frozen=True)
class EngineUrls:
    """Where players find a camera's live stream: an HLS playlist and, when the engine
    has WebRTC, a WHEP endpoint. Absolute, or relative to the API's public base URL."""

    hls: str
    webrtc: str | None = None


@dataclass(frozen=True)
class ClipSpan:
    """The wall-clock span an event clip written by :meth:`MediaEngine.cut_clip` covers
    (within a keyframe: stream copy cuts on the keyframe at or before the start)."""

    start: datetime
    end: datetime


class ClipUnavailable(Exception):
    """The engine keeps no video of the requested span (the stream was down, the buffer
    no longer holds it, the engine refused): the clip will not be made."""


class ClipNotReady(ClipUnavailable):
    """The span is not completely recorded yet: ask again a little later."""


SegmentSink = Callable[[CompletedSegment], Awaitable[object]]
StatusSink = Callable[[StreamStatus], Awaitable[None]]


class MediaEngine(Protocol):
    """Turns a camera's RTSP source into live HLS/WebRTC and recorded segments.

    Two adapters (``infrastructure/engines``): MediaMTX through its control API
    (production) and the embedded FFmpeg engine (one supervised ffmpeg per stream; the
    default where no MediaMTX runs). An engine reports state changes and finished
    recording segments to the listeners given to :meth:`listen`, and knows the public
    URLs of its streams.
    """

    name: str

    async def start(self, source: StreamSource) -> StreamStatus:
        """Start (or keep) the camera's stream; idempotent."""
        ...

    async def stop(self, camera_id: uuid.UUID) -> None:
        """Stop the stream and its recording; leaves no process or open file behind."""
        ...

    async def set_recording(self, camera_id: uuid.UUID, enabled: bool) -> None: ...

    async def status(self, camera_id: uuid.UUID) -> StreamStatus | None: ...

    def listen(self, *, on_status: StatusSink | None = None,
               on_segment: SegmentSink | None = None) -> None:
        """Where to report state changes and finished recording segments (each given
        sink replaces the previous one)."""
        ...

    def urls(self, camera_id: uuid.UUID) -> EngineUrls:
        """The public URLs of the camera's live stream, without any token."""
        ...

    async def cut_clip(self, camera_id: uuid.UUID, start: datetime, end: datetime,
                       output: Path) -> ClipSpan | None:
        """Write the camera's video from ``start`` to ``end`` (the recent past) to
        ``output`` as a progressive MP4 (event clips, ``recording_mode = events``) and
        return the span it covers. None when this engine instance holds no video of the
        camera (another replica runs its stream). Raises :class:`ClipNotReady` while the
        span is still being recorded, :class:`ClipUnavailable` when it cannot be had."""
        ...

    async def close(self) -> None:
        """Stop everything (service shutdown)."""
        ...


class ObjectStore(Protocol):
    """Object storage (S3/MinIO or the local filesystem) for the buckets of SPEC §4."""

    async def put_file(self, bucket: str, key: str, path: Path, content_type: str) -> int:
        """Upload a file; returns its size in bytes."""
        ...

    async def put_bytes(self, bucket: str, key: str, data: bytes, content_type: str) -> int: ...

    async def get_bytes(self, bucket: str, key: str) -> bytes: ...

    async def delete(self, bucket: str, key: str) -> None: ...

    async def exists(self, bucket: str, key: str) -> bool: ...

    async def presigned_get_url(self, bucket: str, key: str, expires_seconds: int) -> str: ...

    async def ensure_buckets(self) -> None: ...


BUCKETS = ("recordings", "snapshots", "lpr-images", "exports", "thumbnails", "lpr-clips")


class Outbox(Protocol):
    """Where a use case puts the events of a change, inside the change's transaction:
    both commit or neither does. The relay publishes committed events afterwards, so a
    broker (or Redis) outage delays events but never loses them."""

    async def add(
        self,
        session: AsyncSession,
        payload: EventPayload,
        *,
        tenant_id: uuid.UUID | None,
        exchange: str = "domain.events",
        routing_key: str = "",
        also_to: Sequence[tuple[str, str]] = (),
    ) -> EventEnvelope:
        """Store the event in ``session``'s open transaction for ``exchange`` and
        ``routing_key``, and for each further ``(destination, routing_key)`` of
        ``also_to`` (another exchange, or the tenant's live feed, ``domain.ai.ports.LIVE_FEED``):
        one envelope, one event id, one row per destination. Returns the envelope."""
        ...


class StreamTelemetry(Protocol):
    """What the stream, recording and event use cases report (Prometheus in production,
    ``infrastructure.metrics``; nothing in unit tests)."""

    def streams_running(self, count: int, *, engine: str) -> None:
        """How many streams ``engine`` runs on this instance."""
        ...

    def stream_bitrate_kbps(self, camera_id: uuid.UUID, kbps: float | None) -> None:
        """The camera's last bitrate; None when it no longer streams here."""
        ...

    def stream_restarted(self, reason: str) -> None:
        """The engine reconnects a stream; ``reason`` is a ``StreamFailure`` code."""
        ...

    def stream_failed(self, reason: str) -> None:
        """A stream failed for good; ``reason`` is a ``StreamFailure`` code."""
        ...

    def segment_recorded(self) -> None: ...

    def segment_failed(self) -> None: ...

    def event_not_recorded(self, event_type: str) -> None: ...


class StreamStatusCache(Protocol):
    """Every replica's view of the streams' last known states (Redis in production)."""

    async def put(self, status: StreamStatus) -> None: ...

    async def get(self, camera_id: uuid.UUID) -> StreamStatus | None: ...

    async def remove(self, camera_id: uuid.UUID, tenant_id: uuid.UUID) -> None: ...

    async def for_tenant(self, tenant_id: uuid.UUID) -> list[StreamStatus]: ...


class OwnerAction(enum.StrEnum):
    STOP = "stop"
    RECORDING_ON = "recording_on"
    RECORDING_OFF = "recording_off"


@dataclass(frozen=True)
class OwnerCommand:
    """What one replica asks of the replica whose engine runs a camera's stream: only
    that process can stop its ffmpeg or switch its recording."""

    camera_id: uuid.UUID
    action: OwnerAction


class OwnerReply(enum.StrEnum):
    DONE = "done"
    NOT_RUNNING = "not_running"
    """No replica runs the camera's stream (none holds it, or its engine no longer does)."""
    FAILED = "failed"


OwnerCommandHandler = Callable[[OwnerCommand], Awaitable[OwnerReply]]


class StreamOwnership(Protocol):
    """Which replica runs each camera's stream: a short per-camera lease its owner renews
    while its engine runs the stream (Redis in production). A replica that dies stops
    renewing; once the lease expired, the recording keeper of another replica takes the
    camera over. Two replicas never run the same camera at once."""

    async def claim(self, camera_id: uuid.UUID) -> bool:
        """Take the camera (or extend it when ours). False: another live replica has it."""
        ...

    async def renew(self, camera_ids: list[uuid.UUID]) -> set[uuid.UUID]:
        """Extend (or take again, when expired and free) the leases of ``camera_ids``;
        returns those still ours."""
        ...

    async def release(self, camera_id: uuid.UUID) -> None: ...

    async def is_held(self, camera_id: uuid.UUID) -> bool:
        """Whether any live replica (this one included) holds the camera."""
        ...

    async def request_stop(self, camera_id: uuid.UUID) -> None:
        """Ask the camera's owner (another replica) to stop its stream."""
        ...

    async def take_stop_requests(self, camera_ids: list[uuid.UUID]) -> set[uuid.UUID]:
        """Those of ``camera_ids`` someone asked to stop (each request is taken once)."""
        ...

    async def ask_owner(self, command: OwnerCommand, timeout_seconds: float) -> OwnerReply | None:
        """Hand ``command`` to the replica holding its camera and wait for what it did:
        ``NOT_RUNNING`` when no other replica holds the camera, None when its holder did
        not answer within ``timeout_seconds`` (it may be dying; its lease will tell)."""
        ...

    async def serve_owner_commands(self, handle: OwnerCommandHandler,
                                   stop: asyncio.Event) -> None:
        """Run ``handle`` on the commands other replicas send this one, until ``stop``."""
        ...


class MediaTokenIssuer(Protocol):
    """Mints the short-lived token a player's media URLs carry."""

    def issue(self, camera_id: uuid.UUID, tenant_id: uuid.UUID, *, user_id: uuid.UUID,
              session_version: int = 0, session_id: str | None = None) -> str: ...


@dataclass(frozen=True)
class CameraRecord:
    """A camera as the streaming side knows it (its projection of the admin service's)."""

    id: uuid.UUID
    tenant_id: uuid.UUID
    rtsp_url_encrypted: str
    recording_mode: str
    status: str
    decommissioned: bool = False


class CameraDirectory(Protocol):
    """Tenant-scoped camera lookups: another tenant's camera is a missing one."""

    async def get(self, camera_id: uuid.UUID, tenant_id: uuid.UUID | None, *,
                  include_decommissioned: bool = False) -> CameraRecord:
        """Raises ``CameraNotFound``; ``tenant_id`` None is unscoped (internal jobs)."""
        ...

    async def streamable(self, camera_id: uuid.UUID,
                         tenant_id: uuid.UUID | None) -> CameraRecord:
        """Also raises ``CameraUnavailable`` for a camera that must not be pulled."""
        ...

    async def all_streamable(self) -> list[CameraRecord]:
        """Every camera that may be pulled, of every tenant, in id order."""
        ...


class ReportRenderer(Protocol):
    """Turns a report document into a file (the PDF export of every report)."""

    media_type: str

    def render(self, document: ReportDocument) -> bytes: ...
