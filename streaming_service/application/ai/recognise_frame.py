"""Use case: recognise the licence plates in one frame.

frame → plate detector → crops (with a margin) → OCR → ``PlateNumber`` → ``PlateRead``s.
Called by ``POST /api/ai/lpr/recognize`` for an uploaded image and by the LPR worker for
every sampled frame (whose reads then go to ``PlateTracker``); ``RecogniseFrame.batch``
takes the frames of several cameras at once (batched inference, the GPU lever). Stage
latencies are returned with the result so callers can export them as metrics (in a
batch, each frame carries the batch's stage times).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

from shared_kernel.plates import PlateNumber
from streaming_service.domain.ai.detection import BBox, PlateRead
from streaming_service.domain.ai.ports import (
    Image,
    OcrReading,
    PlateBox,
    PlateDetector,
    PlateReader,
)


@dataclass(frozen=True, slots=True)
class RejectedRead:
    """A detected box whose text did not make a plate (kept for debugging and metrics)."""

    raw_text: str
    confidence: float
    detector_score: float
    reason: str


@dataclass(frozen=True, slots=True)
class StageTimings:
    detect_ms: float
    ocr_ms: float
    total_ms: float
    crops: int


@dataclass(frozen=True, slots=True)
class FrameRecognition:
    reads: list[PlateRead]
    timings: StageTimings
    rejected: list[RejectedRead] = field(default_factory=list)


class InvalidFrame(ValueError):
    """The input is not an ``HxWx3`` ``uint8`` image."""


@dataclass(frozen=True, slots=True)
class RecognitionSettings:
    min_detector_score: float = 0.25
    min_ocr_confidence: float = 0.6
    """Reads below this are rejected; see docs/models.md for how it was chosen."""
    crop_margin_x: float = 0.04
    crop_margin_y: float = 0.10
    max_plates: int = 10
    max_box_aspect: float = 6.5
    """Boxes wider than this many times their height are not read: a one-row plate is
    3.1:1 and stays under 6.5:1 seen from up to 60° above; a camera's on-screen clock
    or name line (7:1 and wider, in every frame) would cost two reads each."""


class RecogniseFrame:
    """The use case; ``batch`` reads several frames (one per camera) in one pass, with one
    detector call and one reader call when the adapters take batches (``detect_batch``,
    ``read_batch``), else frame by frame and crop by crop."""

    def __init__(
        self,
        detector: PlateDetector,
        reader: PlateReader,
        settings: RecognitionSettings | None = None,
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        self.detector = detector
        self.reader = reader
        self.settings = settings or RecognitionSettings()
        self._clock = clock

    def __call__(self, frame: Image) -> FrameRecognition:
        return self.batch([frame])[0]

    def batch(self, frames: Sequence[Image]) -> list[FrameRecognition]:
        for frame in frames:
            _check(frame)
        if not frames:
            return []
        cfg = self.settings
        start = self._clock()
        detect_batch = getattr(self.detector, "detect_batch", None)
        found: list[list[PlateBox]] = (
            detect_batch(list(frames))
            if detect_batch is not None
            else [self.detector.detect(frame) for frame in frames]
        )
        detected = self._clock()
        jobs: list[tuple[int, PlateBox, Image]] = []
        per_frame_boxes: list[int] = []
        rejected: list[list[RejectedRead]] = [[] for _ in frames]
        for index, (frame, boxes) in enumerate(zip(frames, found, strict=True)):
            kept = []
            for box in (b for b in boxes if b.score >= cfg.min_detector_score):
                if box.bbox.width > cfg.max_box_aspect * box.bbox.height:
                    rejected[index].append(RejectedRead("", 0.0, box.score, "not plate-shaped"))
                else:
                    kept.append(box)
            kept = sorted(kept, key=lambda b: b.score, reverse=True)[: cfg.max_plates]
            per_frame_boxes.append(len(kept))
            for box in kept:
                crop = plate_crop(frame, box.bbox, cfg)
                if crop is not None:
                    jobs.append((index, box, crop))
        read_batch = getattr(self.reader, "read_batch", None)
        crops = [crop for _, _, crop in jobs]
        readings: list[OcrReading] = (
            list(read_batch(crops))
            if read_batch is not None and crops
            else [self.reader.read(crop) for crop in crops]
        )
        reads: list[list[PlateRead]] = [[] for _ in frames]
        for (index, box, crop), reading in zip(jobs, readings, strict=True):
            try:
                plate = PlateNumber.parse(reading.text)
            except ValueError:
                rejected[index].append(
                    RejectedRead(reading.text, reading.confidence, box.score, "not a plate")
                )
                continue
            if reading.confidence < cfg.min_ocr_confidence:
                rejected[index].append(
                    RejectedRead(reading.text, reading.confidence, box.score, "low confidence")
                )
                continue
            reads[index].append(
                PlateRead(
                    plate=plate,
                    confidence=float(reading.confidence),
                    bbox=box.bbox,
                    detector_score=box.score,
                    raw_text=reading.text,
                    crop=crop.copy(),
                )
            )
        done = self._clock()
        return [
            FrameRecognition(
                reads[i],
                StageTimings(
                    detect_ms=(detected - start) * 1000,
                    ocr_ms=(done - detected) * 1000,
                    total_ms=(done - start) * 1000,
                    crops=per_frame_boxes[i],
                ),
                rejected[i],
            )
            for i in range(len(frames))
        ]


#: Share of a live frame's width (height) near its edges where a plate is not taken from
#: (``cut_by_frame``).
FRAME_EDGE = 0.005


def cut_by_frame(bbox: BBox, frame: Image, edge: float = FRAME_EDGE) -> bool:
    """Whether the box reaches within ``edge`` (share of the frame's size, at least one
    pixel) of the frame's border, where the frame may cut the plate: the plate grammar
    then makes seven characters of the six in view (``JRW0T23`` entering the frame was
    read ``IRW0T23`` at 0.89). On a live stream the vehicle is read whole a few frames
    later, so the LPR worker drops such reads; a still photo is read to its edges."""
    height, width = frame.shape[:2]
    dx, dy = max(1.0, edge * width), max(1.0, edge * height)
    return bool(bbox.x1 < dx or bbox.y1 < dy or bbox.x2 > width - dx or bbox.y2 > height - dy)


def whole_plates(reads: Iterable[PlateRead], frame: Image) -> list[PlateRead]:
    """The reads of ``frame`` whose plate the frame does not cut (:func:`cut_by_frame`)."""
    return [read for read in reads if not cut_by_frame(read.bbox, frame)]


def plate_crop(frame: Image, bbox: BBox, settings: RecognitionSettings) -> Image | None:
    """The region the reader reads for a detected box: the box with the settings' margin,
    clipped to the frame (None when nothing of it is left)."""
    height, width = frame.shape[:2]
    region = bbox.expanded(settings.crop_margin_x, settings.crop_margin_y).clipped(width, height)
    if region is None:
        return None
    return frame[int(region.y1) : int(region.y2), int(region.x1) : int(region.x2)]


def _check(frame: Image) -> None:
    if not isinstance(frame, np.ndarray) or frame.dtype != np.uint8 or frame.ndim != 3:
        raise InvalidFrame("expected an HxWx3 uint8 image")
    if frame.shape[2] != 3 or min(frame.shape[:2]) < 16:
        raise InvalidFrame(f"unusable image of shape {frame.shape}")
