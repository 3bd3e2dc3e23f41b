"""The independent evaluation set for plate recognition (issue 15).

Never used for training or tuning: ``tools/lpr_train`` and ``tools/lpr_dataset`` share no
code, font or background with it. ``eval_samples(n, seed)`` yields the same labelled
1280x720 frames for the same arguments (one random generator per frame), split evenly
over the conditions ``clean``, ``perspective`` and ``degraded``;
``python -m tools.lpr_eval --out var/lpr_eval -n 300`` writes them as PNG plus
``labels.jsonl``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np

from tools.lpr_eval.scenes import CONDITIONS, EvalSample, make_eval_sample

EVAL_SEED = 15_2026
"""The fixed seed of the evaluation set quoted in docs/models.md."""


def eval_samples(
    n: int,
    seed: int = EVAL_SEED,
    size: tuple[int, int] = (1280, 720),
    *,
    moto_fraction: float = 0.25,
) -> Iterator[EvalSample]:
    for i in range(n):
        rng = np.random.default_rng([seed, i, 15])
        yield make_eval_sample(
            rng, CONDITIONS[i % len(CONDITIONS)], size, moto_fraction=moto_fraction
        )


def write_eval_set(out_dir: Path, n: int, seed: int = EVAL_SEED) -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    labels = out_dir / "labels.jsonl"
    with labels.open("w", encoding="utf-8") as fh:
        for i, sample in enumerate(eval_samples(n, seed)):
            name = f"{i:05d}.png"
            cv2.imwrite(str(out_dir / name), sample.image)
            fh.write(json.dumps(sample.label(name)) + "\n")
    return labels


__all__ = ["CONDITIONS", "EVAL_SEED", "EvalSample", "eval_samples", "write_eval_set"]
