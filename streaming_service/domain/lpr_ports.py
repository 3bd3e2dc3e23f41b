"""Ports of licence-plate recognition: a plate detector and a plate reader (OCR).

Adapters live in ``streaming_service.infrastructure.detector`` (onnxruntime, ultralytics)
and ``streaming_service.infrastructure.ocr`` (RapidOCR); unit tests pass fakes.
Frames and crops are ``HxWx3`` ``uint8`` arrays in BGR order (OpenCV's convention).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple, Protocol

import numpy as np
import numpy.typing as npt

from streaming_service.domain.detection import BBox

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
