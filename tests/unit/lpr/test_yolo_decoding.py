"""YOLOv8 output decoding, NMS and letterboxing on synthetic tensors (no model)."""

from __future__ import annotations

import numpy as np
import pytest

from streaming_service.infrastructure.detector import decode_yolov8, letterbox, nms


def head(*anchors: tuple[float, float, float, float, float]) -> np.ndarray:
    """A (1, 5, N) YOLOv8 single-class output from (cx, cy, w, h, score) anchors."""
    return np.array(anchors, np.float32).T[None]


def test_nms_keeps_the_best_of_overlapping_boxes() -> None:
    boxes = np.array([[0, 0, 10, 10], [1, 1, 11, 11], [50, 50, 60, 60]], np.float32)
    scores = np.array([0.8, 0.9, 0.7], np.float32)
    assert nms(boxes, scores, 0.5) == [1, 2]
    assert nms(boxes, scores, 0.9) == [1, 0, 2]


def test_decode_converts_centre_boxes_filters_scores_and_suppresses_duplicates() -> None:
    out = head(
        (100, 50, 40, 20, 0.9),
        (101, 51, 40, 20, 0.85),  # duplicate of the first
        (300, 200, 60, 20, 0.6),
        (500, 500, 10, 10, 0.1),  # below the threshold
    )
    boxes, scores = decode_yolov8(out, conf_threshold=0.25, iou_threshold=0.45, max_detections=10)
    assert scores.tolist() == pytest.approx([0.9, 0.6])
    assert boxes[0].tolist() == pytest.approx([80, 40, 120, 60])
    assert boxes[1].tolist() == pytest.approx([270, 190, 330, 210])


def test_decode_with_no_confident_anchor_returns_nothing() -> None:
    boxes, scores = decode_yolov8(head((1, 1, 1, 1, 0.01)), 0.25, 0.45, 10)
    assert boxes.shape == (0, 4) and scores.shape == (0,)


def test_decode_uses_the_best_class_score_with_several_classes() -> None:
    out = np.array([[10], [10], [4], [4], [0.1], [0.7]], np.float32)
    _, scores = decode_yolov8(out, 0.5, 0.45, 5)
    assert scores.tolist() == pytest.approx([0.7])


def test_decode_caps_the_number_of_detections() -> None:
    anchors = [(20.0 * i + 10, 10, 8, 8, 0.5 + i / 100) for i in range(10)]
    boxes, _ = decode_yolov8(head(*anchors), 0.25, 0.45, max_detections=3)
    assert len(boxes) == 3


def test_decode_rejects_a_non_detection_output() -> None:
    with pytest.raises(ValueError):
        decode_yolov8(np.zeros((1, 3, 10), np.float32), 0.25, 0.45, 10)


def test_letterbox_round_trips_boxes_to_frame_coordinates() -> None:
    frame = np.zeros((720, 1280, 3), np.uint8)
    boxed, lb = letterbox(frame, 640)
    assert boxed.shape == (640, 640, 3)
    assert lb.scale == pytest.approx(0.5) and (lb.pad_x, lb.pad_y) == (0, 140)
    assert boxed[0, 0].tolist() == [114, 114, 114]  # padding
    frame_box = np.array([[100, 200, 300, 260]], np.float32)
    net_box = frame_box * lb.scale + np.array([lb.pad_x, lb.pad_y] * 2, np.float32)
    assert lb.to_frame(net_box)[0].tolist() == pytest.approx(frame_box[0].tolist())


def test_rectangular_letterbox_pads_only_to_the_stride() -> None:
    boxed, lb = letterbox(np.zeros((720, 1280, 3), np.uint8), 640, rect=True)
    assert boxed.shape == (384, 640, 3)
    assert (lb.pad_x, lb.pad_y) == (0, 12)
