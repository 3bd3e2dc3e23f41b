"""Choosing the plate reader, the device and the precision by setting."""

from __future__ import annotations

import pytest

from streaming_service.infrastructure.detector import (
    DEFAULT_ONNX_MODEL,
    INT8_ONNX_MODEL,
    detector_model,
)
from streaming_service.infrastructure.ocr import (
    INT8_READER_MODEL,
    RapidOcrPlateReader,
    rapidocr_model_path,
)
from streaming_service.infrastructure.recogniser import (
    READERS,
    build_reader,
    default_recogniser,
    providers_for,
)
from streaming_service.settings import StreamingSettings


def test_both_readers_are_selectable_and_unknown_names_are_refused() -> None:
    assert set(READERS) == {"plate-cnn", "ppocr"}
    with pytest.raises(ValueError, match="unknown plate reader"):
        default_recogniser("tesseract")
    with pytest.raises(ValueError, match="unknown plate reader"):
        build_reader("tesseract")


def test_the_cpu_is_the_default_and_always_the_fallback() -> None:
    assert providers_for("cpu") == ["CPUExecutionProvider"]
    cuda = providers_for("cuda")
    assert cuda[-1] == "CPUExecutionProvider"
    assert cuda in (["CPUExecutionProvider"], ["CUDAExecutionProvider", "CPUExecutionProvider"])
    with pytest.raises(ValueError, match="unknown LPR device"):
        providers_for("tpu")


def test_each_precision_names_a_shipped_file_and_unknown_ones_are_refused() -> None:
    assert detector_model("int8") == INT8_ONNX_MODEL and INT8_ONNX_MODEL.is_file()
    assert detector_model("fp32") == DEFAULT_ONNX_MODEL and DEFAULT_ONNX_MODEL.is_file()
    assert INT8_READER_MODEL.is_file()
    with pytest.raises(ValueError, match="unknown LPR precision"):
        detector_model("fp16")
    with pytest.raises(ValueError, match="unknown LPR precision"):
        RapidOcrPlateReader(precision="fp16")


def test_the_precision_setting_reaches_both_networks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GTV_LPR_PRECISION", "fp32")
    assert StreamingSettings().lpr_precision == "fp32"
    monkeypatch.delenv("GTV_LPR_PRECISION")
    assert StreamingSettings().lpr_precision == "int8"
    core = default_recogniser("ppocr", "cpu", "fp32")._core()
    assert core.detector.model_path == DEFAULT_ONNX_MODEL
    assert core.reader.model_path == rapidocr_model_path()
    core = default_recogniser("ppocr", "cpu", "int8")._core()
    assert core.detector.model_path == INT8_ONNX_MODEL
    assert core.reader.model_path == INT8_READER_MODEL
