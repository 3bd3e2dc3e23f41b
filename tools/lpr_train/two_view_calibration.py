"""Calibrate the PP-OCR reader's two-view confidence per plate layout, on the TUNING set.

    python -m tools.lpr_train.two_view_calibration collect --precision int8 \
        --seeds 4242 777 5150 6061 9001 9002 --n 225 --out var/lpr_tune/int8.jsonl
    python -m tools.lpr_train.two_view_calibration fit var/lpr_tune/int8.jsonl \
        --fit-seeds 4242 777 5150 6061 --check-seeds 9001 9002 --coarse --only disagree

(the refit of the int8 table, docs/models.md). ``fit`` prints the table for the precision
the features were collected with: it goes to ``ocr.CALIBRATION_THRESHOLDS[precision]``.

``collect`` renders ``tools/lpr_dataset`` frames (hard, a quarter at night, 15 % two-row:
the tuning set of docs/models.md) for each seed, runs the detector and, on every box the
pipeline would read, both views of the reader, and stores what the confidence is made of
(each view's text and confidence, the layout, whether the views agree, the reader's
file) with the truth. int8 loads the 8-bit or the 7-bit files by the CPU
(``int8_kernels``) and both share the int8 table: refit it on a VNNI CPU's reads (the
8-bit files), or check a refit on both.
``fit`` chooses, per group (layout of the read x one/two rows x views agree/disagree),
the raw confidence that should map to the pipeline's 0.6 threshold, maximising right
reads minus ``--misread-cost`` x confident misreads on ``--fit-seeds``, and reports the
effect on ``--check-seeds`` (seeds the fit did not see). It never touches the evaluation
set (``tools/lpr_eval``): that one is for the benchmark only.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
os.environ.setdefault("OMP_NUM_THREADS", "1")

THRESHOLD = 0.6
GRID = [round(0.30 + 0.01 * i, 2) for i in range(66)]  # 0.30 .. 0.95


def _iou(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def collect(seeds: list[int], n: int, out: Path, precision: str = "fp32",
            detector_model: Path | None = None, reader_model: Path | None = None,
            second_view_model: Path | None = None) -> None:
    from streaming_service.application.ai.recognise_frame import RecognitionSettings
    from streaming_service.infrastructure.detector import OnnxPlateDetector
    from streaming_service.infrastructure.ocr import RapidOcrPlateReader
    from tools.lpr_dataset.generate import samples
    from tools.lpr_eval import EVAL_SEED

    if EVAL_SEED in seeds:
        raise SystemExit("the evaluation seed is not for tuning")
    cfg = RecognitionSettings()
    detector = OnnxPlateDetector(detector_model, imgsz=640, threads=1, precision=precision)
    reader = RapidOcrPlateReader(reader_model, threads=1, precision=precision,
                                 second_view_model=second_view_model)
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("a", encoding="utf-8") as sink:
        for seed in seeds:
            for index, sample in enumerate(samples(n, seed, night_fraction=0.25,
                                                   moto_fraction=0.15, hard=True)):
                frame = sample.image
                height, width = frame.shape[:2]
                boxes = sorted((b for b in detector.detect(frame)
                                if b.score >= cfg.min_detector_score),
                               key=lambda b: b.score, reverse=True)[: cfg.max_plates]
                for box in boxes:
                    region = box.bbox.expanded(cfg.crop_margin_x, cfg.crop_margin_y).clipped(
                        width, height)
                    if region is None:
                        continue
                    crop = frame[int(region.y1):int(region.y2), int(region.x1):int(region.x2)]
                    (first, second), two_row = reader.read_views(crop)
                    sink.write(json.dumps({
                        "seed": seed, "index": index, "truth": sample.text,
                        "reader_model": reader.model_path.name,
                        "second_view_model": reader.second_view_model.name,
                        "layout": sample.layout, "style": sample.style,
                        "iou": round(_iou((region.x1, region.y1, region.x2, region.y2),
                                          tuple(sample.bbox)), 3),
                        "aspect": round(crop.shape[1] / max(crop.shape[0], 1), 3),
                        "two_row": two_row,
                        "v1": [first.text, first.confidence],
                        "v2": [second.text, second.confidence],
                    }) + "\n")
                sink.flush()
            print(f"seed {seed}: {n} frames", flush=True)


# -- the model: the same combination as RapidOcrPlateReader.read, then a per-group map ----


def combine(row: dict[str, Any]) -> tuple[str, float, bool]:
    from streaming_service.infrastructure.ocr import DISAGREEMENT_FACTOR

    (t1, c1), (t2, c2) = row["v1"], row["v2"]
    if t1 == t2:
        return t1, 1.0 - (1.0 - c1) * (1.0 - c2), True
    return (t1, c1 * DISAGREEMENT_FACTOR, False) if c1 >= c2 else (
        t2, c2 * DISAGREEMENT_FACTOR, False)


def group(text: str, two_row: bool, agree: bool) -> str:
    from streaming_service.infrastructure.ocr import calibration_group

    return calibration_group(text, two_row, agree)


def calibrated(conf: float, g: str, thresholds: dict[str, float]) -> float:
    from streaming_service.infrastructure.ocr import calibrated as calibrate

    return calibrate(conf, g, thresholds)


def frames(rows: list[dict[str, Any]], thresholds: dict[str, float],
           two_row_aspect: float) -> tuple[int, int, int]:
    """(frames, frames read right, confident misreads) at the pipeline's 0.6 after mapping
    each group's threshold to 0.6."""
    by_frame: dict[tuple[int, int], list[dict[str, Any]]] = defaultdict(list)
    truth: dict[tuple[int, int], str] = {}
    for row in rows:
        key = (row["seed"], row["index"])
        by_frame[key].append(row)
        truth[key] = row["truth"]
    right = wrong = 0
    for key, boxes in by_frame.items():
        plates = set()
        for row in boxes:
            text, conf, agree = combine(row)
            if not text:
                continue
            # Rows collected since the reader decides by the character rows say so.
            two_row = row.get("two_row", row["aspect"] < two_row_aspect)
            if calibrated(conf, group(text, two_row, agree),
                          thresholds) >= THRESHOLD:
                plates.add(text)
        right += truth[key] in plates
        wrong += len(plates - {truth[key]})
    return len(by_frame), right, wrong


