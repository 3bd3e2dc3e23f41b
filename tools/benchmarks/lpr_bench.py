"""LPR benchmark: latency per stage and plate-level accuracy on the synthetic labelled set.

    python tools/benchmarks/lpr_bench.py --n 100 --imgsz 320 640 [--ultralytics]

Prints a markdown table (the numbers quoted in docs/models.md). Single-threaded by
default, so "frames/s" is per CPU core. Not a test: run it through ``make bench``.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
os.environ.setdefault("OMP_NUM_THREADS", "1")

from shared_kernel.plates import PlateNumber
from streaming_service.application.ai.recognise_frame import RecogniseFrame
from streaming_service.domain.ai.detection import BBox
from streaming_service.domain.ai.ports import PlateDetector
from streaming_service.infrastructure.detector import (
    OnnxPlateDetector,
    UltralyticsPlateDetector,
)
from streaming_service.infrastructure.ocr import RapidOcrPlateReader
from tools.lpr_dataset import Sample, samples


@dataclass
class Row:
    name: str
    p50_ms: float
    p95_ms: float
    extra: str = ""

    def markdown(self) -> str:
        fps = 1000 / self.p50_ms if self.p50_ms else float("inf")
        return f"| {self.name} | {self.p50_ms:.1f} | {self.p95_ms:.1f} | {fps:.1f} | {self.extra} |"


def percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    result = fn()
    return (time.perf_counter() - start) * 1000, result


def evaluate(
    name: str, detector: PlateDetector, data: list[Sample], reader: RapidOcrPlateReader
) -> list[Row]:
    detector.detect(data[0].image)  # warm-up
    det_ms, found = [], 0
    for s in data:
        ms, boxes = timed(lambda s=s: detector.detect(s.image))
        det_ms.append(ms)
        found += any(b.bbox.iou(BBox(*s.bbox)) >= 0.5 for b in boxes)
    pipeline = RecogniseFrame(detector, reader)
    total_ms, correct, wrong = [], 0, 0
    for s in data:
        result = pipeline(s.image)
        total_ms.append(result.timings.total_ms)
        texts = {r.plate for r in result.reads}
        correct += PlateNumber(s.text) in texts
        wrong += len(texts - {PlateNumber(s.text)})
    n = len(data)
    return [
        Row(
            f"detector {name}",
            statistics.median(det_ms),
            percentile(det_ms, 0.95),
            f"recall {found / n:.1%} (IoU>=0.5)",
        ),
        Row(
            f"pipeline {name} + OCR",
            statistics.median(total_ms),
            percentile(total_ms, 0.95),
            f"plate accuracy {correct / n:.1%}, wrong reads {wrong}",
        ),
    ]


def ocr_alone(data: list[Sample], reader: RapidOcrPlateReader) -> Row:
    """OCR on ground-truth boxes (with the pipeline's margin): isolates the reader."""
    ms_list, correct = [], 0
    for s in data:
        h, w = s.image.shape[:2]
        box = BBox(*s.bbox).expanded(0.04, 0.10).clipped(w, h)
        assert box is not None
        crop = s.image[int(box.y1) : int(box.y2), int(box.x1) : int(box.x2)]
        ms, reading = timed(lambda crop=crop: reader.read(crop))
        ms_list.append(ms)
        correct += reading.text == s.text
    return Row(
        "OCR alone (per plate crop)",
        statistics.median(ms_list),
        percentile(ms_list, 0.95),
        f"exact reads {correct / len(data):.1%} on ground-truth crops",
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=100)
    parser.add_argument("--seed", type=int, default=2024)
    parser.add_argument("--size", default="1280x720")
    parser.add_argument("--imgsz", type=int, nargs="+", default=[320, 640])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--ultralytics", action="store_true", help="also the torch path")
    args = parser.parse_args(argv)
    w, h = (int(v) for v in args.size.split("x"))
    data = list(samples(args.n, args.seed, (w, h)))
    reader = RapidOcrPlateReader(threads=args.threads)
    rows = [ocr_alone(data, reader)]
    for imgsz in args.imgsz:
        onnx = OnnxPlateDetector(imgsz=imgsz, threads=args.threads)
        rows += evaluate(f"onnx imgsz={imgsz}", onnx, data, reader)
        if args.ultralytics:
            torch_detector = UltralyticsPlateDetector(imgsz=imgsz, threads=args.threads)
            rows += evaluate(f"ultralytics imgsz={imgsz}", torch_detector, data, reader)
    print(
        f"LPR benchmark: {args.n} synthetic frames {args.size} (seed {args.seed}), "
        f"{args.threads} thread(s), {platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} CPUs\n"
    )
    print("| stage | p50 ms | p95 ms | frames/s per core (p50) | quality |")
    print("|---|---|---|---|---|")
    for row in rows:
        print(row.markdown())


if __name__ == "__main__":
    main()
