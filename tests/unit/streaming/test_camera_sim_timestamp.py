"""The simulator's machine-readable timestamp strip: what is drawn reads back exactly,
survives lossy compression and scaling, and anything else reads as None."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from PIL import Image

from tools.camera_sim.scene import Scene, read_timestamp, timestamp_box, timestamp_cells

WHEN = datetime(2025, 3, 14, 15, 9, 26, 535_000, tzinfo=UTC)


def _frame(now: datetime = WHEN, size: tuple[int, int] = (640, 360)) -> Image.Image:
    scene = Scene("cam1", ["ABC1D23"], *size)
    return Image.frombytes("RGB", size, scene.frame(now, 3.0))


def test_a_drawn_frame_reads_back_to_the_millisecond() -> None:
    image = _frame()
    assert read_timestamp(image) == WHEN
    assert read_timestamp(np.asarray(image)) == WHEN  # RGB array
    assert read_timestamp(np.asarray(image.convert("L"))) == WHEN  # grey array


@pytest.mark.parametrize("offset_ms", [0, 1, 999, 86_400_000 * 365 * 30 + 7])
def test_every_millisecond_value_round_trips(offset_ms: int) -> None:
    when = WHEN + timedelta(milliseconds=offset_ms)
    assert read_timestamp(_frame(when)) == when


def test_the_strip_survives_heavy_jpeg_and_downscaling() -> None:
    image = _frame()
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=15)
    assert read_timestamp(Image.open(io.BytesIO(buffer.getvalue()))) == WHEN
    assert read_timestamp(image.resize((320, 180), Image.Resampling.BILINEAR)) == WHEN
    assert read_timestamp(_frame(size=(1280, 720))) == WHEN


def test_frames_without_a_valid_strip_read_as_none() -> None:
    assert read_timestamp(Image.new("RGB", (640, 360), (90, 140, 90))) is None
    assert read_timestamp(np.zeros((360, 640), dtype=np.uint8)) is None
    assert read_timestamp(np.zeros((50, 80), dtype=np.uint8)) is None  # too small

    # One data cell flipped: the checksum no longer matches.
    pixels = np.array(_frame().convert("L"))
    _, top, _, bottom = timestamp_box(640, 360)
    cells = timestamp_cells(WHEN)
    index = 10
    left = 640 * 0.0125
    width = (640 - 2 * left) / len(cells)
    x0, x1 = round(left + index * width), round(left + (index + 1) * width)
    pixels[top:bottom, x0:x1] = 0 if cells[index] else 255
    assert read_timestamp(pixels) is None


def test_timestamps_outside_44_bits_are_refused() -> None:
    with pytest.raises(ValueError):
        timestamp_cells(datetime(2600, 1, 1, tzinfo=UTC))
