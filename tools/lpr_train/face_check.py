"""How plate readers do on training-generator crops in faces they were never trained on.

    python -m tools.lpr_train.face_check --n 1500 \
        --reader package=rapidocr --reader tuned=streaming_service/infrastructure/models/X.onnx

Crops come from ``tools/lpr_train/crops.py`` drawn in ``HELD_OUT_FONTS`` (faces neither
the training nor the evaluation set uses), seed ``FACE_CHECK_SEED``; each reader reads
every crop the way the service does (both views, the grammar), without a calibration
table, so that networks are compared as they are. Prints, per reader, the crops read
exactly, and the confident reads (>= 0.6) right and wrong. A check for choosing between
training runs; the evaluation set (``tools/lpr_eval``) stays for the benchmark only.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from types import MappingProxyType

os.environ.setdefault("OMP_NUM_THREADS", "1")

FACE_CHECK_SEED = 8088
THRESHOLD = 0.6


def main() -> None:
    import cv2
    import numpy as np

    from streaming_service.infrastructure.ocr import RapidOcrPlateReader, rapidocr_model_path
    from tools.lpr_train.crops import HELD_OUT_FONTS, make_crop

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=1500)
    parser.add_argument("--reader", action="append", required=True,
                        help="NAME=FILE (a reader network file, read in both views; "
                        "'rapidocr': the package's fp32)")
    args = parser.parse_args()
    cv2.setNumThreads(1)
    readers = {}
    for spec in args.reader:
        name, _, file = spec.partition("=")
        path = rapidocr_model_path() if file == "rapidocr" else Path(file)
        reader = RapidOcrPlateReader(path, precision="fp32")
        reader.calibration = MappingProxyType({})  # the raw two-view confidence of each network
        readers[name] = reader
    # Per reader and layout: crops, exact reads, confident right, confident wrong.
    slices: dict[str, dict[str, list[int]]] = {name: {} for name in readers}
    for i in range(args.n):
        crop = make_crop(np.random.default_rng([FACE_CHECK_SEED, i]), HELD_OUT_FONTS)
        kind = f"{crop.style}/{'two' if crop.two_rows else 'one'}"
        for name, reader in readers.items():
            read = reader.read(crop.crop)
            exact, confident = read.text == crop.text, read.confidence >= THRESHOLD
            row = [1, int(exact), int(confident and exact), int(confident and not exact)]
            per = slices[name].setdefault(kind, [0, 0, 0, 0])
            slices[name][kind] = [a + b for a, b in zip(per, row, strict=True)]
    for name, per_kind in slices.items():
        _, n_exact, n_right, n_wrong = (sum(col) for col in zip(*per_kind.values(), strict=True))
        print(f"{name}: {args.n} crops, exact {n_exact} ({n_exact / args.n:.1%}), "
              f"confident right {n_right} ({n_right / args.n:.1%}), confident wrong "
              f"{n_wrong} ({n_wrong / args.n:.2%})")
        for kind, (n, e, r, w) in sorted(per_kind.items()):
            print(f"    {kind}: {n} crops, exact {e}, confident right {r}, wrong {w}")


if __name__ == "__main__":
    main()
