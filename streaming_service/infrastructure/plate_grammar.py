"""Plate grammar and grammar-constrained CTC decoding (numpy only).

A Brazilian plate is three letters, a digit, a letter (Mercosul) or a digit (old), and
two digits. ``ctc_decode_plate`` finds, by a Viterbi search over a CTC output (per
column probabilities over blank + alphabet), the most likely path whose collapsed text
fits a grammar, one character set per position: every read is a valid plate, and its
per-character probabilities say how sure the network was.
"""

from __future__ import annotations

import string
from collections.abc import Sequence
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
    return ctc_decode_plates(probs, alphabet, (grammar,))[0]


def ctc_decode_plates(
    probs: FloatArray, alphabet: str, grammars: Sequence[tuple[str, ...]]
) -> list[ConstrainedRead | None]:
    """``ctc_decode_plate`` for several grammars over the same output in one search.

    Each grammar's states are a block of rows (chars emitted so far, 0..n) in one score
    table, so a CTC step updates every grammar at once: numpy's per-call overhead, not
    arithmetic, is most of a decode's time, and a reader decodes each view under three
    grammars. The blocks never exchange paths, so each result is the one a search of
    its grammar alone finds.
    """
    steps, classes = probs.shape
    if not grammars or steps < min(len(g) for g in grammars):
        return [None] * len(grammars)
    logp = np.log(np.clip(probs.astype(np.float64), 1e-12, 1.0))
    column = {c: i + 1 for i, c in enumerate(alphabet)}
    starts = np.cumsum([0] + [len(g) + 1 for g in grammars[:-1]])
    total = int(starts[-1]) + len(grammars[-1]) + 1
    # mask[r, c]: class c may be the char row r emits; a block's first row (nothing
    # emitted yet) only holds the blank, column 0.
    mask = np.zeros((total, classes), bool)
    for start, grammar in zip(starts.tolist(), grammars, strict=True):
        for k, chars in enumerate(grammar, start=1):
            mask[start + k, [column[c] for c in chars]] = True
    char_rows = np.setdiff1d(np.arange(total), starts)
    pred = char_rows - 1  # the same grammar's row with one char fewer
    score = np.full((total, classes), -np.inf)
    score[starts, 0] = logp[0, 0]
    first = mask & np.isin(np.arange(total), starts + 1)[:, None]
    score[first] = np.broadcast_to(logp[0], score.shape)[first]
    back_r = np.zeros((steps, total, classes), np.int16)
    back_c = np.zeros((steps, total, classes), np.int32)
    rows = np.arange(total)
    classes_row = np.arange(classes)[None, :]
    allowed = mask[char_rows, 1:]
    # Column 0 (the blank) is never a grammar char: only chars change in the char rows.
    for t in range(1, steps):
        new = np.full_like(score, -np.inf)
        # Blank: from any class of the same row.
        prev_c = np.argmax(score, axis=1)
        new[:, 0] = score[rows, prev_c] + logp[t, 0]
        back_r[t, :, 0] = rows
        back_c[t, :, 0] = prev_c
        # A char as the row's newest: best predecessor in the row before, its blank or
        # a different char (so the two best chars of each predecessor row).
        prev = score[pred]
        prev_blank = prev[:, :1].copy()
        prev[:, 0] = -np.inf
        order = np.argsort(-prev, axis=1)[:, :2]
        best_other = np.where(classes_row == order[:, :1], order[:, 1:2], order[:, :1])
        from_char = np.take_along_axis(prev, best_other, axis=1)
        use_blank = prev_blank >= from_char
        new_src = np.where(use_blank, 0, best_other)
        new_score = np.where(use_blank, prev_blank, from_char)
        stay = score[char_rows]
        stay_wins = stay >= new_score
        new[char_rows, 1:] = np.where(
            allowed, np.where(stay_wins, stay, new_score)[:, 1:] + logp[t, 1:], -np.inf)
        back_r[t, char_rows, 1:] = np.where(
            allowed, np.where(stay_wins, char_rows[:, None], pred[:, None])[:, 1:], 0)
        back_c[t, char_rows, 1:] = np.where(
            allowed, np.where(stay_wins, classes_row, new_src)[:, 1:], 0)
        score = new
    return [
        _backtrack(probs, alphabet, grammar, score, back_r, back_c, start)
        for start, grammar in zip(starts.tolist(), grammars, strict=True)
    ]


def _backtrack(
    probs: FloatArray,
    alphabet: str,
    grammar: tuple[str, ...],
    score: npt.NDArray[np.float64],
    back_r: npt.NDArray[np.int16],
    back_c: npt.NDArray[np.int32],
    start: int,
) -> ConstrainedRead | None:
    n = len(grammar)
    final_c = int(np.argmax(score[start + n]))
    if not np.isfinite(score[start + n, final_c]):
        return None
    best = np.zeros(n + 1)
    emitted = [""] * (n + 1)
    row, c = start + n, final_c
    for t in range(probs.shape[0] - 1, -1, -1):
        if c != 0:
            k = row - start
            emitted[k] = alphabet[c - 1]
            best[k] = max(best[k], float(probs[t, c]))
        row, c = int(back_r[t, row, c]), int(back_c[t, row, c])
    kept = [k for k in range(1, n + 1) if grammar[k - 1] != SEPARATOR]
    return ConstrainedRead(
        "".join(emitted[k] for k in kept),
        tuple(float(best[k]) for k in kept),
        float(score[start + n, final_c]),
    )
