"""The tracker's provisional sightings (first confident read of each plate in a track,
before the vote; a held track always reports its vote) and the LPR policy's confusable
variants. Plain domain objects, no I/O."""

from __future__ import annotations

import pytest

from shared_kernel.plates import PlateNumber
from streaming_service.domain.ai.detection import BBox, PlateRead, PlateTracker, TrackerConfig
from streaming_service.domain.ai.lpr_settings import LprPolicy, confusable_variants
from streaming_service.domain.ai.watchlist import Severity

# Frames here come seconds apart to show one rule at a time: the gap stays fixed.
CONFIG = TrackerConfig(provisional_min_confidence=0.6, report_after_reads=8, max_gap_s=1.0,
                       dedupe_window_s=60, gap_frames=0)


def _read(text: str, confidence: float, x: float = 100) -> PlateRead:
    return PlateRead(PlateNumber(text), confidence, BBox(x, 50, x + 120, 90))


def test_the_first_confident_read_is_reported_at_once_and_only_once_per_plate() -> None:
    tracker = PlateTracker(CONFIG)
    assert tracker.observe("cam", [_read("ABC1D23", 0.4)], 0.0) == [], "not confident"
    (first,) = tracker.observe("cam", [_read("ABC1D28", 0.9, 102)], 0.2)
    assert first.provisional and first.plate.value == "ABC1D28" and first.track_id
    assert tracker.observe("cam", [_read("ABC1D28", 0.95, 104)], 0.4) == []
    (second,) = tracker.observe("cam", [_read("ABC1D23", 0.9, 106)], 0.6)
    assert second.provisional and second.plate.value == "ABC1D23"
    assert second.track_id == first.track_id, "one track, one detection"
    # The same plate in the old layout is the same vehicle: not reported again.
    assert tracker.observe("cam", [_read("ABC1323", 0.9, 108)], 0.8) == []
    (voted,) = tracker.observe("cam", [], 5.0)
    assert not voted.provisional and voted.track_id == first.track_id


def test_a_held_track_stops_provisional_reports_and_always_reports_its_vote() -> None:
    tracker = PlateTracker(CONFIG)
    # A first vehicle, voted and reported: the same plate is de-duplicated for a minute.
    tracker.observe("cam", [_read("XYZ9A87", 0.9)], 0.0)
    assert [s.provisional for s in tracker.observe("cam", [], 2.0)] == [False]
    # The same plate again within the window: no provisional report (a parked car)…
    assert tracker.observe("cam", [_read("XYZ9A87", 0.9)], 3.0) == []
    assert tracker.observe("cam", [], 5.0) == [], "…and its vote is de-duplicated"
    # Another car whose provisional read was acted on (an alert went out): held.
    (early,) = tracker.observe("cam", [_read("QWE1R23", 0.9)], 10.0)
    tracker.hold(early)
    assert tracker.observe("cam", [_read("QWE1R28", 0.9, 102)], 10.2) == [], "held"
    (voted,) = tracker.observe("cam", [], 12.0)
    assert voted.track_id == early.track_id and not voted.provisional


def test_provisional_reports_are_off_by_default() -> None:
    tracker = PlateTracker(TrackerConfig())
    assert tracker.observe("cam", [_read("ABC1D23", 0.99)], 0.0) == []


def test_confusable_variants_cover_the_fifth_position_in_both_layouts() -> None:
    variants = confusable_variants(PlateNumber("ABC1534"))
    assert "ABC1S34" in variants and "ABC1534" not in variants
    assert "ABC1F34" not in variants, "the other layout of the same plate is not a variant"
    assert "A8C1534" in variants  # found by lookup; need not be a valid plate


def test_policy_fuzzy_severities_and_bounds() -> None:
    assert LprPolicy().fuzzy_severities() == ()
    assert LprPolicy(match_distance=1).fuzzy_severities() == ("high", "critical")
    assert LprPolicy(match_distance=1, fuzzy_min_severity=Severity.LOW).fuzzy_severities() \
        == ("low", "medium", "high", "critical")
    with pytest.raises(ValueError):
        LprPolicy(match_distance=2)
    with pytest.raises(ValueError):
        LprPolicy(min_confidence=1.2)
    assert LprPolicy(min_confidence=0.7).may_alert(0.7)
    assert not LprPolicy(min_confidence=0.7).may_alert(0.69)


def test_two_boxes_on_one_plate_raise_one_provisional_sighting_and_one_vehicle() -> None:
    """The detector found the plate twice (two overlapping boxes the suppression kept): the
    second box starts a second track, which neither alerts again nor reports again."""
    tracker = PlateTracker(CONFIG)
    early = tracker.observe("cam", [_read("QWE1R23", 0.9), _read("QWE1R23", 0.8, 400)], 0.0)
    assert [s.provisional for s in early] == [True]
    tracker.hold(early[0])
    assert tracker.observe("cam", [_read("QWE1R23", 0.9, 104), _read("QWE1R23", 0.8, 404)],
                           0.5) == []
    for step, at in enumerate((0.9, 1.4, 1.9)):  # the second box is gone after 0.5
        assert tracker.observe("cam", [_read("QWE1R23", 0.9, 108 + 4 * step)], at) == []
    assert tracker.active_tracks("cam") == 1, "the second track ended into the first"
    voted = tracker.observe("cam", [], 3.0)
    assert [(s.plate.value, s.provisional, s.track_id) for s in voted] == [
        ("QWE1R23", False, early[0].track_id)]
    assert voted[0].reads == 7, "both boxes' reads voted"
