"""Choose the reader's confidence threshold on training-side validation crops.

    python -m tools.lpr_train.calibrate [--model ...] [--seed 1015] [-n 4000]

Runs the shipped ONNX reader (the service's own adapter and decoding) on validation
crops rendered by ``tools/lpr_train`` with a seed the training never saw, and prints,
for each threshold, the share of crops read right and accepted and the share read wrong
but accepted (a confident misread). Only numpy and onnxruntime: the service venv runs
it. The independent evaluation set (tools/lpr_eval) plays no part.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from streaming_service.infrastructure.plate_cnn import DEFAULT_READER_MODEL, CnnPlateReader
from tools.lpr_train.crops import ALPHABET, make_crops


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--model", type=Path, default=DEFAULT_READER_MODEL)
    p.add_argument("--seed", type=int, default=1015)
    p.add_argument("-n", type=int, default=4000)
    p.add_argument("--start", type=int, default=100_000, help="first crop index (unseen)")
    args = p.parse_args(argv)
    images, labels, _ = make_crops(args.n, args.seed, args.start)
    truth = ["".join(ALPHABET[i] for i in row) for row in labels]
    for use_band in (False, True):
        reader = CnnPlateReader(args.model, use_band=use_band)
        decoded = []
        for i in range(0, len(images), 256):
            decoded += reader.decode_batch(list(images[i : i + 256]))
        texts = [d.text if d else "" for d in decoded]
        confs = np.array([d.confidence if d else 0.0 for d in decoded])
        right = np.array([t == g for t, g in zip(texts, truth, strict=True)])
        print(f"\nblue-band prior {'on' if use_band else 'off'}: exact {right.mean():.2%}")
        print("| threshold | accepted and right | accepted and wrong |")
        print("|---|---|---|")
        for t in (0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9):
            ok = confs >= t
            print(f"| {t} | {(ok & right).mean():.2%} | {(ok & ~right).mean():.2%} |")


if __name__ == "__main__":
    main()
