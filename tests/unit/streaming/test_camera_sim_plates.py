"""Plate images and synthetic frames of the camera simulator."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tools.camera_sim.plates import MERCOSUL_BLUE, OLD_GREY, plate_style, render_plate
from tools.camera_sim.scene import Scene, clock_box, format_clock


def _close(pixel: tuple[int, ...], colour: tuple[int, int, int], tolerance: int = 12) -> bool:
    return all(abs(a - b) <= tolerance for a, b in zip(pixel, colour, strict=False))


def test_mercosul_plate_is_white_with_a_blue_band() -> None:
    image = render_plate("ABC1D23")
    assert image.mode == "RGB" and image.size == (400, 130)
    band_pixel = image.getpixel((100, 10))
    body_pixel = image.getpixel((12, 100))
    assert isinstance(band_pixel, tuple) and isinstance(body_pixel, tuple)
    assert _close(band_pixel, MERCOSUL_BLUE)
    assert _close(body_pixel, (255, 255, 255))


def test_old_plate_is_grey_without_a_blue_band() -> None:
    image = render_plate("ABC-1234")
    for xy in ((100, 10), (12, 100)):
        pixel = image.getpixel(xy)
        assert isinstance(pixel, tuple) and _close(pixel, OLD_GREY)


def test_plate_characters_are_drawn_in_dark_ink() -> None:
    image = render_plate("BRA2E19", width=200).convert("L")
    lower = image.crop((10, 40, 190, 60))
    assert sum(lower.histogram()[:60]) > 0


def test_style_follows_the_number_unless_forced() -> None:
    assert plate_style("ABC1234") == "old"
    assert plate_style("abc1d23") == "mercosul"
    forced = render_plate("ABC1234", "mercosul")
    pixel = forced.getpixel((100, 10))
    assert isinstance(pixel, tuple) and _close(pixel, MERCOSUL_BLUE)


@pytest.mark.parametrize("text", ["", "ABC123", "1BC1234", "ABCD123", "ÁBC1234"])
def test_not_a_plate_is_refused(text: str) -> None:
    with pytest.raises(ValueError):
        render_plate(text)


def test_width_sets_the_size_keeping_the_real_proportions() -> None:
    assert render_plate("ABC1D23", width=160).size == (160, 52)
    with pytest.raises(ValueError):
        render_plate("ABC1D23", width=10)


def test_clock_is_utc_with_milliseconds() -> None:
    moment = datetime(2025, 3, 4, 5, 6, 7, 891_234, tzinfo=UTC)
    assert format_clock(moment) == "2025-03-04 05:06:07.891 UTC"


def test_scene_frames_are_rgb24_of_the_configured_size() -> None:
    scene = Scene("cam1", ["ABC1D23", "XYZ9876"], width=320, height=180)
    data = scene.frame(datetime.now(UTC), 0.0)
    assert len(data) == 320 * 180 * 3
    later = scene.frame(datetime.now(UTC), 2.0)
    assert later != data  # vehicles move
    assert clock_box(320, 180)[3] < 180 // 4
