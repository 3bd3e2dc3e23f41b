"""Plate detector adapters: YOLOv8 through onnxruntime (default) or through ultralytics.

Both serve the ``PlateDetector`` port. The default model is the YOLOv8n plate detector
shipped by the MIT-licensed ``pyplatex`` package, exported once to ONNX and committed
under ``streaming_service/infrastructure/models/`` (see docs/models.md): onnxruntime is
a small install, while ultralytics needs torch (gigabytes) and stays an optional extra.

The pure functions (``letterbox``, ``decode_yolov8``, ``nms``) are unit-tested on
synthetic tensors.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from streaming_service.domain.ai.detection import BBox
from streaming_service.domain.ai.ports import Image, PlateBox
from streaming_service.infrastructure.int8_kernels import int8_file

MODELS_DIR = Path(__file__).resolve().parent / "models"
DEFAULT_ONNX_MODEL = MODELS_DIR / "plate_detector_yolov8n.onnx"
#: The same network with int8 convolutions (``tools/lpr_train/quantize.py``): about half
#: the CPU time (docs/models.md, ``GTV_LPR_PRECISION``); 8-bit weights for x86 CPUs with
#: VNNI and others, 7-bit ones for x86 CPUs without (``int8_kernels``).
INT8_ONNX_MODEL = MODELS_DIR / "plate_detector_yolov8n.int8.onnx"
INT8_7BIT_ONNX_MODEL = MODELS_DIR / "plate_detector_yolov8n.int8-7bit.onnx"
INT8_DETECTOR_FILES = (INT8_ONNX_MODEL, INT8_7BIT_ONNX_MODEL)
PRECISIONS = ("fp32", "int8")
DEFAULT_TORCH_WEIGHTS = MODELS_DIR / "plate_detector_yolov8n.pt"
LETTERBOX_FILL = 114  # the grey ultralytics pads with; the model was trained on it

FloatArray = npt.NDArray[np.float32]


@dataclass(frozen=True, slots=True)
class Letterbox:
    """How a frame was resized and padded into the square network input."""

    scale: float
    pad_x: int
    pad_y: int

    def to_frame(self, boxes: FloatArray) -> FloatArray:
        """Map ``Nx4`` xyxy boxes from network-input pixels back to frame pixels."""
        out = boxes.copy()
        out[:, [0, 2]] = (out[:, [0, 2]] - self.pad_x) / self.scale
        out[:, [1, 3]] = (out[:, [1, 3]] - self.pad_y) / self.scale
        return out


def detector_model(precision: str) -> Path:
    """The shipped detector file for a precision setting on this CPU."""
    if precision not in PRECISIONS:
        raise ValueError(f"unknown LPR precision {precision!r}; known: {list(PRECISIONS)}")
    if precision == "int8":
        return int8_file(INT8_DETECTOR_FILES)
    return DEFAULT_ONNX_MODEL


def letterbox(
    frame: Image, size: int, *, rect: bool = False, stride: int = 32
) -> tuple[Image, Letterbox]:
    """Resize keeping the aspect ratio so the long side is ``size``, and pad (centred).

    Square (``size``x``size``) by default; with ``rect`` the short side is padded only to
    a multiple of ``stride``, as ultralytics does at inference: a 16:9 frame at 640
    becomes 640x384, 40 % less work for the network (the ONNX model has dynamic axes).
    """
    h, w = frame.shape[:2]
    scale = min(size / h, size / w)
    nw, nh = round(w * scale), round(h * scale)
    out_w, out_h = (size, size)
    if rect:
        out_w, out_h = -(-nw // stride) * stride, -(-nh // stride) * stride
    pad_x, pad_y = (out_w - nw) // 2, (out_h - nh) // 2
    out = np.full((out_h, out_w, 3), LETTERBOX_FILL, np.uint8)
    interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    out[pad_y : pad_y + nh, pad_x : pad_x + nw] = cv2.resize(
        frame, (nw, nh), interpolation=interpolation
    )
    return out, Letterbox(scale, pad_x, pad_y)


def nms(boxes: FloatArray, scores: FloatArray, iou_threshold: float) -> list[int]:
    """Greedy non-maximum suppression; returns kept indices, best score first."""
    order = np.argsort(-scores, kind="stable")
    x1, y1, x2, y2 = boxes[:, 0], boxes[:, 1], boxes[:, 2], boxes[:, 3]
    areas = np.clip(x2 - x1, 0, None) * np.clip(y2 - y1, 0, None)
    keep: list[int] = []
    while order.size:
        i = int(order[0])
        keep.append(i)
        rest = order[1:]
        ix = np.clip(np.minimum(x2[i], x2[rest]) - np.maximum(x1[i], x1[rest]), 0, None)
        iy = np.clip(np.minimum(y2[i], y2[rest]) - np.maximum(y1[i], y1[rest]), 0, None)
        inter = ix * iy
        iou = inter / np.maximum(areas[i] + areas[rest] - inter, 1e-9)
        order = rest[iou <= iou_threshold]
    return keep


def decode_yolov8(
    output: FloatArray,
    conf_threshold: float,
    iou_threshold: float,
    max_detections: int,
) -> tuple[FloatArray, FloatArray]:
    """Decode one image's YOLOv8 head output into xyxy boxes and scores after NMS.

    ``output`` is ``(4 + classes) x anchors`` (or with a leading batch axis of 1):
    rows are centre x, centre y, width, height, then one score per class (already
    sigmoid-activated). A plate detector has one class; with several, a box's score is
    its best class's.
    """
    if output.ndim == 3:
        output = output[0]
    if output.shape[0] < 5:
        raise ValueError(f"not a YOLOv8 detection output: shape {output.shape}")
    scores = output[4:].max(axis=0)
    mask = scores >= conf_threshold
    if not mask.any():
        return np.zeros((0, 4), np.float32), np.zeros((0,), np.float32)
    cxcywh, scores = output[:4, mask].T, scores[mask]
    boxes = np.empty_like(cxcywh)
    boxes[:, 0] = cxcywh[:, 0] - cxcywh[:, 2] / 2
    boxes[:, 1] = cxcywh[:, 1] - cxcywh[:, 3] / 2
    boxes[:, 2] = cxcywh[:, 0] + cxcywh[:, 2] / 2
    boxes[:, 3] = cxcywh[:, 1] + cxcywh[:, 3] / 2
    keep = nms(boxes, scores, iou_threshold)[:max_detections]
    return boxes[keep].astype(np.float32), scores[keep].astype(np.float32)


def _to_plate_boxes(
    boxes: FloatArray, scores: FloatArray, width: int, height: int
) -> list[PlateBox]:
    found: list[PlateBox] = []
    for (x1, y1, x2, y2), score in zip(boxes.tolist(), scores.tolist(), strict=True):
        x1, x2 = max(0.0, x1), min(float(width), x2)
        y1, y2 = max(0.0, y1), min(float(height), y2)
        if x2 - x1 >= 2 and y2 - y1 >= 2:
            found.append(PlateBox(BBox(x1, y1, x2, y2), float(score)))
    return found


class OnnxPlateDetector:
    """YOLOv8 plate detector run by onnxruntime on the CPU (or any provider given)."""

    name = "yolov8n-onnx"

    def __init__(
        self,
        model_path: Path | None = None,
        *,
        precision: str = "int8",
        imgsz: int = 640,
        conf_threshold: float = 0.25,
        iou_threshold: float = 0.45,
        max_detections: int = 20,
        threads: int = 1,
        providers: list[str] | None = None,
        rect: bool = True,
    ) -> None:
        """``precision`` picks the shipped file (``detector_model``) when no
        ``model_path`` is given."""
        import onnxruntime as ort

        shipped = detector_model(precision)
        model_path = shipped if model_path is None else Path(model_path)
        if imgsz % 32:
            raise ValueError("imgsz must be a multiple of 32 (the model's stride)")
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self._session = ort.InferenceSession(
            str(model_path), options, providers=providers or ["CPUExecutionProvider"]
        )
        self._input = self._session.get_inputs()[0].name
        self.imgsz = imgsz
        self.conf_threshold = conf_threshold
        self.iou_threshold = iou_threshold
        self.max_detections = max_detections
        self.model_path = model_path
        if model_path in INT8_DETECTOR_FILES:
            self.name = "yolov8n-int8-onnx"
        self.rect = rect

    def detect(self, frame: Image) -> list[PlateBox]:
        return self.detect_batch([frame])[0]

    def detect_batch(self, frames: Sequence[Image]) -> list[list[PlateBox]]:
        """Boxes for each frame from one network call. Frames of one size keep the
        rectangular letterbox; a mix of sizes is letterboxed square so they stack."""
        if not frames:
            return []
        rect = self.rect and len({f.shape[:2] for f in frames}) == 1
        boxed = [letterbox(frame, self.imgsz, rect=rect) for frame in frames]
        # BGR HWC uint8 -> RGB CHW float 0..1, what ultralytics feeds the network.
        batch = np.stack([b[..., ::-1].transpose(2, 0, 1) for b, _ in boxed])
        tensor = batch.astype(np.float32) / 255.0
        (output,) = self._session.run(None, {self._input: tensor})[:1]
        output = np.asarray(output, np.float32)
        found: list[list[PlateBox]] = []
        for i, (frame, (_, lb)) in enumerate(zip(frames, boxed, strict=True)):
            boxes, scores = decode_yolov8(
                output[i], self.conf_threshold, self.iou_threshold, self.max_detections
            )
            found.append(
                _to_plate_boxes(lb.to_frame(boxes), scores, frame.shape[1], frame.shape[0])
            )
        return found


class UltralyticsPlateDetector:
    """The same detector through ``ultralytics`` (needs the ``lpr-torch`` extra).

    Imported lazily so the service runs without torch. ``YOLO_OFFLINE=1`` keeps
    ultralytics from reaching the network (no downloads, no update checks).
    """

    name = "yolov8n-ultralytics"
    _lock = threading.Lock()

    def __init__(
        self,
        weights: Path = DEFAULT_TORCH_WEIGHTS,
        *,
        imgsz: int = 640,
        conf_threshold: float = 0.25,
        iou_threshold: float = 0.45,
        max_detections: int = 20,
        threads: int = 1,
        device: str = "cpu",
    ) -> None:
        os.environ.setdefault("YOLO_OFFLINE", "1")
        os.environ.setdefault("YOLO_VERBOSE", "False")
        with self._lock:
            import torch
            from ultralytics import YOLO

            if device == "cpu":
                torch.set_num_threads(threads)
            self._model: Any = YOLO(str(weights), task="detect")
        self.imgsz = imgsz
        self.conf_threshold = conf_threshold
        self.iou_threshold = iou_threshold
        self.max_detections = max_detections
        self.device = device

    def detect(self, frame: Image) -> list[PlateBox]:
        results = self._model.predict(
            frame,
            imgsz=self.imgsz,
            conf=self.conf_threshold,
            iou=self.iou_threshold,
            max_det=self.max_detections,
            device=self.device,
            verbose=False,
        )
        boxes = results[0].boxes
        xyxy = np.asarray(boxes.xyxy.cpu().numpy(), np.float32).reshape(-1, 4)
        scores = np.asarray(boxes.conf.cpu().numpy(), np.float32).reshape(-1)
        return _to_plate_boxes(xyxy, scores, frame.shape[1], frame.shape[0])
