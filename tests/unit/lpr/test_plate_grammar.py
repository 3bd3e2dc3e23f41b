"""Grammar-constrained CTC decoding of plate text, on hand-made probability tables."""

from __future__ import annotations

import numpy as np
import pytest

from streaming_service.infrastructure.plate_grammar import (
    LETTERS,
    MERCOSUL_GRAMMAR,
    OLD_GRAMMAR,
    OLD_HYPHEN_GRAMMAR,
    PLATE_GRAMMAR,
    SEPARATOR,
    ctc_decode_plate,
    ctc_decode_plates,
)

ALPHABET = LETTERS + "0123456789"


def table(frames: list[dict[str, float]]) -> np.ndarray:
    """T x (1 + 36) probabilities; the rest of each frame's mass goes to blank."""
    probs = np.zeros((len(frames), 1 + len(ALPHABET)), np.float32)
    for t, frame in enumerate(frames):
        for char, p in frame.items():
            probs[t, 1 + ALPHABET.index(char)] = p
        probs[t, 0] = 1.0 - sum(frame.values())
    return probs


def spelled(text: str, p: float = 0.9) -> list[dict[str, float]]:
    frames: list[dict[str, float]] = []
    for char in text:
        frames += [{char: p}, {char: p}, {}]  # two frames per char, then a blank
    return frames


def test_decodes_a_clean_mercosul_plate() -> None:
    result = ctc_decode_plate(table(spelled("ABC1D23")), ALPHABET)
    assert result is not None
    assert result.text == "ABC1D23"
    assert result.confidence == pytest.approx(0.9, abs=1e-3)


def test_repeated_characters_need_a_blank_between_them() -> None:
    result = ctc_decode_plate(table(spelled("AAB1144")), ALPHABET)
    assert result is not None and result.text == "AAB1144"


def test_grammar_turns_a_digit_read_in_a_letter_position_into_the_best_letter() -> None:
    frames = spelled("ABC1234")
    frames[0] = {"8": 0.6, "B": 0.3}  # first char: the network prefers a digit
    frames[1] = {"8": 0.6, "B": 0.3}
    result = ctc_decode_plate(table(frames), ALPHABET)
    assert result is not None and result.text == "BBC1234"
    assert result.char_probs[0] == pytest.approx(0.3)


def test_mercosul_grammar_forces_a_letter_in_fifth_position() -> None:
    frames = spelled("ABC1I23")
    frames[12] = frames[13] = {"1": 0.7, "I": 0.25}
    free = ctc_decode_plate(table(frames), ALPHABET, PLATE_GRAMMAR)
    mercosul = ctc_decode_plate(table(frames), ALPHABET, MERCOSUL_GRAMMAR)
    assert free is not None and free.text == "ABC1123"
    assert mercosul is not None and mercosul.text == "ABC1I23"


def test_extra_characters_are_skipped_at_a_cost() -> None:
    # Stray "X" frames (e.g. a screw or the band) between plate characters.
    frames = [*spelled("ABC"), {"X": 0.5}, *spelled("1D23")]
    result = ctc_decode_plate(table(frames), ALPHABET)
    assert result is not None and result.text == "ABC1D23"


def test_too_short_a_sequence_gives_nothing() -> None:
    assert ctc_decode_plate(table([{"A": 0.9}] * 5), ALPHABET) is None


def test_noise_decodes_with_low_confidence() -> None:
    rng = np.random.default_rng(0)
    probs = rng.dirichlet(np.ones(1 + len(ALPHABET)), size=30).astype(np.float32)
    result = ctc_decode_plate(probs, ALPHABET)
    assert result is not None and result.confidence < 0.2


