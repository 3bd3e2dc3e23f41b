"""Ports of the AI context: recognition (a plate detector, a plate reader, a whole-frame
recogniser), the frames an LPR worker samples, and the live feed WebSocket clients read.

Recognition adapters live in ``streaming_service.infrastructure.detector`` (onnxruntime,
ultralytics), ``...ocr`` and ``...recogniser``; the live feed in ``...live_feed`` (Redis
Streams); unit tests pass fakes. Frames and crops are ``HxWx3`` ``uint8`` arrays in BGR
order (OpenCV's convention).
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple, Protocol

import numpy as np
import numpy.typing as npt

from shared_kernel.events import EventEnvelope
from streaming_service.domain.ai.detection import BBox, PlateRead

Image = npt.NDArray[np.uint8]


@dataclass(frozen=True, slots=True)
class PlateBox:
    """Where a detector thinks a plate is, and how sure it is (0 to 1)."""

    bbox: BBox
    score: float


class OcrReading(NamedTuple):
    """What OCR read on a crop; ``text`` is raw (not yet a validated plate)."""

    text: str
    confidence: float


class PlateDetector(Protocol):
    """Finds licence plates in a whole frame."""

    name: str

    def detect(self, frame: Image) -> list[PlateBox]:
        """Boxes in ``frame``'s pixel coordinates, best first."""
        ...


class PlateReader(Protocol):
    """Reads the characters on one plate crop."""

    name: str

    def read(self, crop: Image) -> OcrReading:
        """The plate's text and confidence; an empty text when nothing was read."""
        ...


class BatchPlateDetector(PlateDetector, Protocol):
    """A detector that also takes several frames (e.g. one per camera) in one call."""

    def detect_batch(self, frames: Sequence[Image]) -> list[list[PlateBox]]:
        """``detect`` for each frame, in order, in one network call where possible."""
        ...


class BatchPlateReader(PlateReader, Protocol):
    """A reader that also takes several crops in one call."""

    def read_batch(self, crops: Sequence[Image]) -> list[OcrReading]:
        """``read`` for each crop, in order, in one network call where possible."""
        ...


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
        self, tenant_id: uuid.UUID, after: str, *, block_ms: int | None, count: int = 100
    ) -> list[LiveEvent]:
        """Events after ``after`` (``"$"``: only new ones), waiting up to ``block_ms``
        for one (``None``: answer at once)."""
        ...

    async def last_id(self, tenant_id: uuid.UUID) -> str:
        """Id of the newest event (``"0-0"`` when empty), to start reading after it."""
        ...

    async def replay_from(self, after: str) -> str:
        """Where a catch-up after ``after`` (an id a client handed back) may start: the
        feed replays a bounded recent past only."""
        ...


@dataclass(frozen=True)
class RecentPlate:
    camera_id: uuid.UUID
    plate: str
    seen_at: float
    """Unix time the plate was last seen on that camera."""


class RecentPlates(Protocol):
    """The plates each tenant's cameras saw lately, de-duplicated or not (a parked car
    stays here while in view): what a new watchlist entry is matched against."""

    async def seen(self, tenant_id: uuid.UUID, camera_id: uuid.UUID,
                   plates: dict[str, float]) -> None:
        """Plates (any layout) → when last seen, on one camera."""
        ...

    async def since(self, tenant_id: uuid.UUID, after: float) -> list[RecentPlate]:
        """The tenant's plates seen after ``after`` (unix time), newest first."""
        ...


@dataclass(frozen=True)
class LiveSegment:
    """One finished segment of a camera's live stream on this host, with its wall-clock
    span (unix seconds)."""

    path: Path
    start: float
    end: float


class LiveSegments(Protocol):
    """The finished live segments of a camera that this host's media engine still keeps
    (the recent past only), oldest first; empty when this host does not run the stream."""

    def segments(self, camera_id: uuid.UUID) -> list[LiveSegment]: ...


class PlateRecogniser(Protocol):
    """Finds and reads every plate in one frame (detector + OCR + plate grammar)."""

    def recognise(self, frame: Image) -> list[PlateRead]: ...


class BatchPlateRecogniser(PlateRecogniser, Protocol):
    """A recogniser that reads several frames (one per camera) in one batched pass."""

    def recognise_batch(self, frames: Sequence[Image]) -> list[list[PlateRead]]: ...


@dataclass(frozen=True)
class SampledFrame:
    image: Image
    at: float
    """Capture time, seconds since the epoch."""


class FrameSource(Protocol):
    """Frames sampled from one camera (at a few per second). Ends when the stream ends."""

    def frames(self) -> AsyncIterator[SampledFrame]: ...

    async def close(self) -> None: ...
