"""Which crops the PP-OCR reader reads as a two-row (motorcycle) plate."""

from __future__ import annotations

import pytest

from streaming_service.infrastructure.ocr import ONE_ROW_ASPECT, TWO_ROW_ASPECT, is_two_row


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
