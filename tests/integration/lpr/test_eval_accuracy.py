"""Accuracy of the real pipeline (ONNX YOLOv8 detector + the default PP-OCR reader) on a
sample of the independent evaluation set (tools/lpr_eval), which no model or threshold
was trained or tuned on.

120 frames, 40 per condition (clean, perspective, degraded), both layouts, a quarter
two-row plates, widths from 80 px, go through ``RecogniseFrame`` exactly as the worker
and the API use it, at both precisions; the default (int8) must meet the LPR issue's
goals on the whole set of 300. The thresholds and their justification are in docs/models.md
("Test thresholds").
"""

from __future__ import annotations

import os
from collections.abc import Iterable

import pytest

from shared_kernel.plates import PlateNumber
from streaming_service.application.ai.recognise_frame import RecogniseFrame
from streaming_service.domain.ai.detection import BBox
from streaming_service.infrastructure.detector import PRECISIONS, OnnxPlateDetector
from streaming_service.infrastructure.ocr import RapidOcrPlateReader
from tools.lpr_eval import CONDITIONS, EVAL_SEED, EvalSample, eval_samples

os.environ.setdefault("OMP_NUM_THREADS", "1")

N_FRAMES = 120
# Regression floors at either precision on the first 120 frames (measured with the reader
# before the two-network one, which reads more on the whole set); the issue's goals are
# asked of the default on all 300 frames below (docs/models.md, "Test thresholds").
# Measured on these frames (40 per condition): 40, 38, 34 and 1 confident misread at int8
# (the 8-bit files, on a VNNI CPU; other x86 CPUs load the 7-bit files: docs/models.md);
# 39, 37, 36 and 2 at fp32.
MIN_EXACT = {"clean": 0.85, "perspective": 0.8, "degraded": 0.8}
MAX_CONFIDENT_MISREADS = 3
MIN_DETECTION_RECALL = 0.95
# The issue's goals, asked of the default (int8) on the whole set of 300 frames: exact
# reads per condition, and confident misreads at most 0.5 % of the frames (docs/models.md:
# 99/98/90 % with none on a VNNI CPU's 8-bit files, 100/98/89 % with none on an AVX2
# CPU's 7-bit files).
GOAL_FRAMES = 300
GOAL_EXACT = {"clean": 0.97, "perspective": 0.93, "degraded": 0.85}
GOAL_MAX_MISREAD_SHARE = 0.005

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def labelled() -> list[EvalSample]:
    return list(eval_samples(N_FRAMES, EVAL_SEED))


def test_the_sample_covers_every_condition_layout_and_small_plates(
    labelled: list[EvalSample],
) -> None:
    assert {s.condition for s in labelled} == set(CONDITIONS)
    assert {(s.style, s.layout) for s in labelled} == {
        ("mercosul", "car"),
        ("mercosul", "moto"),
        ("old", "car"),
        ("old", "moto"),
    }
    assert min(s.plate_width for s in labelled) < 100
    degradations = {d for s in labelled for d in s.details["degradations"]}
    assert len(degradations) >= 6


def _score(pipeline: RecogniseFrame, samples: Iterable[EvalSample]
           ) -> tuple[dict[str, float], int, list[tuple[str, list[str], str]]]:
    """Exact-read rate per condition, confident misreads (any other plate reported) and
    each frame not read exactly, as lpr_bench counts them."""
    correct = dict.fromkeys(CONDITIONS, 0)
    total = dict.fromkeys(CONDITIONS, 0)
    wrong, misses = 0, []
    for sample in samples:
        truth = PlateNumber(sample.text)
        plates = {r.plate for r in pipeline(sample.image).reads}
        total[sample.condition] += 1
        correct[sample.condition] += truth in plates
        wrong += len(plates - {truth})
        if plates != {truth}:
            misses.append((sample.text, sorted(str(p) for p in plates), sample.condition))
    return {c: correct[c] / total[c] for c in CONDITIONS}, wrong, misses


def test_pipeline_reads_unseen_plates_above_the_justified_thresholds(
    labelled: list[EvalSample], pipeline: RecogniseFrame
) -> None:
    rates, wrong, misses = _score(pipeline, labelled)
    for condition, minimum in MIN_EXACT.items():
        assert rates[condition] >= minimum, f"{condition}: {rates[condition]:.0%}; {misses}"
    assert wrong <= MAX_CONFIDENT_MISREADS, f"{wrong} confident misreads; {misses}"


def test_the_default_meets_the_issue_goals_on_the_whole_set() -> None:
    pipeline = RecogniseFrame(OnnxPlateDetector(imgsz=640, threads=1),
                              RapidOcrPlateReader(threads=1))
    rates, wrong, misses = _score(pipeline, eval_samples(GOAL_FRAMES, EVAL_SEED))
    assert all(rates[c] >= goal for c, goal in GOAL_EXACT.items()), (rates, misses)
    assert wrong <= GOAL_MAX_MISREAD_SHARE * GOAL_FRAMES, (wrong, misses)


def test_a_batch_of_frames_reads_the_same_plates_as_one_by_one(
    labelled: list[EvalSample], pipeline: RecogniseFrame
) -> None:
    frames = [s.image for s in labelled[:6]]
    one_by_one = [sorted(str(r.plate) for r in pipeline(f).reads) for f in frames]
    batched = [sorted(str(r.plate) for r in res.reads) for res in pipeline.batch(frames)]
    assert batched == one_by_one
    assert sum(map(len, batched)) >= 4


@pytest.mark.parametrize("precision", PRECISIONS)
def test_detector_alone_finds_the_plates(labelled: list[EvalSample], precision: str) -> None:
    detector = OnnxPlateDetector(imgsz=640, threads=1, precision=precision)
    found = sum(
        any(b.bbox.iou(BBox(*s.bbox)) >= 0.5 for b in detector.detect(s.image)) for s in labelled
    )
    assert found / len(labelled) >= MIN_DETECTION_RECALL
