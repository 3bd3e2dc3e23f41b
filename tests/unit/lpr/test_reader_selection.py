"""Choosing the plate reader and the device by setting (no model is loaded)."""

from __future__ import annotations

import pytest

from streaming_service.infrastructure.recogniser import (
    READERS,
    build_reader,
    default_recogniser,
    providers_for,
)


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
