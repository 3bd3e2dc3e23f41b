"""Levelling a tilted plate and finding its character rows, on drawn plates."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from streaming_service.infrastructure.plate_rectify import (
    character_rows,
    roll_angle,
    rotated,
    split_rows,
    unrolled_size,
)


def drawn_plate(two_rows: bool = False) -> np.ndarray:
    """A light plate with a dark top band, a frame and one or two lines of glyphs."""
    h, w = (170, 200) if two_rows else (130, 400)
    plate = np.full((h + 40, w + 40), 90, np.uint8)  # the car around it
    cv2.rectangle(plate, (20, 20), (w + 20, h + 20), 235, -1)
    cv2.rectangle(plate, (20, 20), (w + 20, h + 20), 20, 3)
    cv2.rectangle(plate, (20, 20), (w + 20, 20 + h // 5), 40, -1)  # the band
    lines = ["ABC", "1D23"] if two_rows else ["ABC1D23"]
    row_h = (h - h // 5) // len(lines)
    for i, text in enumerate(lines):
        y = 20 + h // 5 + row_h * (i + 1) - row_h // 5
        scale = 2.6 if two_rows else 2.4
        cv2.putText(plate, text, (34, y), cv2.FONT_HERSHEY_SIMPLEX, scale, 15, 5)
    return plate


def tilted_by(image: np.ndarray, degrees: float) -> np.ndarray:
    h, w = image.shape
    matrix = cv2.getRotationMatrix2D((w / 2, h / 2), degrees, 1.0)
    return cv2.warpAffine(image, matrix, (w, h), borderMode=cv2.BORDER_REPLICATE)


@pytest.mark.parametrize("degrees", [-9.0, -4.0, 6.0, 10.0])
def test_the_roll_of_a_tilted_plate_is_measured_and_undone(degrees: float) -> None:
    tilted = tilted_by(drawn_plate(), degrees)
    assert abs(roll_angle(tilted) + degrees) < 1.5
    assert abs(roll_angle(rotated(tilted, roll_angle(tilted)))) < 1.5


def test_a_straight_plate_is_left_as_it_is() -> None:
    plate = drawn_plate()
    assert rotated(plate, roll_angle(plate)) is plate


def box_of(width: float, height: float, degrees: float) -> tuple[float, float]:
    """The bounding box of a ``width`` x ``height`` rectangle rolled by ``degrees``."""
    t = np.radians(abs(degrees))
    return (float(width * np.cos(t) + height * np.sin(t)),
            float(width * np.sin(t) + height * np.cos(t)))


@pytest.mark.parametrize("degrees", [-20.0, -15.0, -6.0, 4.0, 15.0])
@pytest.mark.parametrize("aspect", [1.2, 2.0, 3.1])
def test_the_plate_s_size_is_found_under_its_roll(aspect: float, degrees: float) -> None:
    """A car plate at a strong angle (2:1) rolled 15 degrees has a 1.36:1 box, as square
    as a motorcycle plate's: its own aspect decides how many rows it has."""
    width, height = unrolled_size(*box_of(100 * aspect, 100, degrees), degrees)
    assert (width, height) == (pytest.approx(100 * aspect), pytest.approx(100))


def test_a_box_no_plate_rolled_so_has_is_kept() -> None:
    assert unrolled_size(160, 100, 0.2) == (160, 100)
    # At 20 degrees a rolled rectangle's box is between tan 20 (0.36) and cot 20 (2.75)
    # times as wide as tall: outside that the roll cannot explain the box.
    assert unrolled_size(300, 100, 20.0) == (300, 100)
    assert unrolled_size(30, 100, -20.0) == (30, 100)


def test_the_character_line_is_found_below_the_band() -> None:
    plate = drawn_plate()
    rows = character_rows(plate)
    assert rows, "no character row found"
    top, bottom = rows[0]
    band_bottom = 20 + 130 // 5
    assert top >= band_bottom - 2
    interior = plate[band_bottom + 3 : 147, 40:400]
    ink_rows = np.flatnonzero((interior < 60).any(axis=1)) + band_bottom + 3
    assert top <= ink_rows[0] + 6 and bottom >= ink_rows[-1] - 6


def test_a_two_row_plate_has_two_character_rows() -> None:
    plate = drawn_plate(two_rows=True)
    rows = sorted(character_rows(plate)[:2])
    assert len(rows) == 2
    assert rows[0][1] <= rows[1][0]


def test_two_rows_found_as_one_are_cut_between_them() -> None:
    """Rows a narrow gap apart come out of ``character_rows`` as one range: the cut
    falls in the gap, not at the middle of the crop."""
    plate = drawn_plate(two_rows=True)
    upper, lower = sorted(character_rows(plate)[:2])
    merged = (upper[0], lower[1])
    (top, cut), (cut_again, bottom) = split_rows(plate, merged)
    assert (top, bottom) == merged and cut == cut_again
    assert upper[1] - 2 <= cut <= lower[0] + 2


@pytest.mark.parametrize("row", [(50, 51), (50, 52)])
def test_a_range_too_short_to_split_is_kept(row: tuple[int, int]) -> None:
    plate = drawn_plate(two_rows=True)
    assert split_rows(plate, row) == [row]


def test_no_row_of_a_split_is_empty() -> None:
    plate = drawn_plate(two_rows=True)
    for bottom in range(53, 70):
        assert all(b > t for t, b in split_rows(plate, (50, bottom)))
