"""The default plate reader: GT-Vision's own plate network (ONNX) with grammar decoding.

The network (trained by ``tools/lpr_train`` on rendered Brazilian plates, see
docs/models.md) reads the crop as one text line (``plate_line``: 128x32 BGR, a two-row
motorcycle plate cut into its rows laid side by side) and gives, for each of 32
columns, a probability over the CTC blank and ``A-Z0-9``, and for the plate a
probability over its type (Mercosul or old, one or two rows).

Decoding is constrained by the grammar of both layouts, Mercosul ``LLL N L NN`` and old
``LLL N N NN``: a Viterbi search over the CTC output per layout
(``plate_grammar.ctc_decode_plate``) finds the most likely plate of each, and the
layouts are weighed by the probability that the plate is Mercosul. That probability
comes from the network's plate-type head, sharpened by the blue "BRASIL" band when the
crop shows one (``looks_mercosul``; a grey crop, e.g. an IR camera, says nothing).
Confidence is the product of the chosen plate's character probabilities times the
chosen layout's share of both layouts' scores: an estimate that the whole plate is
right, low when the fifth character could be a letter or a digit (docs/models.md:
calibration).

Only numpy, OpenCV and onnxruntime at run time; ``read_batch`` reads many crops in one
network call (a GPU provider, or fewer calls on the CPU).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt

from streaming_service.domain.ai.ports import Image, OcrReading
from streaming_service.infrastructure.plate_grammar import (
    DIGITS,
    LETTERS,
    MERCOSUL_GRAMMAR,
    OLD_GRAMMAR,
    ctc_decode_plates,
)
from streaming_service.infrastructure.plate_line import plate_line

MODELS_DIR = Path(__file__).resolve().parent / "models"
DEFAULT_READER_MODEL = MODELS_DIR / "plate_reader_cnn.onnx"
ALPHABET = LETTERS + DIGITS
PLATE_TYPES = ("mercosul", "old", "mercosul two-row", "old two-row")
#: Likelihood ratio of seeing the blue band on a Mercosul plate rather than an old one.
BAND_ODDS = 4.0
#: Share of blue pixels in the crop's top strip above which it shows the Mercosul band.
MERCOSUL_BLUE_SHARE = 0.1

FloatArray = npt.NDArray[np.float32]


def looks_mercosul(crop: Image) -> bool:
    """True when the crop's top strip shows the blue "BRASIL" band of a Mercosul plate.

    Only a positive hint: a grey crop may be an old plate or a monochrome (IR) camera,
    so the absence of blue decides nothing.
    """
    if crop.ndim != 3:
        return False
    h, w = crop.shape[:2]
    strip = crop[int(h * 0.03) : max(int(h * 0.3), 1), int(w * 0.2) : max(int(w * 0.8), 1)]
    if strip.size == 0:
        return False
    hsv = cv2.cvtColor(strip, cv2.COLOR_BGR2HSV)
    hue, sat, val = hsv[..., 0], hsv[..., 1], hsv[..., 2]
    blue = (hue >= 95) & (hue <= 135) & (sat > 70) & (val > 30)
    return float(blue.mean()) >= MERCOSUL_BLUE_SHARE


@dataclass(frozen=True, slots=True)
class PlateDecoding:
    text: str
    confidence: float
    layout: str  # "mercosul" or "old"
    char_probs: tuple[float, ...]


def mercosul_probability(plate_type: FloatArray, band_seen: bool) -> float:
    """P(Mercosul) from the type head, updated by the blue band when it is seen."""
    p = float(plate_type[0] + plate_type[2])
    if band_seen:
        p = p * BAND_ODDS / (p * BAND_ODDS + (1 - p))
    return min(max(p, 1e-6), 1 - 1e-6)


def decode_plate(columns: FloatArray, p_mercosul: float) -> PlateDecoding | None:
    """The most likely plate over both layouts from ``T x (1 + 36)`` CTC probabilities
    (blank first); None when the columns cannot hold a plate."""
    if columns.ndim != 2 or columns.shape[1] != 1 + len(ALPHABET):
        raise ValueError(f"expected T x {1 + len(ALPHABET)} probabilities, got {columns.shape}")
    candidates: list[tuple[float, str, tuple[float, ...], str]] = []
    reads = ctc_decode_plates(columns, ALPHABET, (MERCOSUL_GRAMMAR, OLD_GRAMMAR))
    for layout, read, prior in (
        ("mercosul", reads[0], p_mercosul),
        ("old", reads[1], 1.0 - p_mercosul),
    ):
        if read is not None:
            quality = float(np.prod(read.char_probs))
            candidates.append((prior * quality, layout, read.char_probs, read.text))
    if not candidates:
        return None
    total = sum(c[0] for c in candidates)
    score, layout, probs, text = max(candidates)
    share = score / total if total > 0 else 0.0
    return PlateDecoding(text, float(np.prod(probs)) * share, layout, probs)


def prepare(crop: Image) -> FloatArray | None:
    """The network input for one crop (3 x 32 x 128, BGR, 0..255), None if too small."""
    h, w = crop.shape[:2]
    if h < 8 or w < 16:
        return None
    return np.ascontiguousarray(plate_line(crop).transpose(2, 0, 1), dtype=np.float32)


class CnnPlateReader:
    """Reads plate crops with the shipped plate CNN and both-layout grammar decoding."""

    name = "plate-cnn-onnx"

    def __init__(
        self,
        model_path: Path = DEFAULT_READER_MODEL,
        *,
        threads: int = 1,
        providers: list[str] | None = None,
        use_band: bool = True,
    ) -> None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self._session = ort.InferenceSession(
            str(model_path), options, providers=providers or ["CPUExecutionProvider"]
        )
        self._input = self._session.get_inputs()[0].name
        self.model_path = Path(model_path)
        self.use_band = use_band

    def read(self, crop: Image) -> OcrReading:
        return self.read_batch([crop])[0]

    def read_batch(self, crops: Sequence[Image]) -> list[OcrReading]:
        """One reading per crop, in order, from a single network call."""
        decodings = self.decode_batch(crops)
        return [OcrReading(d.text, d.confidence) if d else OcrReading("", 0.0) for d in decodings]

    def decode_batch(self, crops: Sequence[Image]) -> list[PlateDecoding | None]:
        inputs = [prepare(c) for c in crops]
        usable = [(i, x) for i, x in enumerate(inputs) if x is not None]
        out: list[PlateDecoding | None] = [None] * len(crops)
        if not usable:
            return out
        batch = np.stack([x for _, x in usable])
        columns, kinds = self._session.run(None, {self._input: batch})[:2]
        for row, (i, _) in enumerate(usable):
            band = self.use_band and looks_mercosul(crops[i])
            p_merc = mercosul_probability(np.asarray(kinds[row], np.float32), band)
            out[i] = decode_plate(np.asarray(columns[row], np.float32), p_merc)
        return out
