"""The shipped (experimental) plate CNN through its onnxruntime adapter: it loads, reads
clean rendered plates of both rows, batches like single reads, and refuses blanks."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from streaming_service.infrastructure.plate_cnn import CnnPlateReader
from tools.lpr_dataset.render import render_plate


@pytest.fixture(scope="module")
def reader() -> CnnPlateReader:
    return CnnPlateReader(threads=1)


def crop_of(text: str, style: str, layout: str) -> np.ndarray:
    rgb = render_plate(text, style, layout=layout)  # type: ignore[arg-type]
    small = cv2.resize(rgb, None, fx=0.4, fy=0.4, interpolation=cv2.INTER_AREA)
    return cv2.cvtColor(small, cv2.COLOR_RGB2BGR)


CLEAR = [
    ("ABC1D23", "mercosul", "car"),
    ("ABC1D23", "mercosul", "moto"),
    ("BRS5S12", "mercosul", "car"),
]


@pytest.mark.parametrize(("text", "style", "layout"), CLEAR)
def test_reads_clean_rendered_plates(
    reader: CnnPlateReader, text: str, style: str, layout: str
) -> None:
    reading = reader.read(crop_of(text, style, layout))
    assert reading.text == text
    assert reading.confidence > 0.9


def test_a_batch_reads_like_one_by_one(reader: CnnPlateReader) -> None:
    crops = [crop_of(*case) for case in CLEAR] + [crop_of("XYZ9876", "old", "car")]
    batched = reader.read_batch(crops)
    single = [reader.read(c) for c in crops]
    assert [b.text for b in batched] == [s.text for s in single]
    assert np.allclose([b.confidence for b in batched], [s.confidence for s in single], atol=1e-4)
    assert reader.read_batch([]) == []


def test_blank_and_tiny_crops_are_not_plates(reader: CnnPlateReader) -> None:
    assert reader.read(np.full((40, 120, 3), 200, np.uint8)).confidence < 0.6
    assert reader.read(np.zeros((5, 10, 3), np.uint8)) == ("", 0.0)
