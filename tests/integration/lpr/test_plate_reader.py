"""The real PP-OCR plate reader on rendered plates: both styles, car and motorcycle rows."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from streaming_service.infrastructure.ocr import RapidOcrPlateReader, looks_mercosul
from tools.lpr_dataset.render import render_plate


@pytest.fixture(scope="module")
def reader() -> RapidOcrPlateReader:
    return RapidOcrPlateReader(threads=1)


def crop_of(text: str, style: str, layout: str) -> np.ndarray:
    rgb = render_plate(text, style, layout=layout)  # type: ignore[arg-type]
    small = cv2.resize(rgb, None, fx=0.4, fy=0.4, interpolation=cv2.INTER_AREA)
    return cv2.cvtColor(small, cv2.COLOR_RGB2BGR)


@pytest.mark.parametrize(
    ("text", "style", "layout"),
    [
        ("ABC1D23", "mercosul", "car"),
        ("XYZ9876", "old", "car"),
        ("ABC1D23", "mercosul", "moto"),
        ("QWE4J56", "mercosul", "moto"),
    ],
)
def test_reads_rendered_plates(
    reader: RapidOcrPlateReader, text: str, style: str, layout: str
) -> None:
    reading = reader.read(crop_of(text, style, layout))
    assert reading.text == text
    assert reading.confidence > 0.8


def test_mercosul_band_is_recognised_and_grey_plates_are_not(reader: RapidOcrPlateReader) -> None:
    assert looks_mercosul(crop_of("ABC1D23", "mercosul", "car"))
    assert not looks_mercosul(crop_of("ABC1234", "old", "car"))


def test_a_blank_crop_reads_with_low_confidence(reader: RapidOcrPlateReader) -> None:
    reading = reader.read(np.full((40, 120, 3), 200, np.uint8))
    assert reading.confidence < 0.6


def test_a_tiny_crop_reads_nothing(reader: RapidOcrPlateReader) -> None:
    assert reader.read(np.zeros((5, 10, 3), np.uint8)).text == ""
