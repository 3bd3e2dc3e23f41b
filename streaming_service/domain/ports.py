"""Ports of the streaming context: what the use cases need from the outside world."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from shared_kernel.events import EventEnvelope, EventPayload
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


SegmentSink = Callable[[CompletedSegment], Awaitable[None]]
StatusSink = Callable[[StreamStatus], Awaitable[None]]


class MediaEngine(Protocol):
    """Turns a camera's RTSP source into live HLS/WebRTC and recorded segments.

    Two adapters: the MediaMTX control-API client (production) and the embedded FFmpeg
    engine (one supervised ffmpeg per stream; default where no MediaMTX is configured).
    Engines report state changes to ``on_status`` and finished segments to ``on_segment``,
    both given at construction.
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

    def hls_path(self, camera_id: uuid.UUID) -> str:
        """Path (relative to the public streaming base URL) of the camera's HLS playlist."""
        ...

    def webrtc_path(self, camera_id: uuid.UUID) -> str | None:
        """Path of the WHEP endpoint, or None when the engine has no WebRTC."""
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


BUCKETS = ("recordings", "snapshots", "lpr-images", "exports", "thumbnails")


class EventPublisher(Protocol):
    """Publishes domain events (``shared_kernel.events`` envelopes) to ``domain.events``.

    The streaming use cases do not call it: they write to the :class:`Outbox`, and the
    outbox relay publishes (see ``RelayPublisher`` in ``infrastructure.outbox``)."""

    async def publish(self, envelope: EventEnvelope) -> None: ...


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
        ``also_to`` (another exchange, or the tenant's live feed, ``ai_ports.LIVE_FEED``):
        one envelope, one event id, one row per destination. Returns the envelope."""
        ...


class StreamTelemetry(Protocol):
    """What the stream, recording and event use cases report (Prometheus in production,
    ``infrastructure.metrics``; nothing in unit tests)."""

    def streams_running(self, count: int) -> None: ...

    def stream_bitrate_kbps(self, camera_id: uuid.UUID, kbps: float | None) -> None:
        """The camera's last bitrate; None when it no longer streams here."""
        ...

    def stream_restarted(self) -> None: ...

    def stream_failed(self) -> None: ...

    def segment_recorded(self) -> None: ...

    def segment_failed(self) -> None: ...

    def event_not_recorded(self, event_type: str) -> None: ...
