"""LPR benchmark on the independent evaluation set (``tools/lpr_eval``): exact reads per
condition and plate type, confident misreads, and latency per stage on one core.

    python tools/benchmarks/lpr_bench.py [--n 300] [--imgsz 640] [--reader ppocr plate-cnn]
        [--precision int8 fp32]

The evaluation set is made by a generator that shares no code, font or background with
the recognizer's training data and is never used for tuning (docs/models.md). Prints a
markdown report (``make bench`` stores it as var/bench/lpr.md). Single-threaded by
default, so the latencies are per CPU core. Not a test.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
os.environ.setdefault("OMP_NUM_THREADS", "1")

from shared_kernel.plates import PlateNumber
from streaming_service.application.ai.recognise_frame import RecogniseFrame
from streaming_service.domain.ai.detection import BBox
from streaming_service.infrastructure.detector import PRECISIONS, OnnxPlateDetector
from streaming_service.infrastructure.recogniser import READERS, build_reader
from tools.lpr_eval import CONDITIONS, EVAL_SEED, EvalSample, eval_samples


def percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))] if ordered else 0.0


def kind(s: EvalSample) -> str:
    return f"{s.style} {'two-row' if s.layout == 'moto' else 'one-row'}"


def pct(hits: int, total: int) -> str:
    return f"{hits}/{total} ({hits / total:.1%})" if total else "-"


def run(
    data: list[EvalSample], reader_name: str, imgsz: int, threads: int, precision: str
) -> list[str]:
    detector = OnnxPlateDetector(imgsz=imgsz, threads=threads, precision=precision)
    reader = build_reader(reader_name, threads=threads, precision=precision)
    pipeline = RecogniseFrame(detector, reader)
    pipeline(data[0].image)  # warm-up
    hits: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    misreads: dict[str, int] = defaultdict(int)
    found: dict[str, int] = defaultdict(int)
    gt_hits: dict[str, int] = defaultdict(int)
    det_ms, ocr_ms, total_ms, crop_ms = [], [], [], []
    for s in data:
        truth = PlateNumber(s.text)
        result = pipeline(s.image)
        det_ms.append(result.timings.detect_ms)
        ocr_ms.append(result.timings.ocr_ms)
        total_ms.append(result.timings.total_ms)
        plates = {r.plate for r in result.reads}
        for key in (s.condition, kind(s), "all"):
            hits[key][0] += truth in plates
            hits[key][1] += 1
            misreads[key] += len(plates - {truth})
        boxes = pipeline.detector.detect(s.image)
        found[s.condition] += any(b.bbox.iou(BBox(*s.bbox)) >= 0.5 for b in boxes)
        # The reader alone, on the ground-truth box with the pipeline's margin.
        h, w = s.image.shape[:2]
        box = BBox(*s.bbox).expanded(0.04, 0.10).clipped(w, h)
        assert box is not None
        crop = s.image[int(box.y1) : int(box.y2), int(box.x1) : int(box.x2)]
        start = time.perf_counter()
        reading = reader.read(crop)
        crop_ms.append((time.perf_counter() - start) * 1000)
        gt_hits[s.condition] += reading.text == s.text
    files = f"`{detector.model_path.name}`, `{reader.model_path.name}`"
    second = getattr(reader, "second_view_model", None)
    if second is not None and second != reader.model_path:
        files += f" (second view: `{second.name}`)"
    lines = [
        f"### reader `{reader.name}`, detector onnx imgsz={imgsz}, {precision}\n",
        f"Files: {files}\n",
        "| slice | exact reads (pipeline) | confident misreads | detector recall "
        "(IoU>=0.5) | reader alone on true boxes |",
        "|---|---|---|---|---|",
    ]
    per_condition = {c: sum(1 for s in data if s.condition == c) for c in CONDITIONS}
    for c in CONDITIONS:
        n = per_condition[c]
        lines.append(
            f"| {c} | {pct(*hits[c])} | {misreads[c]} | {pct(found[c], n)} | {pct(gt_hits[c], n)} |"
        )
    for k in sorted({kind(s) for s in data}):
        lines.append(f"| {k} | {pct(*hits[k])} | {misreads[k]} | | |")
    lines.append(
        f"| **all** | **{pct(*hits['all'])}** | **{misreads['all']}** "
        f"({misreads['all'] / len(data):.2%} of frames) "
        f"| {pct(sum(found.values()), len(data))} | {pct(sum(gt_hits.values()), len(data))} |"
    )
    lines += [
        "",
        "| stage (one core) | p50 ms | p95 ms |",
        "|---|---|---|",
        f"| detector | {statistics.median(det_ms):.1f} | {percentile(det_ms, 0.95):.1f} |",
        f"| reader, all crops of a frame | {statistics.median(ocr_ms):.1f} "
        f"| {percentile(ocr_ms, 0.95):.1f} |",
        f"| reader, one crop | {statistics.median(crop_ms):.1f} "
        f"| {percentile(crop_ms, 0.95):.1f} |",
        f"| whole pipeline per 1280x720 frame | {statistics.median(total_ms):.1f} "
        f"| {percentile(total_ms, 0.95):.1f} |",
        "",
    ]
    return lines


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=300)
    parser.add_argument("--seed", type=int, default=EVAL_SEED)
    parser.add_argument("--imgsz", type=int, nargs="+", default=[640])
    parser.add_argument("--reader", nargs="+", choices=sorted(READERS), default=["ppocr"])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--precision", nargs="+", choices=PRECISIONS, default=list(PRECISIONS))
    args = parser.parse_args(argv)
    data = list(eval_samples(args.n, args.seed))
    print(
        f"## LPR on the independent evaluation set\n\n{args.n} frames 1280x720 from "
        f"tools/lpr_eval (seed {args.seed}; {args.n // 3} per condition, a quarter two-row "
        f"plates, widths 80-260 px), {args.threads} thread(s), "
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs\n"
    )
    for reader_name in args.reader:
        for imgsz in args.imgsz:
            for precision in args.precision:
                print("\n".join(run(data, reader_name, imgsz, args.threads, precision)))


if __name__ == "__main__":
    main()
