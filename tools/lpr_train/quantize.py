"""Make the int8 plate detector and PP-OCR reader (``GTV_LPR_PRECISION=int8``) from the
shipped fp32 files, reproducibly, in two sets: 8-bit weights, and 7-bit weights for x86
CPUs without VNNI (``streaming_service/infrastructure/int8_kernels.py``):

    /work/venv-quant/bin/python -m tools.lpr_train.quantize

Static quantization with onnxruntime (QDQ, per-channel int8 weights, uint8 activations;
each activation's range is the mean over the calibration inputs of its per-input min and
max, onnxruntime's ``CalibMovingAverage``): the detector's backbone, neck and head
convolutions run in int8, its box and class output layers stay fp32; the reader's
convolutions and matrix products run in int8, its character classifier stays fp32.
The activation ranges come from the project's tuning generator (``tools/lpr_dataset``,
seed ``CALIBRATION_SEED``, hard frames, a quarter at night, 15 % two-row), never from
the evaluation set (``tools/lpr_eval``). Both reader networks (the fine-tuned one,
``ocr.FP32_READER_MODEL``, and the package's, which reads the second view) are
calibrated on the lines the service itself feeds them: both views of every box the fp32
detector finds in those frames. Same inputs, same files (the calibration has no
randomness). One exception: the shipped 8-bit file of the package's network was made by
this script at b0ae882, calibrated on the lines the reader fed its network then; today's
lines make another file, which read fewer tuning frames (docs/models.md), so the script
leaves that file alone unless ``--requantize-8bit-second-view`` asks for it. The other
five files are its output as it is.

Runs in a venv with the service's dependencies plus ``onnx`` (``python3 -m venv
/work/venv-quant && /work/venv-quant/bin/pip install -e . onnx==1.23.2``). Speed and
accuracy of both precisions: docs/models.md.
"""

from __future__ import annotations

import argparse
import functools
import tempfile
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt

from streaming_service.infrastructure.detector import (
    DEFAULT_ONNX_MODEL,
    INT8_DETECTOR_FILES,
    MODELS_DIR,
    OnnxPlateDetector,
    letterbox,
)
from streaming_service.infrastructure.ocr import (
    FP32_READER_MODEL,
    INT8_READER_FILES,
    INT8_SECOND_VIEW_FILES,
    RapidOcrPlateReader,
    rapidocr_model_path,
    second_view,
)

#: A tuning seed of ``tools/lpr_dataset`` kept for calibration only (docs/models.md).
CALIBRATION_SEED = 2031
#: Operators the detector runs in int8: its backbone and neck whole (convolutions with
#: their SiLU, sums, concatenations, pooling, upsampling), so tensors stay int8 between
#: layers (measured 23 ms a frame against 28 ms with only the convolutions in int8).
DETECTOR_INT8_OPS = ["Conv", "Mul", "Sigmoid", "Add", "Concat", "MaxPool", "Resize", "Split"]
#: In the detect head (``/model.22/``) only convolutions go int8, and not its box and
#: class output layers; its activations, softmax and decoding arithmetic stay fp32
#: (quantizing the output concatenation loses every box). The distribution-focal
#: decoding's 1x1 convolution (fixed weights 0..15) is quantized with the rest: its
#: input range clips a bin's probability at ~0.78, which makes boxes ~1 % smaller (mean
#: IoU 0.972 with fp32's). Keeping it fp32 (boxes as fp32's, IoU 0.979) read 797 right /
#: 21 misreads of the 900 tuning frames against 804 / 17, 1.5 ms slower: kept int8.
DETECTOR_HEAD = "/model.22/"
DETECTOR_FP32_SUFFIXES = tuple(
    f"cv{branch}.{level}.2/Conv" for branch in (2, 3) for level in range(3)
)
#: PP-OCRv4's classifier head (hidden -> 6 625 characters) stays fp32.
READER_FP32_NODES = ("p2o.MatMul.24",)
#: The ONNX opset the reader is converted to: per-channel QDQ needs 13 or later.
READER_OPSET = 17

Tensor = npt.NDArray[np.float32]


def calibration_frames(n: int) -> Iterator[npt.NDArray[np.uint8]]:
    from tools.lpr_dataset.generate import samples

    for sample in samples(n, CALIBRATION_SEED, night_fraction=0.25, moto_fraction=0.15):
        yield sample.image


def detector_inputs(n: int) -> list[Tensor]:
    """Letterboxed network inputs, exactly as ``OnnxPlateDetector`` prepares them."""
    tensors = []
    for frame in calibration_frames(n):
        boxed, _ = letterbox(frame, 640, rect=True)
        tensors.append((boxed[..., ::-1].transpose(2, 0, 1)[None] / 255.0).astype(np.float32))
    return tensors


