"""Report ranges: defaults and limits, the split between whole hours (read from the
hourly roll-up) and the partial hours at either end (counted from the detections), and
the whole local days inside a range (read from the daily roll-ups)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from streaming_service.application.reports import (
    InvalidReportRange,
    ReportRange,
    local_days,
    offset_step,
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


def test_a_range_from_local_midnight_to_local_midnight_is_all_whole_days() -> None:
    # São Paulo is UTC-3: its midnight is 03:00 UTC.
    period = ReportRange(datetime(2026, 3, 1, 3, tzinfo=UTC), datetime(2026, 3, 8, 3, tzinfo=UTC))
    days = local_days("America/Sao_Paulo", period)
    assert days is not None
    assert (days.first, days.last) == (date(2026, 3, 1), date(2026, 3, 8))
    assert (days.first_at, days.last_at) == (period.start, period.end)


def test_partial_days_at_either_end_are_left_out() -> None:
    period = ReportRange(datetime(2026, 3, 1, 2, 59, tzinfo=UTC),
                         datetime(2026, 3, 4, 10, tzinfo=UTC))
    days = local_days("America/Sao_Paulo", period)
    assert days is not None
    assert (days.first, days.last) == (date(2026, 3, 1), date(2026, 3, 4))
    days = local_days("Asia/Kolkata", period)  # UTC+5:30: midnight is 18:30 UTC
    assert days is not None
    assert (days.first, days.last) == (date(2026, 3, 2), date(2026, 3, 4))
    assert days.first_at == datetime(2026, 3, 1, 18, 30, tzinfo=UTC)
    assert days.last_at == datetime(2026, 3, 3, 18, 30, tzinfo=UTC)


def test_no_whole_day_inside_a_short_range() -> None:
    period = ReportRange(datetime(2026, 3, 1, 4, tzinfo=UTC), datetime(2026, 3, 2, 2, tzinfo=UTC))
    assert local_days("America/Sao_Paulo", period) is None


def test_a_midnight_that_a_clock_change_skips_is_when_the_day_begins() -> None:
    # Brazil's summer time began at 00:00 on 2018-11-04: clocks went to 01:00 (UTC-2).
    start = datetime(2018, 11, 4, 3, tzinfo=UTC)
    days = local_days("America/Sao_Paulo", ReportRange(start, start + timedelta(days=2)))
    assert days is not None
    assert (days.first, days.first_at) == (date(2018, 11, 4), start)
    assert days.last_at == datetime(2018, 11, 6, 2, tzinfo=UTC)


@pytest.mark.parametrize(("tz", "step"), [
    ("America/Sao_Paulo", 3600), ("UTC", 3600), ("Asia/Kolkata", 900),
    ("Asia/Kathmandu", 900), ("Australia/Lord_Howe", 900),
])
def test_the_bin_is_the_longest_step_every_offset_is_a_multiple_of(tz: str, step: int) -> None:
    period = ReportRange(datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 12, 31, tzinfo=UTC))
    assert offset_step(tz, period) == step


def test_a_local_mean_time_offset_is_binned_by_the_second() -> None:
    # Before 1914 São Paulo kept local mean time, 3:06:28 behind UTC.
    period = ReportRange(datetime(1913, 12, 1, tzinfo=UTC), datetime(1914, 2, 1, tzinfo=UTC))
    assert offset_step("America/Sao_Paulo", period) == 1
