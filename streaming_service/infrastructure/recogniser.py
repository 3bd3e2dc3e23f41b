"""The ``PlateRecogniser`` port over the recognition core's use case
(``application.recognise_frame.RecogniseFrame``: detector → crops → reader → grammar).

``default_recogniser`` builds it with the shipped ONNX YOLOv8 plate detector and the
plate reader the settings name (``GTV_LPR_READER``, default PP-OCR, ``ppocr``), on
the device they name (``GTV_LPR_DEVICE``: ``cpu``, or ``cuda`` through onnxruntime's
CUDA provider where the installed onnxruntime has it, else the CPU), at the precision
they name (``GTV_LPR_PRECISION``: ``int8``, the default, or ``fp32``; int8 is a CPU
optimisation, so where the CUDA provider runs the detector it runs its fp32 file;
``int8_kernels`` picks the int8 files that do not saturate on this CPU). Models load on
first use, so an API replica that never receives an upload never pays for them.
``recognise_batch`` reads the frames of several cameras in one batched pass.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from streaming_service.domain.ai.detection import PlateRead
from streaming_service.domain.ai.ports import Image, PlateReader

DEVICES = ("cpu", "cuda")

log = logging.getLogger(__name__)


class UseCaseRecogniser:
    """Adapts a lazily built ``RecogniseFrame``-like use case to the port."""

    def __init__(self, build: Callable[[], Any]) -> None:
        self._build = build
        self._use_case: Any = None
        # One call at a time: predictable latency, and models load exactly once.
        self._lock = threading.Lock()

    def _core(self) -> Any:
        if self._use_case is None:
            self._use_case = self._build()
        return self._use_case

    def recognise(self, frame: Image) -> list[PlateRead]:
        return self.recognise_timed(frame)[0]

    def recognise_timed(self, frame: Image) -> tuple[list[PlateRead], dict[str, float]]:
        """The reads and the stage latencies in seconds (``detect``, ``ocr``, ``total``)."""
        with self._lock:
            result = self._core()(frame)
        timings: dict[str, float] = {}
        stages = getattr(result, "timings", None)
        for stage in ("detect", "ocr", "total"):
            value = getattr(stages, f"{stage}_ms", None)
            if value is not None:
                timings[stage] = float(value) / 1000
        return list(result.reads), timings

    def recognise_batch(self, frames: Sequence[Image]) -> list[list[PlateRead]]:
        """The reads of each frame, in order, from one batched detector and reader pass."""
        with self._lock:
            results = self._core().batch(frames)
        return [list(r.reads) for r in results]


def providers_for(device: str) -> list[str]:
    """onnxruntime execution providers for a device setting, CPU always the fallback."""
    if device not in DEVICES:
        raise ValueError(f"unknown LPR device {device!r}; known: {list(DEVICES)}")
    if device == "cuda":
        import onnxruntime as ort

        if "CUDAExecutionProvider" in ort.get_available_providers():
            return ["CUDAExecutionProvider", "CPUExecutionProvider"]
    return ["CPUExecutionProvider"]


def _plate_cnn(threads: int, providers: list[str], precision: str) -> PlateReader:
    """GT-Vision's own small reader: one fp32 file, whatever the precision setting."""
    from streaming_service.infrastructure.plate_cnn import DEFAULT_READER_MODEL, CnnPlateReader

    if not DEFAULT_READER_MODEL.is_file():
        raise FileNotFoundError(
            f"{DEFAULT_READER_MODEL} is missing: train it with tools/lpr_train "
            "(docs/models.md) or use GTV_LPR_READER=ppocr"
        )
    return CnnPlateReader(threads=threads, providers=providers)


def _ppocr(threads: int, providers: list[str], precision: str) -> PlateReader:
    from streaming_service.infrastructure.ocr import RapidOcrPlateReader

    return RapidOcrPlateReader(threads=threads, precision=precision)


READERS: dict[str, Callable[[int, list[str], str], PlateReader]] = {
    "plate-cnn": _plate_cnn,
    "ppocr": _ppocr,
}
"""Plate readers by their setting name (``GTV_LPR_READER``)."""


def build_reader(
    name: str, *, threads: int = 1, device: str = "cpu", precision: str = "int8"
) -> PlateReader:
    if name not in READERS:
        raise ValueError(f"unknown plate reader {name!r}; known: {sorted(READERS)}")
    return READERS[name](threads, providers_for(device), precision)


def _file_of(network: object) -> str:
    """The name of the model file a network loaded (for the log)."""
    path = getattr(network, "model_path", None)
    return Path(path).name if path is not None else type(network).__name__


def default_recogniser(
    reader: str = "ppocr", device: str = "cpu", precision: str = "int8"
) -> UseCaseRecogniser:
    def build() -> Any:
        from streaming_service.application.ai.recognise_frame import RecogniseFrame
        from streaming_service.infrastructure.detector import OnnxPlateDetector

        providers = providers_for(device)
        on_gpu = providers[0] == "CUDAExecutionProvider"
        detector = OnnxPlateDetector(precision="fp32" if on_gpu else precision,
                                     providers=providers)
        plate_reader = build_reader(reader, device=device, precision=precision)
        log.info("plate recognition loaded %s and %s", _file_of(detector), _file_of(plate_reader))
        return RecogniseFrame(detector, plate_reader)

    if reader not in READERS:
        raise ValueError(f"unknown plate reader {reader!r}; known: {sorted(READERS)}")
    return UseCaseRecogniser(build)
