"""Generate a labelled data set of synthetic plate frames, deterministic for a seed."""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np

from tools.lpr_dataset.scene import Sample, make_sample


def samples(
    n: int,
    seed: int = 7,
    size: tuple[int, int] = (1280, 720),
    *,
    night_fraction: float = 0.2,
    moto_fraction: float = 0.0,
    hard: bool = True,
) -> Iterator[Sample]:
    """``n`` labelled frames; the same ``seed`` always gives the same frames."""
    for i in range(n):
        # One generator per frame: frame i does not depend on how many came before.
        rng = np.random.default_rng([seed, i])
        layout = "moto" if rng.random() < moto_fraction else "car"
        yield make_sample(rng, size, layout=layout, night_fraction=night_fraction, hard=hard)


def generate_dataset(
    out_dir: Path,
    n: int,
    seed: int = 7,
    size: tuple[int, int] = (1280, 720),
    **options: float | bool,
) -> Path:
    """Write ``n`` frames as JPEG plus ``labels.jsonl``; returns the labels file."""
    out_dir.mkdir(parents=True, exist_ok=True)
    labels = out_dir / "labels.jsonl"
    with labels.open("w", encoding="utf-8") as fh:
        for i, sample in enumerate(samples(n, seed, size, **options)):  # type: ignore[arg-type]
            name = f"{i:05d}.jpg"
            # Frames are already JPEG-degraded; store them losslessly from here.
            cv2.imwrite(str(out_dir / name), sample.image, [cv2.IMWRITE_JPEG_QUALITY, 100])
            fh.write(json.dumps(sample.label(name)) + "\n")
    return labels


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("-n", type=int, default=100)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--size", choices=["1280x720", "640x360"], default="1280x720")
    parser.add_argument("--night-fraction", type=float, default=0.2)
    parser.add_argument("--moto-fraction", type=float, default=0.0)
    parser.add_argument("--easy", action="store_true", help="milder angles, blur and noise")
    args = parser.parse_args(argv)
    w, h = (int(v) for v in args.size.split("x"))
    labels = generate_dataset(
        args.out,
        args.n,
        args.seed,
        (w, h),
        night_fraction=args.night_fraction,
        moto_fraction=args.moto_fraction,
        hard=not args.easy,
    )
    print(f"wrote {args.n} frames and {labels}")