def reader_inputs(n: int) -> list[Tensor]:
    """The reader's network inputs for both views of every box the fp32 detector finds."""
    from streaming_service.application.ai.recognise_frame import RecognitionSettings, plate_crop

    margins = RecognitionSettings()
    detector = OnnxPlateDetector(DEFAULT_ONNX_MODEL)
    reader = RapidOcrPlateReader(rapidocr_model_path(), precision="fp32")  # its line cutting
    tensors = []
    for frame in calibration_frames(n):
        for box in detector.detect(frame):
            crop = plate_crop(frame, box.bbox, margins)
            if crop is None:
                continue
            for view in (crop, second_view(crop)):
                line = reader.prepare(view)
                if line is not None:
                    tensors.append(reader.network_input(line))
    return tensors


class _Feed:
    """onnxruntime's ``CalibrationDataReader``: one input tensor per call."""

    def __init__(self, name: str, tensors: list[Tensor]) -> None:
        self._items = iter(tensors)
        self._name = name

    def get_next(self) -> dict[str, Tensor] | None:
        item = next(self._items, None)
        return None if item is None else {self._name: item}

    def __len__(self) -> int:  # pragma: no cover - onnxruntime only probes for it
        return 0


def quantize(source: Path, out: Path, feed: _Feed, *, ops: list[str], keep: list[str],
             reduce_range: bool) -> None:
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    with tempfile.TemporaryDirectory() as tmp:
        prepared = Path(tmp) / "prepared.onnx"
        quant_pre_process(str(source), str(prepared), skip_symbolic_shape=True)
        quantize_static(
            str(prepared),
            str(out),
            feed,  # type: ignore[arg-type]
            quant_format=QuantFormat.QDQ,
            per_channel=True,
            # uint8 activations x int8 weights: the fast int8 kernels on x86 (int8 x int8
            # made the detector slower than fp32 here: 75 ms against 52 ms).
            activation_type=QuantType.QUInt8,
            weight_type=QuantType.QInt8,
            # 7-bit weights for x86 CPUs without VNNI (``int8_kernels``): their uint8 x
            # int8 kernels sum pairs of products in 16 bits, which 8-bit weights overflow.
            # (uint8 weights avoid that too, but ran slower than fp32 there: detector 87
            # against 76 ms, reader 60 against 30 ms a 320-wide line, one run.)
            reduce_range=reduce_range,
            op_types_to_quantize=ops,
            nodes_to_exclude=keep,
            calibrate_method=CalibrationMethod.MinMax,
            extra_options={"CalibMovingAverage": True},
        )


def quantize_detector(out: Path, inputs: list[Tensor], *, reduce_range: bool) -> None:
    import onnx

    graph = onnx.load(str(DEFAULT_ONNX_MODEL)).graph
    keep = [
        node.name
        for node in graph.node
        if node.name.startswith(DETECTOR_HEAD)
        and (node.op_type != "Conv" or node.name.endswith(DETECTOR_FP32_SUFFIXES))
    ]
    feed = _Feed(graph.input[0].name, inputs)
    quantize(DEFAULT_ONNX_MODEL, out, feed, ops=DETECTOR_INT8_OPS, keep=keep,
             reduce_range=reduce_range)


def quantize_reader(source: Path, out: Path, inputs: list[Tensor], *,
                    reduce_range: bool) -> None:
    import onnx
    from onnx import version_converter

    model = onnx.load(str(source))
    feed = _Feed(model.graph.input[0].name, inputs)
    with tempfile.TemporaryDirectory() as tmp:
        converted = Path(tmp) / "rec.onnx"
        onnx.save(version_converter.convert_version(model, READER_OPSET), str(converted))
        quantize(converted, out, feed, ops=["Conv", "MatMul"], keep=list(READER_FP32_NODES),
                 reduce_range=reduce_range)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out-dir", type=Path, default=MODELS_DIR)
    parser.add_argument("--detector-frames", type=int, default=96)
    parser.add_argument("--reader-frames", type=int, default=120)
    parser.add_argument("--requantize-8bit-second-view", action="store_true",
                        help="also rewrite the package network's 8-bit file (older lines)")
    args = parser.parse_args()
    cv2.setNumThreads(1)
    detector_calibration = detector_inputs(args.detector_frames)
    reader_calibration = reader_inputs(args.reader_frames)
    for seven_bit in (False, True):
        jobs = [(quantize_detector, INT8_DETECTOR_FILES[seven_bit], detector_calibration),
                (functools.partial(quantize_reader, FP32_READER_MODEL),
                 INT8_READER_FILES[seven_bit], reader_calibration)]
        if seven_bit or args.requantize_8bit_second_view:
            jobs.append((functools.partial(quantize_reader, rapidocr_model_path()),
                         INT8_SECOND_VIEW_FILES[seven_bit], reader_calibration))
        for quantize_network, shipped, inputs in jobs:
            out = args.out_dir / shipped.name
            quantize_network(out, inputs, reduce_range=seven_bit)
            print(f"wrote {out}")


if __name__ == "__main__":
    main()
