"""The real PP-OCR plate reader on rendered plates: both styles, car and motorcycle rows."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from streaming_service.infrastructure.ocr import (
    CALIBRATION_THRESHOLDS,
    INT8_7BIT_READER_MODEL,
    INT8_7BIT_SECOND_VIEW_MODEL,
    RapidOcrPlateReader,
    looks_mercosul,
)
from tools.lpr_dataset.render import render_plate


@pytest.fixture(scope="module")
def reader() -> RapidOcrPlateReader:
    """The fp32 network: the lines these tests check are the same for both precisions,
    and int8 is one of two files by the CPU (``int8_kernels``: 8-bit weights with VNNI,
    7-bit without), whose confidences differ. The default's accuracy on a given CPU is
    ``lpr_bench.py --precision int8 fp32``'s to measure."""
    return RapidOcrPlateReader(threads=1, precision="fp32")


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


@pytest.mark.parametrize(
    ("text", "style", "layout"),
    [("ABC1D23", "mercosul", "car"), ("XYZ9876", "old", "car"), ("QWE4J56", "mercosul", "moto")],
)
def test_the_7_bit_int8_reader_reads_rendered_plates_on_any_cpu(
    text: str, style: str, layout: str
) -> None:
    """The files x86 CPUs without VNNI load: their sums never saturate, so they read the
    same on every CPU (``int8_kernels``)."""
    reader = RapidOcrPlateReader(INT8_7BIT_READER_MODEL, threads=1, precision="int8",
                                 second_view_model=INT8_7BIT_SECOND_VIEW_MODEL)
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
    # The car's blue is where a Mercosul band would be, but beside the plate too.
    assert not looks_mercosul(crop)
    reading = reader.read(crop)
    assert reading.text == text  # the printed hyphen outweighs the blue
    assert reading.confidence > 0.5


def framed(crop: np.ndarray, aspect: float) -> np.ndarray:
    """The crop with dark surroundings above and below, as wide as ``aspect`` x tall: a
    car plate seen at an angle, with the pipeline's margins."""
    h, w = crop.shape[:2]
    tall = round(w / aspect)
    out = np.full((tall, w, 3), 40, np.uint8)
    top = (tall - h) // 2
    out[top : top + h] = crop
    return out


@pytest.mark.parametrize("aspect", [1.5, 1.7, 1.75])
@pytest.mark.parametrize("text", ["XEF4E12", "EFE1F23", "BEF7E90"])
def test_a_car_plate_under_the_two_row_aspect_is_read_as_one_row(
    reader: RapidOcrPlateReader, text: str, aspect: float
) -> None:
    """Cut in halves as if it were a motorcycle plate, the line lost its characters'
    lower part and ``E`` was read ``F`` with 0.95-1.0 confidence."""
    reading = reader.read(framed(crop_of(text, "mercosul", "car"), aspect))
    assert reading.text == text
    assert reading.confidence > 0.6


def seen_at_an_angle(crop: np.ndarray, squeeze: float, degrees: float) -> np.ndarray:
    """The plate ``squeeze`` as wide (yaw), rolled by ``degrees`` on a dark surrounding,
    cut out with the pipeline's margins (4 % of the box's width, 10 % of its height)."""
    h, w = crop.shape[:2]
    narrow = cv2.resize(crop, (round(w * squeeze), h))
    h, w = narrow.shape[:2]
    matrix = cv2.getRotationMatrix2D((w / 2, h / 2), degrees, 1.0)
    cos, sin = abs(matrix[0, 0]), abs(matrix[0, 1])
    box_w, box_h = round(h * sin + w * cos), round(h * cos + w * sin)
    matrix[0, 2] += box_w / 2 - w / 2
    matrix[1, 2] += box_h / 2 - h / 2
    box = cv2.warpAffine(narrow, matrix, (box_w, box_h), borderValue=(40, 40, 40))
    dy, dx = round(box_h * 0.1), round(box_w * 0.04)
    return cv2.copyMakeBorder(box, dy, dy, dx, dx, cv2.BORDER_CONSTANT, value=(40, 40, 40))