ALL_GROUPS = [f"{layout}/{rows}/{agree}" for layout in ("mercosul", "old")
              for rows in ("one", "two") for agree in ("agree", "disagree")]


def fit(rows: list[dict[str, Any]], cost: float, two_row_aspect: float,
        coarse: bool = False, only: str | None = None) -> dict[str, float]:
    """Per group, the threshold maximising right - cost x wrong on ``rows`` (coordinate
    ascent over the groups, twice). ``coarse``: one threshold for all layouts where the
    views agree and one where they disagree (fewer values for little data); ``only``:
    fit only the groups ending so (``disagree``), the others keep 0.6."""
    families: dict[str, list[str]] = (
        {a: [g for g in ALL_GROUPS if g.endswith("/" + a)] for a in ("agree", "disagree")}
        if coarse else {g: [g] for g in ALL_GROUPS})
    if only:
        families = {k: m for k, m in families.items() if k == only or k.endswith("/" + only)}
    thresholds = dict.fromkeys(ALL_GROUPS, THRESHOLD)
    for _ in range(2):
        for members in families.values():
            best = (-math.inf, THRESHOLD)
            for t in GRID:
                trial = {**thresholds, **dict.fromkeys(members, t)}
                _, right, wrong = frames(rows, trial, two_row_aspect)
                score = right - cost * wrong
                # Ties: the value nearest the current threshold (no change without cause).
                if score > best[0] or (score == best[0] and abs(t - THRESHOLD)
                                       < abs(best[1] - THRESHOLD)):
                    best = (score, t)
            thresholds.update(dict.fromkeys(members, best[1]))
    return {g: t for g, t in thresholds.items() if t != THRESHOLD}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    c = sub.add_parser("collect")
    c.add_argument("--seeds", type=int, nargs="+", required=True)
    c.add_argument("--n", type=int, default=240)
    c.add_argument("--out", type=Path, required=True)
    c.add_argument("--precision", choices=["fp32", "int8"], default="int8",
                   help="the networks to read with; each precision has its own table "
                   "(ocr.CALIBRATION_THRESHOLDS, docs/models.md)")
    c.add_argument("--detector-model", type=Path,
                   help="another detector file than the precision's shipped one")
    c.add_argument("--reader-model", type=Path,
                   help="another reader file than the precision's shipped one (it then "
                   "reads both views unless --second-view-model names another)")
    c.add_argument("--second-view-model", type=Path,
                   help="the network of the second view (with --reader-model)")
    f = sub.add_parser("fit")
    f.add_argument("features", type=Path)
    f.add_argument("--fit-seeds", type=int, nargs="+", required=True)
    f.add_argument("--check-seeds", type=int, nargs="*", default=[])
    f.add_argument("--misread-cost", type=float, default=8.0)
    f.add_argument("--two-row-aspect", type=float, default=1.8,
                   help="for rows collected before the reader's own two-row decision")
    f.add_argument("--coarse", action="store_true",
                   help="one threshold for agreeing views, one for disagreeing ones")
    f.add_argument("--only", choices=["agree", "disagree"],
                   help="fit only these groups; the others keep 0.6")
    args = parser.parse_args(argv)
    if args.command == "collect":
        collect(args.seeds, args.n, args.out, args.precision, args.detector_model,
                args.reader_model, args.second_view_model)
        return
    rows = [json.loads(line) for line in args.features.read_text().splitlines() if line]
    fit_rows = [r for r in rows if r["seed"] in args.fit_seeds]
    check_rows = [r for r in rows if r["seed"] in args.check_seeds]
    thresholds = fit(fit_rows, args.misread_cost, args.two_row_aspect, args.coarse,
                     args.only)
    print("thresholds (raw confidence that maps to 0.6):")
    for g, t in thresholds.items():
        print(f"  {g}: {t}")
    for name, part in (("fit", fit_rows), ("check", check_rows)):
        if not part:
            continue
        n, right0, wrong0 = frames(part, {}, args.two_row_aspect)
        _, right1, wrong1 = frames(part, thresholds, args.two_row_aspect)
        print(f"{name} seeds: {n} frames; uncalibrated {right0} right, {wrong0} misreads; "
              f"calibrated {right1} right, {wrong1} misreads")


if __name__ == "__main__":
    main()
