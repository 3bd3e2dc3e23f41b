"""RecogniseFrame with fake detector and reader: crops, validation, thresholds, timings."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from shared_kernel.plates import PlateNumber
from streaming_service.application.ai.recognise_frame import (
    InvalidFrame,
    RecogniseFrame,
    RecognitionSettings,
    cut_by_frame,
    whole_plates,
)
from streaming_service.domain.ai.detection import BBox, PlateRead
from streaming_service.domain.ai.ports import Image, OcrReading, PlateBox


class FakeDetector:
    name = "fake-detector"

    def __init__(self, boxes: list[PlateBox]) -> None:
        self.boxes = boxes

    def detect(self, frame: Image) -> list[PlateBox]:
        return list(self.boxes)


class FakeReader:
    """Reads the text written under the crop's top-left pixel value."""

    name = "fake-reader"

    def __init__(self, by_value: dict[int, OcrReading]) -> None:
        self.by_value = by_value
        self.crops: list[Image] = []

    def read(self, crop: Image) -> OcrReading:
        self.crops.append(crop)
        return self.by_value[int(crop[crop.shape[0] // 2, crop.shape[1] // 2, 0])]


def frame_with(regions: dict[int, BBox]) -> Image:
    frame = np.zeros((360, 640, 3), np.uint8)
    for value, box in regions.items():
        frame[int(box.y1) : int(box.y2), int(box.x1) : int(box.x2)] = value
    return frame


def fake_clock() -> itertools.count[float]:
    return itertools.count(0.0, 0.01)  # each call 10 ms later


def test_reads_validated_plates_and_rejects_the_rest() -> None:
    good, junk, weak = BBox(50, 50, 150, 80), BBox(300, 50, 400, 80), BBox(50, 200, 150, 230)
    frame = frame_with({10: good, 20: junk, 30: weak})
    detector = FakeDetector([PlateBox(good, 0.9), PlateBox(junk, 0.8), PlateBox(weak, 0.7)])
    reader = FakeReader(
        {
            10: OcrReading("abc-1d23", 0.95),
            20: OcrReading("BRASIL", 0.9),
            30: OcrReading("XYZ9876", 0.2),
        }
    )
    clock = fake_clock()
    result = RecogniseFrame(detector, reader, clock=lambda: next(clock))(frame)
    assert [r.text for r in result.reads] == ["ABC1D23"]
    read = result.reads[0]
    assert read.bbox == good and read.detector_score == 0.9 and read.raw_text == "abc-1d23"
    assert read.crop is not None and read.crop.shape[0] > good.height  # with a margin
    assert sorted(r.reason for r in result.rejected) == ["low confidence", "not a plate"]
    assert result.timings.crops == 3
    assert result.timings.detect_ms == pytest.approx(10)
    assert result.timings.total_ms == pytest.approx(20)


def test_low_detector_scores_are_not_read() -> None:
    box = BBox(50, 50, 150, 80)
    reader = FakeReader({10: OcrReading("ABC1234", 0.9)})
    use_case = RecogniseFrame(
        FakeDetector([PlateBox(box, 0.1)]), reader, RecognitionSettings(min_detector_score=0.3)
    )
    assert use_case(frame_with({10: box})).reads == []
    assert reader.crops == []


def test_boxes_at_the_frame_edge_are_clipped() -> None:
    """A still photo is read to its edges (a plate that fills the picture)."""
    box = BBox(600, 330, 640, 360)
    reader = FakeReader({10: OcrReading("ABC1234", 0.9)})
    result = RecogniseFrame(FakeDetector([PlateBox(box, 0.9)]), reader)(frame_with({10: box}))
    assert result.reads[0].crop.shape[:2] == (33, 42)


@pytest.mark.parametrize(
    "box",
    [BBox(2, 100, 120, 130), BBox(500, 100, 638, 130), BBox(200, 0, 320, 30),
     BBox(200, 330, 320, 359)],
)
def test_a_live_frame_s_plate_the_frame_may_cut_is_dropped(box: BBox) -> None:
    """A vehicle entering the frame shows part of its plate, which the grammar would
    complete into a confident wrong plate; it is read whole a few frames later."""
    inside = BBox(300, 150, 420, 180)
    frame = frame_with({})
    reads = [PlateRead(plate=PlateNumber.parse(text), confidence=0.95, bbox=b, raw_text=text,
                       crop=np.zeros((30, 120, 3), np.uint8))
             for text, b in (("ABC1234", box), ("XYZ9876", inside))]
    assert cut_by_frame(box, frame) and not cut_by_frame(inside, frame)
    assert [r.plate.value for r in whole_plates(reads, frame)] == ["XYZ9876"]


@pytest.mark.parametrize(
    "frame",
    [
        np.zeros((360, 640), np.uint8),
        np.zeros((360, 640, 3), np.float32),
        np.zeros((8, 8, 3), np.uint8),
        np.zeros((360, 640, 4), np.uint8),
    ],
)
def test_unusable_frames_are_refused(frame: np.ndarray) -> None:
    with pytest.raises(InvalidFrame):
        RecogniseFrame(FakeDetector([]), FakeReader({}))(frame)


class BatchDetector(FakeDetector):
    def __init__(self, boxes: list[PlateBox]) -> None:
        super().__init__(boxes)
        self.calls: list[int] = []

    def detect_batch(self, frames: list[Image]) -> list[list[PlateBox]]:
        self.calls.append(len(frames))
        return [self.detect(f) for f in frames]


class BatchReader(FakeReader):
    def __init__(self, by_value: dict[int, OcrReading]) -> None:
        super().__init__(by_value)
        self.calls: list[int] = []

    def read_batch(self, crops: list[Image]) -> list[OcrReading]:
        self.calls.append(len(crops))
        return [self.read(c) for c in crops]


def test_a_batch_of_frames_takes_one_detector_call_and_one_reader_call() -> None:
    box = BBox(50, 50, 150, 80)
    frames = [frame_with({10: box}), frame_with({20: box}), frame_with({30: box})]
    detector = BatchDetector([PlateBox(box, 0.9)])
    reader = BatchReader(
        {
            10: OcrReading("ABC1D23", 0.95),
            20: OcrReading("XYZ9876", 0.9),
            30: OcrReading("QWE4J56", 0.3),
        }
    )
    results = RecogniseFrame(detector, reader).batch(frames)
    assert detector.calls == [3] and reader.calls == [3]
    assert [[str(r.plate) for r in res.reads] for res in results] == [["ABC1D23"], ["XYZ9876"], []]
    assert [r.reason for r in results[2].rejected] == ["low confidence"]
    assert RecogniseFrame(detector, reader).batch([]) == []


def test_a_batch_rejects_any_invalid_frame() -> None:
    detector = BatchDetector([])
    with pytest.raises(InvalidFrame):
        RecogniseFrame(detector, BatchReader({})).batch(
            [np.zeros((360, 640, 3), np.uint8), np.zeros((8, 8, 3), np.uint8)]
        )
    assert detector.calls == []


def test_a_box_far_wider_than_a_plate_is_not_read() -> None:
    """A camera's on-screen clock line (here 8:1) is found in every frame: it is rejected
    as not plate-shaped without a read; a steeply seen plate (6:1) is still read."""
    clock, steep = BBox(0, 0, 640, 80), BBox(100, 200, 280, 230)
    frame = frame_with({40: clock, 10: steep})
    reader = FakeReader({10: OcrReading("ABC1D23", 0.95)})
    result = RecogniseFrame(
        FakeDetector([PlateBox(clock, 0.6), PlateBox(steep, 0.7)]), reader,
        RecognitionSettings(crop_margin_x=0, crop_margin_y=0))(frame)
    assert [r.plate.value for r in result.reads] == ["ABC1D23"]
    assert len(reader.crops) == 1
    assert [r.reason for r in result.rejected] == ["not plate-shaped"]
    assert result.timings.crops == 1
