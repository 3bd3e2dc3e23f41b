"""Which crops the PP-OCR reader reads as a two-row (motorcycle) plate, and what it
expects of each."""

from __future__ import annotations

import numpy as np
import pytest

from streaming_service.infrastructure.ocr import (
    ONE_ROW_ASPECT,
    TWO_ROW_ASPECT,
    RapidOcrPlateReader,
    is_two_row,
)
from streaming_service.infrastructure.plate_grammar import DIGITS, LETTERS, SEPARATOR


@pytest.mark.parametrize("rows", [[], [(10, 40)], [(10, 40), (50, 80)]])
def test_a_crop_about_as_tall_as_wide_is_two_rows_whatever_rows_are_found(
    rows: list[tuple[int, int]],
) -> None:
    assert is_two_row(1.1, rows)


@pytest.mark.parametrize("rows", [[], [(10, 40)], [(10, 40), (50, 80)]])
def test_a_wide_crop_is_one_row(rows: list[tuple[int, int]]) -> None:
    assert not is_two_row(ONE_ROW_ASPECT, rows)
    assert not is_two_row(3.0, rows)


def test_a_car_plate_seen_at_an_angle_with_one_character_row_is_one_row() -> None:
    """Yaw and the crop's margins bring a car plate under 1.8:1; cut in halves, its
    characters lose their lower part (``E`` read ``F``)."""
    assert not is_two_row(1.65, [(40, 70)])


def test_a_city_line_above_a_car_plate_is_no_second_row() -> None:
    assert not is_two_row(1.7, [(40, 80), (20, 32)])


def test_two_rows_of_about_the_same_height_make_a_two_row_plate() -> None:
    assert is_two_row((TWO_ROW_ASPECT + ONE_ROW_ASPECT) / 2, [(12, 44), (52, 80)])


def _one_frame_per_character(text: str, fifth: dict[str, float]) -> np.ndarray:
    """CTC columns (blank first, then A-Z, 0-9, ``-``) spelling ``text`` one character a
    frame with blanks between, the fifth character spread over ``fifth``."""
    alphabet = LETTERS + DIGITS + SEPARATOR
    frames = []
    for i, ch in enumerate(text):
        row = np.full(1 + len(alphabet), 1e-6, np.float32)
        for c, p in (fifth.items() if i == 4 else [(ch, 1.0)]):
            row[1 + alphabet.index(c)] = p
        blank = np.full(1 + len(alphabet), 1e-6, np.float32)
        blank[0] = 1.0
        frames += [row, blank]
    probs = np.array(frames)
    return np.asarray(probs / probs.sum(axis=1, keepdims=True), np.float32)


@pytest.mark.parametrize(("two_row", "expected"), [(True, "ABC1034"), (False, "ABC1O34")])
def test_only_a_one_row_old_plate_is_expected_to_show_its_hyphen(
    monkeypatch: pytest.MonkeyPatch, two_row: bool, expected: str
) -> None:
    """A two-row old plate prints no hyphen: read without one, its fifth character (a
    ``0`` four times likelier than an ``O``) must not become a Mercosul letter for want
    of a hyphen that a one-row old plate would show."""
    reader = RapidOcrPlateReader(precision="fp32")
    probs = _one_frame_per_character("ABC1034", {"0": 0.8, "O": 0.2})
    monkeypatch.setattr(reader, "_probabilities", lambda *line_and_network: probs)
    grey_crop = np.full((60, 120, 3), 128, np.uint8)
    read = reader.read_line(grey_crop, grey_crop, two_row=two_row)
    assert read.text == expected