def test_an_old_plates_hyphen_is_matched_but_left_out_of_the_text() -> None:
    alphabet = ALPHABET + SEPARATOR
    frames = [*spelled("ABC"), {SEPARATOR: 0.95}, {}, *spelled("1234")]
    probs = np.zeros((len(frames), 1 + len(alphabet)), np.float32)
    for t, frame in enumerate(frames):
        for char, p in frame.items():
            probs[t, 1 + alphabet.index(char)] = p
        probs[t, 0] = 1.0 - sum(frame.values())
    with_hyphen = ctc_decode_plate(probs, alphabet, OLD_HYPHEN_GRAMMAR)
    without = ctc_decode_plate(probs, alphabet, OLD_GRAMMAR)
    assert with_hyphen is not None and without is not None
    assert with_hyphen.text == without.text == "ABC1234"
    assert len(with_hyphen.char_probs) == 7
    # The printed hyphen is evidence for the old layout: its path is far more likely.
    assert with_hyphen.log_score > without.log_score + 2


def _reference_decode(probs: np.ndarray, alphabet: str,
                      grammar: tuple[str, ...]) -> tuple[str, float] | None:
    """The same search written plainly, state by state: (chars emitted, class) → best
    log score and text; a char repeats only after a blank, the path may end on a blank."""
    logp = np.log(np.clip(probs.astype(np.float64), 1e-12, 1.0))
    n = len(grammar)
    if probs.shape[0] < n:
        return None
    allowed = [set()] + [{alphabet.index(ch) + 1 for ch in chars} for chars in grammar]
    best: dict[tuple[int, int], tuple[float, str]] = {(0, 0): (logp[0, 0], "")}
    for c in allowed[1]:
        best[(1, c)] = (logp[0, c], alphabet[c - 1])
    for t in range(1, probs.shape[0]):
        new: dict[tuple[int, int], tuple[float, str]] = {}

        def offer(state: tuple[int, int], score: float, text: str,
                  new: dict[tuple[int, int], tuple[float, str]] = new) -> None:
            if state not in new or score > new[state][0]:
                new[state] = (score, text)

        for (k, c), (score, text) in best.items():
            offer((k, 0), score + logp[t, 0], text)
            if c != 0:
                offer((k, c), score + logp[t, c], text)
            if k < n:
                for nxt in allowed[k + 1] - {c}:
                    offer((k + 1, nxt), score + logp[t, nxt], text + alphabet[nxt - 1])
        best = new
    finals = [value for (k, _), value in best.items() if k == n]
    if not finals:
        return None
    score, text = max(finals)
    return text.replace(SEPARATOR, ""), score


@pytest.mark.parametrize("seed", range(12))
@pytest.mark.parametrize("grammar", [MERCOSUL_GRAMMAR, OLD_GRAMMAR, OLD_HYPHEN_GRAMMAR])
def test_the_vectorised_search_finds_the_plainly_searched_best_path(
    seed: int, grammar: tuple[str, ...],
) -> None:
    alphabet = ALPHABET + SEPARATOR
    rng = np.random.default_rng(seed)
    logits = rng.normal(size=(int(rng.integers(8, 15)), 1 + len(alphabet)))
    logits *= rng.uniform(1.0, 5.0)
    probs = np.exp(logits)
    probs = (probs / probs.sum(axis=1, keepdims=True)).astype(np.float32)
    read = ctc_decode_plate(probs, alphabet, grammar)
    expected = _reference_decode(probs, alphabet, grammar)
    assert read is not None and expected is not None
    assert read.text == expected[0]
    assert read.log_score == pytest.approx(expected[1], abs=1e-9)


@pytest.mark.parametrize("seed", range(8))
def test_one_search_over_several_grammars_gives_each_grammars_own_result(seed: int) -> None:
    alphabet = ALPHABET + SEPARATOR
    grammars = (MERCOSUL_GRAMMAR, OLD_GRAMMAR, OLD_HYPHEN_GRAMMAR)
    rng = np.random.default_rng(100 + seed)
    # Seed 0 gives 7 columns: enough for a seven-char plate, too few with the hyphen.
    steps = 7 if seed == 0 else int(rng.integers(8, 40))
    probs = np.exp(rng.normal(size=(steps, 1 + len(alphabet))) * rng.uniform(1.0, 6.0))
    probs = (probs / probs.sum(axis=1, keepdims=True)).astype(np.float32)
    together = ctc_decode_plates(probs, alphabet, grammars)
    alone = [ctc_decode_plate(probs, alphabet, g) for g in grammars]
    assert together == alone
    assert (together[2] is None) == (seed == 0)
