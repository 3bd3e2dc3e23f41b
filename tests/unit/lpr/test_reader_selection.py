"""Choosing the plate reader, the device and the precision by setting."""

from __future__ import annotations

from pathlib import Path

import pytest

from streaming_service import bootstrap
from streaming_service.infrastructure import detector as detector_module
from streaming_service.infrastructure import int8_kernels
from streaming_service.infrastructure import recogniser as recogniser_module
from streaming_service.infrastructure.detector import (
    DEFAULT_ONNX_MODEL,
    INT8_7BIT_ONNX_MODEL,
    INT8_ONNX_MODEL,
    detector_model,
)
from streaming_service.infrastructure.int8_kernels import int8_saturation_risk
from streaming_service.infrastructure.ocr import (
    CALIBRATION_THRESHOLDS,
    FP32_READER_MODEL,
    INT8_7BIT_READER_MODEL,
    INT8_7BIT_SECOND_VIEW_MODEL,
    INT8_READER_MODEL,
    INT8_SECOND_VIEW_MODEL,
    RapidOcrPlateReader,
    rapidocr_model_path,
)
from streaming_service.infrastructure.plate_cnn import DEFAULT_READER_MODEL as CNN_READER_MODEL
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


@pytest.mark.parametrize(
    ("seven_bit", "expected"), [(False, INT8_ONNX_MODEL), (True, INT8_7BIT_ONNX_MODEL)]
)
def test_each_precision_names_a_shipped_file_and_unknown_ones_are_refused(
    monkeypatch: pytest.MonkeyPatch, seven_bit: bool, expected: Path
) -> None:
    monkeypatch.setattr(int8_kernels, "seven_bit_weights", lambda: seven_bit)
    assert detector_model("int8") == expected and expected.is_file()
    assert detector_model("fp32") == DEFAULT_ONNX_MODEL and DEFAULT_ONNX_MODEL.is_file()
    assert INT8_READER_MODEL.is_file() and INT8_7BIT_READER_MODEL.is_file()
    assert FP32_READER_MODEL.is_file()
    with pytest.raises(ValueError, match="unknown LPR precision"):
        detector_model("fp16")
    with pytest.raises(ValueError, match="unknown LPR precision"):
        RapidOcrPlateReader(precision="fp16")


@pytest.mark.parametrize(
    ("env", "seven_bit", "detector_file", "reader_file", "second_view_file"),
    [
        (None, False, INT8_ONNX_MODEL, INT8_READER_MODEL, INT8_SECOND_VIEW_MODEL),
        ("int8", False, INT8_ONNX_MODEL, INT8_READER_MODEL, INT8_SECOND_VIEW_MODEL),
        ("int8", True, INT8_7BIT_ONNX_MODEL, INT8_7BIT_READER_MODEL,
         INT8_7BIT_SECOND_VIEW_MODEL),
        ("fp32", True, DEFAULT_ONNX_MODEL, FP32_READER_MODEL, rapidocr_model_path()),
    ],
)
def test_the_precision_setting_reaches_both_networks_through_the_composition_root(
    monkeypatch: pytest.MonkeyPatch,
    env: str | None,
    seven_bit: bool,
    detector_file: Path,
    reader_file: Path,
    second_view_file: Path,
) -> None:
    """int8 loads the 7-bit files where this CPU would saturate 8-bit ones."""
    monkeypatch.setattr(int8_kernels, "seven_bit_weights", lambda: seven_bit)
    if env is None:
        monkeypatch.delenv("GTV_LPR_PRECISION", raising=False)
    else:
        monkeypatch.setenv("GTV_LPR_PRECISION", env)
    recogniser = bootstrap.default_recogniser(StreamingSettings())
    core = recogniser._core()  # type: ignore[attr-defined]
    assert core.detector.model_path == detector_file
    assert core.reader.model_path == reader_file
    assert core.reader.second_view_model == second_view_file


@pytest.mark.parametrize(
    ("providers", "detector_precision"),
    [
        (["CUDAExecutionProvider", "CPUExecutionProvider"], "fp32"),
        (["CPUExecutionProvider"], "int8"),  # cuda asked for, but no CUDA provider
    ],
)
def test_the_detector_runs_its_fp32_file_only_where_cuda_runs_it(
    monkeypatch: pytest.MonkeyPatch, providers: list[str], detector_precision: str
) -> None:
    built: dict[str, object] = {}

    class RecordingDetector:
        def __init__(self, *, precision: str, providers: list[str]) -> None:
            built.update(precision=precision, providers=providers)

    monkeypatch.setattr(detector_module, "OnnxPlateDetector", RecordingDetector)
    monkeypatch.setattr(recogniser_module, "providers_for", lambda device: providers)
    default_recogniser("ppocr", "cuda", "int8")._core()
    assert built == {"precision": detector_precision, "providers": providers}