@pytest.mark.parametrize(("squeeze", "degrees"), [(0.66, -15.0), (0.6, 20.0), (0.75, -20.0)])
@pytest.mark.parametrize(("text", "style"), [
    ("XEF4E12", "mercosul"), ("EFE1F23", "mercosul"), ("BEF7E90", "mercosul"),
    ("EEF4512", "old"),
])
def test_a_car_plate_at_a_strong_angle_and_rolled_is_read_as_one_row(
    reader: RapidOcrPlateReader, text: str, style: str, squeeze: float, degrees: float
) -> None:
    """Yaw of ~49 degrees and a 15 degree roll put the crop at 1.34:1, under the two-row
    aspect: taken for a motorcycle plate, it was cut in halves and ``E`` read ``F`` with
    0.98-1.0 confidence. At 20 degrees of roll the levelled character row is under a
    third of the canvas, though most of the plate's own height: measured against the
    canvas, it was not cut out, the border stayed in the line and ``X`` read ``K``."""
    crop = seen_at_an_angle(crop_of(text, style, "car"), squeeze, degrees)
    assert crop.shape[1] / crop.shape[0] < 1.8
    reading = reader.read(crop)
    assert reading.text == text
    assert reading.confidence > 0.6


@pytest.mark.parametrize("degrees", [0.0, 10.0, -15.0])
@pytest.mark.parametrize(("text", "style"), [("ABC1D23", "mercosul"), ("CJG3197", "old")])
def test_a_rolled_motorcycle_plate_is_still_read_as_two_rows(
    reader: RapidOcrPlateReader, text: str, style: str, degrees: float
) -> None:
    reading = reader.read(seen_at_an_angle(crop_of(text, style, "moto"), 1.0, degrees))
    assert reading.text == text
    assert reading.confidence > 0.6


def test_each_precision_reads_with_its_own_calibration() -> None:
    fp32 = RapidOcrPlateReader(threads=1, precision="fp32")
    assert dict(fp32.calibration) == CALIBRATION_THRESHOLDS["fp32"]
    assert dict(RapidOcrPlateReader(threads=1).calibration) == CALIBRATION_THRESHOLDS["int8"]


def test_both_views_are_read_with_the_first_view_s_layout(
    reader: RapidOcrPlateReader, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The second view is 6 % narrower: at 1.45:1 it would fall under the two-row
    aspect and be cut in halves while the first view is read as one row."""
    layouts: list[bool | None] = []
    line = reader.line

    def spy(crop: np.ndarray, two_row: bool | None = None) -> tuple[np.ndarray | None, bool]:
        layouts.append(two_row)
        return line(crop, two_row)

    monkeypatch.setattr(reader, "line", spy)
    reading = reader.read(framed(crop_of("BEF7E90", "mercosul", "car"), 1.45))
    assert layouts == [None, False]
    assert reading.text == "BEF7E90" and reading.confidence > 0.99


@pytest.mark.parametrize("text", ["CJG3197", "XJM4140", "EOH1102"])
def test_an_old_motorcycle_plate_on_a_blue_car_keeps_its_digits(
    reader: RapidOcrPlateReader, text: str
) -> None:
    """Its rows, found as one range and cut in halves, lost the top of the lower row's
    characters, and the blue around it passed for a Mercosul band: the ``1`` after the
    first digit was read as the Mercosul letter ``I``."""
    reading = reader.read(on_a_blue_car(crop_of(text, "old", "moto")))
    assert reading.text == text
    assert reading.confidence > 0.6


def test_a_mercosul_band_is_still_seen_on_a_plate_in_a_neutral_surrounding() -> None:
    crop = crop_of("ABC1D23", "mercosul", "car")
    h, w = crop.shape[:2]
    car = np.full((h + h // 2, w + w // 10, 3), 90, np.uint8)
    car[h // 3 : h // 3 + h, w // 20 : w // 20 + w] = crop
    assert looks_mercosul(car)


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
