"""Both-layout decoding of the plate network's CTC output, the layout prior, the plate
line and crop preparation; hand-made probability tables, no model."""

from __future__ import annotations

import numpy as np
import pytest

from streaming_service.infrastructure.plate_cnn import (
    ALPHABET,
    decode_plate,
    looks_mercosul,
    mercosul_probability,
    prepare,
)
from streaming_service.infrastructure.plate_line import LINE_H, LINE_W, is_two_row, plate_line


def columns(text: str, p: float = 0.95, **at: dict[str, float]) -> np.ndarray:
    """CTC columns spelling ``text`` (two columns per character, then a blank); ``posK``
    replaces character K's distribution (the rest of a column's mass is blank)."""
    frames: list[dict[str, float]] = []
    for i, ch in enumerate(text):
        dist = at.get(f"pos{i}", {ch: p})
        frames += [dist, dist, {}]
    probs = np.zeros((len(frames) + 2, 1 + len(ALPHABET)), np.float32)
    for t, dist in enumerate(frames):
        for ch, q in dist.items():
            probs[t, 1 + ALPHABET.index(ch)] = q
    probs[:, 0] = 1.0 - probs[:, 1:].sum(axis=1)
    return probs


def test_reads_a_mercosul_plate_and_an_old_plate() -> None:
    mercosul = decode_plate(columns("ABC1D23"), 0.5)
    assert mercosul is not None and (mercosul.text, mercosul.layout) == ("ABC1D23", "mercosul")
    old = decode_plate(columns("XYZ9876"), 0.5)
    assert old is not None and (old.text, old.layout) == ("XYZ9876", "old")


def test_the_layout_prior_decides_an_ambiguous_fifth_character() -> None:
    probs = columns("ABC1S23", pos4={"S": 0.48, "5": 0.48})
    mercosul, old = decode_plate(probs, 0.9), decode_plate(probs, 0.1)
    assert mercosul is not None and mercosul.text == "ABC1S23"
    assert old is not None and old.text == "ABC1523"
    # A clear glyph is not overruled by a moderately wrong prior.
    clear = decode_plate(columns("ABC1D23"), 0.2)
    assert clear is not None and clear.text == "ABC1D23"


def test_an_ambiguous_layout_lowers_the_confidence() -> None:
    sure = decode_plate(columns("ABC1S23", pos4={"S": 0.95}), 0.5)
    torn = decode_plate(columns("ABC1S23", pos4={"S": 0.48, "5": 0.48}), 0.5)
    assert sure is not None and torn is not None
    assert sure.confidence > 0.6 > torn.confidence


def test_the_grammar_turns_a_digit_in_a_letter_position_into_the_best_letter() -> None:
    result = decode_plate(columns("BBC1234", pos0={"8": 0.7, "B": 0.25}), 0.1)
    assert result is not None and result.text == "BBC1234"
    assert result.char_probs[0] == pytest.approx(0.25)


def test_confidence_is_the_product_of_the_character_probabilities_for_a_clear_layout() -> None:
    result = decode_plate(columns("ABC1234", 0.99, pos6={"4": 0.6, "9": 0.3}), 0.001)
    assert result is not None
    assert result.confidence == pytest.approx(float(np.prod(result.char_probs)), rel=0.01)
    assert 0.55 < result.confidence < 0.6


def test_noise_reads_with_low_confidence_and_short_input_reads_nothing() -> None:
    rng = np.random.default_rng(0)
    noise = rng.dirichlet(np.ones(1 + len(ALPHABET)), size=32).astype(np.float32)
    result = decode_plate(noise, 0.5)
    assert result is not None and result.confidence < 0.05
    assert decode_plate(noise[:5], 0.5) is None
    with pytest.raises(ValueError, match="37"):
        decode_plate(np.zeros((32, 36), np.float32), 0.5)


def test_the_blue_band_raises_the_mercosul_probability() -> None:
    head = np.array([0.3, 0.5, 0.1, 0.1], np.float32)  # P(Mercosul) = 0.4
    assert mercosul_probability(head, band_seen=False) == pytest.approx(0.4)
    assert mercosul_probability(head, band_seen=True) == pytest.approx(1.6 / 2.2)
    assert 0 < mercosul_probability(np.array([0, 1, 0, 0], np.float32), True) < 1e-5


def test_looks_mercosul_sees_a_blue_top_band_only() -> None:
    plate = np.full((40, 120, 3), 240, np.uint8)
    assert not looks_mercosul(plate)
    plate[:10] = (160, 60, 16)  # BGR blue band
    assert looks_mercosul(plate)
    grey = np.repeat(plate.mean(axis=2, keepdims=True).astype(np.uint8), 3, axis=2)
    assert not looks_mercosul(grey)


def test_a_two_row_crop_becomes_one_line_with_its_rows_side_by_side() -> None:
    crop = np.zeros((100, 110, 3), np.uint8)
    crop[20:50] = 80  # top row
    crop[60:95] = 200  # bottom row
    assert is_two_row(crop) and not is_two_row(np.zeros((40, 120, 3), np.uint8))
    line = plate_line(crop)
    assert line.shape == (LINE_H, LINE_W, 3)
    top_w = round(LINE_W * 3 / 7)
    assert line[LINE_H // 2, : top_w - 2].mean() == pytest.approx(80, abs=1)
    assert line[LINE_H // 2, top_w + 2 :].mean() == pytest.approx(200, abs=1)


def test_prepare_makes_the_network_input_and_refuses_tiny_crops() -> None:
    x = prepare(np.full((30, 90, 3), 7, np.uint8))
    assert x is not None and x.shape == (3, LINE_H, LINE_W) and x.dtype == np.float32
    assert float(x.max()) == 7.0
    assert prepare(np.zeros((5, 40, 3), np.uint8)) is None
    assert prepare(np.zeros((20, 10, 3), np.uint8)) is None
