"""PlateTracker and vote: one report per passing vehicle, voted across its frames."""

from __future__ import annotations

import pytest

from shared_kernel.plates import PlateNumber
from streaming_service.domain.ai.detection import (
    BBox,
    PlateRead,
    PlateTracker,
    TrackerConfig,
    vote,
)


def read(text: str, conf: float = 0.9, x: float = 100, y: float = 400, w: float = 120) -> PlateRead:
    return PlateRead(PlateNumber.parse(text), conf, BBox(x, y, x + w, y + w / 3))


def test_bbox_iou_and_clipping() -> None:
    a, b = BBox(0, 0, 10, 10), BBox(5, 0, 15, 10)
    assert a.iou(b) == pytest.approx(50 / 150)
    assert a.iou(BBox(20, 20, 30, 30)) == 0
    assert BBox(-5, -5, 5, 5).clipped(100, 100) == BBox(0, 0, 5, 5)
    assert BBox(200, 200, 210, 210).clipped(100, 100) is None
    with pytest.raises(ValueError):
        BBox(5, 5, 5, 10)


def test_vote_fixes_a_minority_misread_character() -> None:
    plate, support = vote([read("ABC1D23"), read("ABC1D28", conf=0.5), read("ABC1D23")])
    assert plate == PlateNumber("ABC1D23")
    assert 0.9 < support < 1.0


def test_vote_weights_by_confidence() -> None:
    plate, _ = vote([read("ABC1D23", conf=0.95), read("ABC1D28", 0.3), read("ABC1D28", 0.3)])
    assert plate.value == "ABC1D23"


def test_vote_counts_old_and_mercosul_reads_of_the_fifth_char_together() -> None:
    # "3" (old layout) and "D" (Mercosul) are the same converted plate.
    plate, _ = vote([read("ABC1323", 0.6), read("ABC1D23", 0.7), read("ABC1E23", 0.8)])
    assert plate.value == "ABC1D23"


def test_vote_keeps_the_old_layout_when_reads_say_old() -> None:
    plate, _ = vote([read("ABC1323"), read("ABC1323"), read("ABC1D23", 0.5)])
    assert plate.value == "ABC1323"


def test_a_vehicle_across_frames_is_reported_once_when_its_track_ends() -> None:
    tracker = PlateTracker(TrackerConfig(max_gap_s=1.0, report_after_reads=50))
    texts = ["ABC1D23", "ABC1D28", "ABC1D23", "A8C1D23", "ABC1D23"]
    for i, text in enumerate(texts):
        assert tracker.observe("cam", [read(text, x=100 + 15 * i)], at=i * 0.2) == []
    assert tracker.observe("cam", [], at=1.0) == []  # still within the gap
    (sighting,) = tracker.observe("cam", [], at=2.5)
    assert sighting.plate.value == "ABC1D23"
    assert sighting.reads == 5
    assert sighting.best.plate.value == "ABC1D23"
    assert sighting.first_seen == 0 and sighting.last_seen == pytest.approx(0.8)
    assert tracker.active_tracks("cam") == 0


def test_a_lingering_vehicle_is_reported_after_n_reads_and_not_again() -> None:
    tracker = PlateTracker(TrackerConfig(report_after_reads=3, max_gap_s=1.0))
    reported = []
    for i in range(10):
        reported += tracker.observe("cam", [read("XYZ9876")], at=i * 0.3)
    reported += tracker.flush("cam")
    assert [s.plate.value for s in reported] == ["XYZ9876"]
    assert reported[0].reads == 3


def test_two_vehicles_in_one_frame_get_separate_tracks() -> None:
    tracker = PlateTracker()
    for i in range(3):
        tracker.observe("cam", [read("AAA1111", x=100), read("BBB2B22", x=900)], at=i * 0.2)
    plates = sorted(s.plate.value for s in tracker.flush())
    assert plates == ["AAA1111", "BBB2B22"]


def test_same_plate_on_same_camera_is_not_reported_twice_within_the_window() -> None:
    tracker = PlateTracker(TrackerConfig(gap_frames=0, max_gap_s=0.5, dedupe_window_s=30))
    out = tracker.observe("cam", [read("ABC1234")], at=0.0)
    out += tracker.observe("cam", [], at=1.0)  # first pass reported here
    out += tracker.observe("cam", [read("ABC1234", x=600)], at=5.0)  # back within 30 s
    out += tracker.observe("cam", [], at=6.0)
    out += tracker.observe("cam", [read("ABC1234")], at=40.0)  # after the window
    out += tracker.observe("cam", [], at=41.0)
    assert [s.first_seen for s in out] == [0.0, 40.0]


def test_dedupe_window_is_per_camera_and_layout_blind() -> None:
    tracker = PlateTracker(TrackerConfig(gap_frames=0, max_gap_s=0.5, dedupe_window_s=30))
    tracker.observe("cam-a", [read("ABC1234")], at=0.0)
    tracker.observe("cam-b", [read("ABC1234")], at=0.0)
    first = tracker.observe("cam-a", [], at=1.0) + tracker.observe("cam-b", [], at=1.0)
    assert len(first) == 2
    tracker.observe("cam-a", [read("ABC1C34")], at=2.0)  # Mercosul twin of ABC1234
    assert tracker.observe("cam-a", [], at=3.0) == []


