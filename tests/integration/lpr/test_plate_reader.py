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


def on_a_blue_car(crop: np.ndarray) -> np.ndarray:
    h, w = crop.shape[:2]
    car = np.zeros((h + h // 2, w + w // 10, 3), np.uint8)
    car[:] = (170, 70, 25)  # BGR: a blue car body around the plate
    car[h // 3 : h // 3 + h, w // 20 : w // 20 + w] = crop
    return car


@pytest.mark.parametrize("text", ["XYZ9876", "KHR0710", "PCK0567"])
def test_an_old_plate_on_a_blue_car_reads_as_old(reader: RapidOcrPlateReader, text: str) -> None:
    crop = on_a_blue_car(crop_of(text, "old", "car"))
    assert looks_mercosul(crop)  # the car's blue is where a Mercosul band would be
    reading = reader.read(crop)
    assert reading.text == text  # the printed hyphen outweighs the blue
    assert reading.confidence > 0.5


@pytest.mark.parametrize("degrees", [-8.0, 8.0])
def test_a_tilted_plate_is_levelled_before_reading(
    reader: RapidOcrPlateReader, degrees: float
) -> None:
    crop = crop_of("JVC7B75", "mercosul", "car")
    h, w = crop.shape[:2]
    matrix = cv2.getRotationMatrix2D((w / 2, h / 2), degrees, 1.0)
    tilted = cv2.warpAffine(crop, matrix, (w, h), borderMode=cv2.BORDER_REPLICATE)
    reading = reader.read(tilted)
    assert reading.text == "JVC7B75"
    assert reading.confidence > 0.5
