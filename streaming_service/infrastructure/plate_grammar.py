"""Plate grammar and grammar-constrained CTC decoding (numpy only).

A Brazilian plate is three letters, a digit, a letter (Mercosul) or a digit (old), and
two digits. ``ctc_decode_plate`` finds, by a Viterbi search over a CTC output (per
column probabilities over blank + alphabet), the most likely path whose collapsed text
fits a grammar, one character set per position: every read is a valid plate, and its
per-character probabilities say how sure the network was.
"""

from __future__ import annotations

import string
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float32]

LETTERS = string.ascii_uppercase
DIGITS = string.digits
#: Characters allowed at each plate position.
PLATE_GRAMMAR: tuple[str, ...] = (
    LETTERS,
    LETTERS,
    LETTERS,
    DIGITS,
    LETTERS + DIGITS,
    DIGITS,
    DIGITS,
)
#: A Mercosul plate's fifth character is a letter.
MERCOSUL_GRAMMAR: tuple[str, ...] = (*PLATE_GRAMMAR[:4], LETTERS, *PLATE_GRAMMAR[5:])
#: An old (grey) plate's fifth character is a digit.
OLD_GRAMMAR: tuple[str, ...] = (*PLATE_GRAMMAR[:4], DIGITS, *PLATE_GRAMMAR[5:])
#: The hyphen an old plate prints between its letters and digits (``ABC-1234``).
SEPARATOR = "-"
#: An old plate read with its hyphen: a separator position that is matched in the CTC
#: output but is not part of the plate's text.
OLD_HYPHEN_GRAMMAR: tuple[str, ...] = (*OLD_GRAMMAR[:3], SEPARATOR, *OLD_GRAMMAR[3:])


@dataclass(frozen=True, slots=True)
class ConstrainedRead:
    text: str
    char_probs: tuple[float, ...]
    #: Log-probability of the best path: comparable between grammars on the same output.
    log_score: float = 0.0

    @property
    def confidence(self) -> float:
        # The geometric mean punishes one doubtful character more than the mean would,
        # without letting a single one decide like the minimum would.
        probs = np.clip(np.asarray(self.char_probs, np.float64), 1e-6, 1.0)
        return float(np.exp(np.log(probs).mean())) if probs.size else 0.0


def ctc_decode_plate(
    probs: FloatArray, alphabet: str, grammar: tuple[str, ...] = PLATE_GRAMMAR
) -> ConstrainedRead | None:
    """Most likely CTC path whose collapsed text fits ``grammar`` (one charset per char).

    ``probs`` is ``T x (1 + len(alphabet))`` with the CTC blank in column 0. A Viterbi
    search over states (chars emitted so far, class of the current frame). A grammar
    position that is ``SEPARATOR`` must be matched too but is left out of the text and
    its probabilities. Returns None when the sequence is too short to hold a plate.
    """
    steps, classes = probs.shape
    n = len(grammar)
    if steps < n:
        return None
    logp = np.log(np.clip(probs.astype(np.float64), 1e-12, 1.0))
    column = {c: i + 1 for i, c in enumerate(alphabet)}
    # mask[k, c]: class c may be the k-th emitted char (k from 1); column 0 is blank.
    mask = np.zeros((n + 1, classes), bool)
    for k, chars in enumerate(grammar, start=1):
        mask[k, [column[c] for c in chars]] = True
    score = np.full((n + 1, classes), -np.inf)
    score[0, 0] = logp[0, 0]
    score[1, mask[1]] = logp[0, mask[1]]
    back_k = np.zeros((steps, n + 1, classes), np.int8)
    back_c = np.zeros((steps, n + 1, classes), np.int32)
    rows = np.arange(n + 1)
    counts = rows[1:, None]  # k for the states that have emitted k >= 1 chars
    classes_row = np.arange(classes)[None, :]
    # Every step updates all positions at once (a loop over positions cost most of a
    # plate read's time in numpy call overhead).
    for t in range(1, steps):
        new = np.full_like(score, -np.inf)
        # Blank: from any class with the same count.
        prev_c = np.argmax(score, axis=1)
        new[:, 0] = score[rows, prev_c] + logp[t, 0]
        back_k[t, :, 0] = rows
        back_c[t, :, 0] = prev_c
        # A char as the k-th: best predecessor with k - 1 chars, its blank or a
        # different char (so the two best chars of each predecessor row).
        prev = score[:n].copy()
        prev_blank = prev[:, :1].copy()
        prev[:, 0] = -np.inf
        order = np.argsort(-prev, axis=1)[:, :2]
        best_other = np.where(classes_row == order[:, :1], order[:, 1:2], order[:, :1])
        from_char = np.take_along_axis(prev, best_other, axis=1)
        use_blank = prev_blank >= from_char
        new_src = np.where(use_blank, 0, best_other)
        new_score = np.where(use_blank, prev_blank, from_char)
        stay = score[1:]
        stay_wins = stay >= new_score
        # Column 0 (the blank, set above) is never a grammar char: only chars change.
        allowed = mask[1:, 1:]
        new[1:, 1:] = np.where(
            allowed, np.where(stay_wins, stay, new_score)[:, 1:] + logp[t, 1:], -np.inf)
        back_k[t, 1:, 1:] = np.where(allowed, np.where(stay_wins, counts, counts - 1)[:, 1:], 0)
        back_c[t, 1:, 1:] = np.where(
            allowed, np.where(stay_wins, classes_row, new_src)[:, 1:], 0)
        score = new
    final_c = int(np.argmax(score[n]))
    if not np.isfinite(score[n, final_c]):
        return None
    best = np.zeros(n + 1)
    emitted = [""] * (n + 1)
    k, c = n, final_c
    for t in range(steps - 1, -1, -1):
        if c != 0:
            emitted[k] = alphabet[c - 1]
            best[k] = max(best[k], float(probs[t, c]))
        k, c = int(back_k[t, k, c]), int(back_c[t, k, c])
    kept = [k for k in range(1, n + 1) if grammar[k - 1] != SEPARATOR]
    return ConstrainedRead(
        "".join(emitted[k] for k in kept),
        tuple(float(best[k]) for k in kept),
        float(score[n, final_c]),
    )