def test_far_apart_reads_after_the_gap_start_a_new_track() -> None:
    tracker = PlateTracker(TrackerConfig(gap_frames=0, max_gap_s=0.5, dedupe_window_s=0))
    tracker.observe("cam", [read("AAA1111", x=100)], at=0.0)
    out = tracker.observe("cam", [read("AAA1111", x=100)], at=2.0)
    assert len(out) == 1 and tracker.active_tracks("cam") == 1


def test_min_confidence_drops_weak_sightings() -> None:
    tracker = PlateTracker(TrackerConfig(min_confidence=0.6))
    tracker.observe("cam", [read("ABC1234", conf=0.4)], at=0.0)
    assert tracker.flush() == []


def test_frames_far_apart_keep_a_fast_vehicle_on_one_track_by_its_plate() -> None:
    """A worker behind its sampled rate sees a frame a second: the car moved four box
    widths between them, but its plate is its own, so it stays one vehicle, and a frame
    without it (a gap longer than ``max_gap_s``) has not ended its track."""
    tracker = PlateTracker(TrackerConfig(max_gap_s=1.5, report_after_reads=50))
    sightings = []
    for i in range(3):
        sightings += tracker.observe("cam", [read("BRA2E19", x=50 + 480 * i)], at=i * 1.0)
    sightings += tracker.observe("cam", [], at=3.0)
    sightings += tracker.observe("cam", [read("BRA2E19", x=1500)], at=4.0)
    assert sightings == []
    sightings += tracker.observe("cam", [], at=5.0)
    sightings += tracker.observe("cam", [], at=6.0)
    assert sightings == []
    (sighting,) = tracker.observe("cam", [], at=7.0)
    assert sighting.plate.value == "BRA2E19" and sighting.reads == 4


def test_a_different_plate_far_away_is_another_vehicle_whatever_the_pace() -> None:
    tracker = PlateTracker(TrackerConfig(max_gap_s=1.5, report_after_reads=50))
    tracker.observe("cam", [read("BRA2E19", x=50)], at=0.0)
    tracker.observe("cam", [read("XYZ9876", x=900)], at=1.0)
    assert tracker.active_tracks("cam") == 2


def test_at_the_sampled_rate_the_gap_stays_as_configured() -> None:
    tracker = PlateTracker(TrackerConfig(max_gap_s=1.0, report_after_reads=50))
    for i in range(5):
        tracker.observe("cam", [read("ABC1D23", x=100 + 10 * i)], at=i * 0.25)
    for i in range(5, 9):
        tracker.observe("cam", [], at=i * 0.25)
    (sighting,) = tracker.observe("cam", [], at=2.3)  # 1.3 s after its last read
    assert sighting.plate.value == "ABC1D23"


def test_the_same_plate_wins_over_another_car_closer_to_where_it_was() -> None:
    """Frames a second apart: BRA2E19 moved on, another car is now near its old place.
    The track follows the plate; the other car is a vehicle of its own."""
    tracker = PlateTracker(TrackerConfig(report_after_reads=50))
    tracker.observe("cam", [read("BRA2E19", x=50)], at=0.0)
    tracker.observe("cam", [read("BRA2E19", x=530), read("XYZ9A76", x=100)], at=1.0)
    plates = sorted(s.plate.value for s in tracker.flush("cam"))
    assert plates == ["BRA2E19", "XYZ9A76"]


def test_a_worker_slower_than_the_configured_gap_still_keeps_its_tracks() -> None:
    """One frame every 2 s (longer than ``max_gap_s``): a car read in every other frame is
    one vehicle, not one per read."""
    tracker = PlateTracker(TrackerConfig(max_gap_s=1.5, report_after_reads=50))
    sightings = []
    for i in range(6):
        reads = [read("ABC1D23", x=100 + 50 * i)] if i % 2 == 0 else []
        sightings += tracker.observe("cam", reads, at=i * 2.0)
    sightings += tracker.flush("cam")
    assert [s.reads for s in sightings] == [3]


def test_the_next_car_in_the_place_of_the_one_ahead_is_another_vehicle() -> None:
    """ABC1D23 leaves while frames are dropped; BRA2E19 appears where it was, within the
    gap: a plate that differs in every character is not a misread of the first car, so
    its read starts a vehicle of its own (it once became the first car's read, and its
    watchlist alert was retracted by that track's vote)."""
    tracker = PlateTracker(TrackerConfig(report_after_reads=50,
                                         provisional_min_confidence=0.8))
    tracker.observe("cam", [read("ABC1D23", x=400)], at=0.0)
    early = tracker.observe("cam", [read("BRA2E19", x=420)], at=0.5)

    assert tracker.active_tracks("cam") == 2
    assert [s.plate.value for s in early] == ["BRA2E19"]
    assert sorted(s.plate.value for s in tracker.flush("cam")) == ["ABC1D23", "BRA2E19"]


def test_a_misread_of_up_to_two_characters_stays_on_its_vehicle() -> None:
    tracker = PlateTracker(TrackerConfig(report_after_reads=50))
    tracker.observe("cam", [read("ABC1D23", x=400)], at=0.0)
    tracker.observe("cam", [read("A8C1D28", x=420)], at=0.25)  # two characters off
    tracker.observe("cam", [read("ABC1323", x=440)], at=0.5)  # the old-layout twin

    assert tracker.active_tracks("cam") == 1
    (sighting,) = tracker.flush("cam")
    assert sighting.plate.value == "ABC1D23" and sighting.reads == 3
