"""The two-view confidence's per-layout calibration (``ocr.calibrated``): each group's
fitted threshold lands on the pipeline's 0.6, the order of reads within a group is kept,
and a group without a fitted value is left alone."""

from __future__ import annotations

import pytest

from streaming_service.infrastructure.detector import PRECISIONS
from streaming_service.infrastructure.ocr import (
    CALIBRATION_TARGET,
    CALIBRATION_THRESHOLDS,
    calibrated,
    calibration_group,
)


def test_groups_name_the_layout_rows_and_agreement() -> None:
    assert calibration_group("ABC1D23", False, True) == "mercosul/one/agree"
    assert calibration_group("ABC1234", True, False) == "old/two/disagree"


def test_the_fitted_threshold_lands_on_the_target_and_order_is_kept() -> None:
    table = {"old/one/agree": 0.45}
    assert calibrated(0.45, "old/one/agree", table) == pytest.approx(CALIBRATION_TARGET)
    values = [calibrated(c, "old/one/agree", table) for c in (0.1, 0.3, 0.45, 0.7, 0.99)]
    assert values == sorted(values) and all(0.0 < v < 1.0 for v in values)
    assert calibrated(0.5, "mercosul/one/agree", table) == 0.5, "other groups unchanged"
    assert calibrated(0.0, "old/one/agree", table) == 0.0
    assert calibrated(1.0, "old/one/agree", table) == 1.0


def test_the_shipped_tables_are_within_bounds() -> None:
    assert set(CALIBRATION_THRESHOLDS) == {*PRECISIONS, "int8-7bit"}
    for table in CALIBRATION_THRESHOLDS.values():
        for group, threshold in table.items():
            layout, rows, agree = group.split("/")
            assert layout in {"mercosul", "old"} and rows in {"one", "two"}
            assert agree in {"agree", "disagree"}
            assert 0.0 < threshold < 1.0


def test_an_int8_disagreement_with_a_near_certain_view_clears_the_threshold() -> None:
    """The int8 table (fitted on the tuning set): where the two networks disagree, the
    read was capped at 0.6 x its confidence, under 0.6 however sure the better view."""
    table = CALIBRATION_THRESHOLDS["int8"]
    for text in ("ABC1234", "ABC1D23"):
        for two_row in (False, True):
            group = calibration_group(text, two_row, False)
            assert calibrated(0.6 * 0.99, group, table) >= CALIBRATION_TARGET
            assert calibrated(0.6 * 0.97, group, table) < CALIBRATION_TARGET
    agreeing = calibration_group("ABC1234", False, True)
    assert calibrated(0.6 * 0.97, agreeing, table) == 0.6 * 0.97


def test_an_fp32_disagreement_stays_under_the_threshold() -> None:
    """No fp32 group gained robustly on the tuning set: a disagreement's better read is
    kept at 0.6 x its confidence, under 0.6 however sure that view is."""
    table = CALIBRATION_THRESHOLDS["fp32"]
    for text in ("ABC1234", "ABC1D23"):
        for two_row in (False, True):
            group = calibration_group(text, two_row, False)
            assert calibrated(0.6 * 0.999, group, table) < CALIBRATION_TARGET
