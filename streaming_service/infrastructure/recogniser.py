"""The ``PlateRecogniser`` port over the recognition core's use case
(``application.recognise_frame.RecogniseFrame``: detector → crops → OCR → plate grammar).

``default_recogniser`` builds it with the shipped ONNX YOLOv8 plate detector and the
plate reader named by the settings, both on the CPU. Models load on first use, so an API
replica that never receives an upload never pays for them.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from streaming_service.domain.ai.detection import PlateRead
from streaming_service.domain.ai.ports import Image, PlateReader


class UseCaseRecogniser:
    """Adapts a ``frame -> result with .reads`` callable, built lazily, to the port."""

    def __init__(self, build: Callable[[], Callable[[Image], Any]]) -> None:
        self._build = build
        self._use_case: Callable[[Image], Any] | None = None
        # One frame at a time: predictable latency, and models load exactly once.
        self._lock = threading.Lock()

    def recognise(self, frame: Image) -> list[PlateRead]:
        return self.recognise_timed(frame)[0]

    def recognise_timed(self, frame: Image) -> tuple[list[PlateRead], dict[str, float]]:
        """The reads and the stage latencies in seconds (``detect``, ``ocr``, ``total``)."""
        with self._lock:
            if self._use_case is None:
                self._use_case = self._build()
            result = self._use_case(frame)
        timings: dict[str, float] = {}
        stages = getattr(result, "timings", None)
        for stage in ("detect", "ocr", "total"):
            value = getattr(stages, f"{stage}_ms", None)
            if value is not None:
                timings[stage] = float(value) / 1000
        return list(result.reads), timings


def _ppocr(threads: int) -> PlateReader:
    from streaming_service.infrastructure.ocr import RapidOcrPlateReader

    return RapidOcrPlateReader(threads=threads)


READERS: dict[str, Callable[[int], PlateReader]] = {"ppocr": _ppocr}
"""Plate readers by their setting name (``GTV_LPR_READER``)."""


def build_reader(name: str, *, threads: int = 1) -> PlateReader:
    try:
        return READERS[name](threads)
    except KeyError:
        raise ValueError(f"unknown plate reader {name!r}; known: {sorted(READERS)}") from None


def _build_core() -> Callable[[Image], Any]:
    from streaming_service.application.ai.recognise_frame import RecogniseFrame
    from streaming_service.infrastructure.detector import OnnxPlateDetector

    return RecogniseFrame(OnnxPlateDetector(), build_reader("ppocr"))


def default_recogniser() -> UseCaseRecogniser:
    return UseCaseRecogniser(_build_core)
