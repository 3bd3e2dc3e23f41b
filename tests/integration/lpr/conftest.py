"""Fixtures of the LPR accuracy tests."""

from __future__ import annotations

import pytest

from streaming_service.application.ai.recognise_frame import RecogniseFrame
from streaming_service.infrastructure.detector import PRECISIONS, OnnxPlateDetector
from streaming_service.infrastructure.ocr import RapidOcrPlateReader


@pytest.fixture(scope="module", params=PRECISIONS)
def pipeline(request: pytest.FixtureRequest) -> RecogniseFrame:
    """The real pipeline, one thread, at each shipped precision (int8 is the default;
    docs/models.md)."""
    precision = request.param
    return RecogniseFrame(
        OnnxPlateDetector(imgsz=640, threads=1, precision=precision),
        RapidOcrPlateReader(threads=1, precision=precision),
    )
