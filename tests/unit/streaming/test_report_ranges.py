"""Report ranges: defaults and limits, and the split between whole hours (read from the
hourly roll-up) and the partial hours at either end (counted from the detections)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from streaming_service.application.reports import (
    InvalidReportRange,
    ReportRange,
    split_hours,
)

NOW = datetime(2026, 3, 2, 12, 30, tzinfo=UTC)


def test_the_default_range_is_the_last_week() -> None:
    period = ReportRange.of(None, None, now=NOW, default=timedelta(days=7),
                            max_span=timedelta(days=400))
    assert (period.start, period.end) == (NOW - timedelta(days=7), NOW)


@pytest.mark.parametrize(("start", "end"), [
    (NOW, NOW),
    (NOW, NOW - timedelta(seconds=1)),
    (NOW - timedelta(days=401), NOW),
])
def test_an_empty_reversed_or_too_long_range_is_refused(start: datetime, end: datetime) -> None:
    with pytest.raises(InvalidReportRange):
        ReportRange.of(start, end, now=NOW, default=timedelta(days=7),
                       max_span=timedelta(days=400))


def test_whole_hours_are_split_from_the_partial_ends() -> None:
    period = ReportRange(datetime(2026, 3, 2, 2, 15, tzinfo=UTC),
                         datetime(2026, 3, 2, 15, 20, tzinfo=UTC))
    split = split_hours(period)
    assert split == {"hours_start": datetime(2026, 3, 2, 3, tzinfo=UTC),
                     "hours_end": datetime(2026, 3, 2, 15, tzinfo=UTC),
                     "head_end": datetime(2026, 3, 2, 3, tzinfo=UTC),
                     "tail_start": datetime(2026, 3, 2, 15, tzinfo=UTC)}


def test_an_aligned_range_is_all_roll_up() -> None:
    start, end = datetime(2026, 3, 1, 3, tzinfo=UTC), datetime(2026, 3, 3, 3, tzinfo=UTC)
    split = split_hours(ReportRange(start, end))
    assert (split["hours_start"], split["hours_end"]) == (start, end)
    assert split["head_end"] == start and split["tail_start"] == end


def test_a_range_within_one_hour_mark_reads_only_detections() -> None:
    start, end = datetime(2026, 3, 2, 2, 40, tzinfo=UTC), datetime(2026, 3, 2, 3, 20, tzinfo=UTC)
    split = split_hours(ReportRange(start, end))
    assert split["hours_start"] == split["hours_end"]  # no roll-up rows
    assert (split["head_end"], split["tail_start"]) == (end, end)


def test_offsets_are_read_in_utc() -> None:
    local = timezone(timedelta(hours=-3))
    period = ReportRange(datetime(2026, 3, 1, 0, 0, tzinfo=local),
                         datetime(2026, 3, 2, 0, 0, tzinfo=local))
    split = split_hours(period)
    assert split["hours_start"] == datetime(2026, 3, 1, 3, tzinfo=UTC)
    assert split["hours_end"] == datetime(2026, 3, 2, 3, tzinfo=UTC)
