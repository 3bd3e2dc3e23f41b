"""Both-layout grammar decoding of the plate CNN's per-position probabilities, the layout
prior, and the crop preparation; hand-made probability tables, no model."""

from __future__ import annotations

import numpy as np
import pytest

from streaming_service.infrastructure.plate_cnn import (
    ALPHABET,
    INPUT_H,
    INPUT_W,
    decode_plate,
    looks_mercosul,
    mercosul_probability,
    prepare,
)


def table(text: str, p: float = 0.9, **overrides: dict[str, float]) -> np.ndarray:
    """7 x 36 probabilities: ``text`` at ``p`` with the rest spread evenly, or the
    distribution given for a position (``pos4={"S": 0.5, "5": 0.5}``)."""
    probs = np.full((7, len(ALPHABET)), (1 - p) / (len(ALPHABET) - 1), np.float32)
    for i, ch in enumerate(text):
        probs[i, ALPHABET.index(ch)] = p
    for key, dist in overrides.items():
        i = int(key.removeprefix("pos"))
        probs[i] = 1e-6
        for ch, q in dist.items():
            probs[i, ALPHABET.index(ch)] = q
    return probs


def test_reads_a_mercosul_plate_and_an_old_plate() -> None:
    mercosul = decode_plate(table("ABC1D23"), 0.5)
    assert (mercosul.text, mercosul.layout) == ("ABC1D23", "mercosul")
    old = decode_plate(table("XYZ9876"), 0.5)
    assert (old.text, old.layout) == ("XYZ9876", "old")


def test_the_layout_prior_decides_an_ambiguous_fifth_character() -> None:
    probs = table("ABC1S23", pos4={"S": 0.5, "5": 0.5})
    assert decode_plate(probs, 0.9).text == "ABC1S23"
    assert decode_plate(probs, 0.1).text == "ABC1523"
    # A clear glyph is not overruled by a moderately wrong prior.
    assert decode_plate(table("ABC1D23", 0.95), 0.2).text == "ABC1D23"


def test_the_grammar_turns_a_digit_in_a_letter_position_into_the_best_letter() -> None:
    probs = table("ABC1234", pos0={"8": 0.7, "B": 0.25, "E": 0.05}, pos3={"I": 0.6, "1": 0.4})
    result = decode_plate(probs, 0.5)
    assert result.text == "BBC1234"
    assert result.char_probs[0] == pytest.approx(0.25 / 0.30, rel=1e-3)
    assert result.char_probs[3] == pytest.approx(1.0, rel=1e-3)


def test_confidence_is_the_product_of_the_chosen_probabilities() -> None:
    probs = table("ABC1234", 0.99, pos6={"4": 0.6, "9": 0.4})
    result = decode_plate(probs, 0.0001)
    assert result.confidence == pytest.approx(float(np.prod(result.char_probs)))
    assert 0.55 < result.confidence < 0.6
    assert decode_plate(table("ABC1234", 0.999), 0.0001).confidence > 0.99


def test_a_uniform_table_reads_with_low_confidence() -> None:
    uniform = np.full((7, len(ALPHABET)), 1 / len(ALPHABET), np.float32)
    assert decode_plate(uniform, 0.5).confidence < 0.01


def test_wrong_shapes_are_refused() -> None:
    with pytest.raises(ValueError, match="7 x 36"):
        decode_plate(np.zeros((6, 36), np.float32), 0.5)


def test_the_blue_band_raises_the_mercosul_probability_and_grey_says_nothing() -> None:
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


def test_prepare_resizes_to_the_network_input_and_refuses_tiny_crops() -> None:
    x = prepare(np.full((30, 90, 3), 7, np.uint8))
    assert x is not None and x.shape == (3, INPUT_H, INPUT_W) and x.dtype == np.float32
    assert float(x.max()) == 7.0
    assert prepare(np.zeros((5, 40, 3), np.uint8)) is None
    assert prepare(np.zeros((20, 10, 3), np.uint8)) is None