@pytest.mark.parametrize(
    ("flags", "risk"),
    [
        ("fpu sse2 avx2 avx512f avx512_vnni", False),
        ("fpu sse2 avx2 avx_vnni", False),
        ("fpu sse2 avx2 avx512f", True),
    ],
)
def test_an_x86_cpu_without_vnni_is_flagged_for_7_bit_weights(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, flags: str, risk: bool
) -> None:
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text(f"processor\t: 0\nflags\t\t: {flags}\n", encoding="utf-8")
    monkeypatch.setattr(int8_kernels.platform, "machine", lambda: "x86_64")
    assert int8_saturation_risk(cpuinfo) is risk
    assert int8_saturation_risk(tmp_path / "missing") is True  # 7-bit: safe anywhere
    monkeypatch.setattr(int8_kernels.platform, "machine", lambda: "aarch64")
    assert int8_saturation_risk(cpuinfo) is False


def test_the_fine_tuned_reader_drops_in_for_the_packages_network() -> None:
    """Same input, same 6 625 outputs, same characters: every file of both reader
    networks (fp32, int8, 7-bit) decodes with the package network's character table."""
    import numpy as np
    import onnxruntime as ort

    def described(path: Path) -> tuple[str, int, str]:
        session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        (out,) = session.run(None, {"x": np.zeros((1, 3, 48, 160), np.float32)})
        return (session.get_inputs()[0].name, out.shape[-1],
                session.get_modelmeta().custom_metadata_map["character"])

    package = described(rapidocr_model_path())
    shipped = (FP32_READER_MODEL, INT8_READER_MODEL, INT8_7BIT_READER_MODEL,
               INT8_SECOND_VIEW_MODEL, INT8_7BIT_SECOND_VIEW_MODEL)
    for path in shipped:
        assert described(path) == package


def test_the_second_view_is_read_by_the_second_network(monkeypatch: pytest.MonkeyPatch) -> None:
    import numpy as np

    reader = RapidOcrPlateReader(precision="fp32")
    assert reader.second_view_model == rapidocr_model_path()
    networks: list[object] = []
    read_with = reader._probabilities

    def spy(line: np.ndarray, session: object) -> np.ndarray:
        networks.append(session)
        return read_with(line, session)

    monkeypatch.setattr(reader, "_probabilities", spy)
    reader.read(np.full((40, 130, 3), 200, np.uint8))
    assert networks == [reader._session, reader._second_session]
    assert reader._second_session is not reader._session
    one_network = RapidOcrPlateReader(FP32_READER_MODEL, precision="fp32")
    assert one_network._second_session is one_network._session


def test_a_second_network_with_other_characters_is_refused() -> None:
    with pytest.raises(ValueError, match="does not share"):
        RapidOcrPlateReader(FP32_READER_MODEL, precision="fp32",
                            second_view_model=CNN_READER_MODEL)


def test_each_int8_pair_reads_with_the_table_fitted_on_its_own_reads(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The 8-bit and the 7-bit files (CPUs without VNNI) were each fitted on their own
    reads; a file is matched to its table by what it is, not by the CPU. (The shipped
    tables hold the same value today, so distinct ones stand in for them here.)"""
    assert CALIBRATION_THRESHOLDS["int8-7bit"], "the 7-bit files' table was fitted"
    assert CALIBRATION_THRESHOLDS["int8-7bit"] is not CALIBRATION_THRESHOLDS["int8"]
    monkeypatch.setitem(CALIBRATION_THRESHOLDS, "int8", {"old/one/disagree": 0.58})
    monkeypatch.setitem(CALIBRATION_THRESHOLDS, "int8-7bit", {"old/one/disagree": 0.57})
    eight = RapidOcrPlateReader(INT8_READER_MODEL, precision="int8")
    seven = RapidOcrPlateReader(INT8_7BIT_READER_MODEL, precision="int8")
    assert dict(eight.calibration) == {"old/one/disagree": 0.58}
    assert dict(seven.calibration) == {"old/one/disagree": 0.57}
    assert not RapidOcrPlateReader(FP32_READER_MODEL, precision="fp32").calibration
