"""Labelled synthetic licence-plate frames for accuracy tests and benchmarks.

``python -m tools.lpr_dataset --out var/lpr_dataset -n 200 --seed 7`` writes JPEG frames
and ``labels.jsonl``; ``samples(n, seed)`` yields the same frames in memory.
"""

from tools.lpr_dataset.generate import generate_dataset, samples
from tools.lpr_dataset.render import render_plate
from tools.lpr_dataset.scene import Sample, make_sample

__all__ = ["Sample", "generate_dataset", "make_sample", "render_plate", "samples"]
