"""Use case: recognise the licence plates in one frame.

frame → plate detector → crops (with a margin) → OCR → ``PlateNumber`` → ``PlateRead``s.
Called by ``POST /api/ai/lpr/recognize`` for an uploaded image and by the LPR worker for
every sampled frame (whose reads then go to ``PlateTracker``). Stage latencies are
returned with the result so callers can export them as metrics.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from shared_kernel.plates import PlateNumber
from streaming_service.domain.ai.detection import PlateRead
from streaming_service.domain.ai.ports import Image, PlateDetector, PlateReader


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


class RecogniseFrame:
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
        if not isinstance(frame, np.ndarray) or frame.dtype != np.uint8 or frame.ndim != 3:
            raise InvalidFrame("expected an HxWx3 uint8 image")
        if frame.shape[2] != 3 or min(frame.shape[:2]) < 16:
            raise InvalidFrame(f"unusable image of shape {frame.shape}")
        cfg = self.settings
        height, width = frame.shape[:2]
        start = self._clock()
        boxes = [b for b in self.detector.detect(frame) if b.score >= cfg.min_detector_score]
        boxes = sorted(boxes, key=lambda b: b.score, reverse=True)[: cfg.max_plates]
        detected = self._clock()
        reads: list[PlateRead] = []
        rejected: list[RejectedRead] = []
        for box in boxes:
            region = box.bbox.expanded(cfg.crop_margin_x, cfg.crop_margin_y).clipped(width, height)
            if region is None:
                continue
            crop = frame[int(region.y1) : int(region.y2), int(region.x1) : int(region.x2)]
            reading = self.reader.read(crop)
            try:
                plate = PlateNumber.parse(reading.text)
            except ValueError:
                rejected.append(
                    RejectedRead(reading.text, reading.confidence, box.score, "not a plate")
                )
                continue
            if reading.confidence < cfg.min_ocr_confidence:
                rejected.append(
                    RejectedRead(reading.text, reading.confidence, box.score, "low confidence")
                )
                continue
            reads.append(
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
        timings = StageTimings(
            detect_ms=(detected - start) * 1000,
            ocr_ms=(done - detected) * 1000,
            total_ms=(done - start) * 1000,
            crops=len(boxes),
        )
        return FrameRecognition(reads, timings, rejected)
