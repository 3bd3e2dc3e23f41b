"""Ports of the AI context beyond recognition itself (see ``lpr_ports`` for the detector
and OCR): the live feed that WebSocket clients read, a whole-frame plate recogniser, and
the frame source an LPR worker samples."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, Protocol

from shared_kernel.events import EventEnvelope
from streaming_service.domain.detection import PlateRead
from streaming_service.domain.lpr_ports import Image

LIVE_FEED = "live"
"""The outbox destination (in place of an exchange) of the tenant's live feed: use cases
add their live events with ``also_to=[(LIVE_FEED, "")]`` and the outbox relay's live lane
appends them to the feed once committed."""


@dataclass(frozen=True)
class LiveEvent:
    """An event on a tenant's live feed; ``id`` is the feed's position (a Redis stream id),
    which a reconnecting client hands back to catch up."""

    id: str
    data: dict[str, Any]


class LiveFeed(Protocol):
    """Per-tenant ordered feed of live events, shared by every API replica."""

    async def append(self, envelope: EventEnvelope) -> str:
        """Add the event to its tenant's feed; returns its feed id. Idempotent by event id:
        appending the same event again returns the first append's id and adds nothing."""
        ...

    async def read(
        self, tenant_id: uuid.UUID, after: str, *, block_ms: int, count: int = 100
    ) -> list[LiveEvent]:
        """Events after ``after`` (``"$"``: only new ones), waiting up to ``block_ms``."""
        ...

    async def last_id(self, tenant_id: uuid.UUID) -> str:
        """Id of the newest event (``"0-0"`` when empty), to start reading after it."""
        ...


class PlateRecogniser(Protocol):
    """Finds and reads every plate in one frame (detector + OCR + plate grammar)."""

    def recognise(self, frame: Image) -> list[PlateRead]: ...


@dataclass(frozen=True)
class Frame:
    image: Image
    at: float
    """Capture time, seconds since the epoch."""


class FrameSource(Protocol):
    """Frames sampled from one camera (at a few per second). Ends when the stream ends."""

    def frames(self) -> AsyncIterator[Frame]: ...

    async def close(self) -> None: ...
