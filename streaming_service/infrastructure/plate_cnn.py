"""The default plate reader: GT-Vision's own plate CNN (ONNX) with grammar decoding.

The network (trained by ``tools/lpr_train`` on rendered Brazilian plates, see
docs/models.md) looks at the whole crop, resized to 96x32 BGR, and outputs for each of
the seven plate positions a probability over ``A-Z0-9`` and, for the plate, a
probability over its type (Mercosul or old, one or two rows). Two-row motorcycle plates
need no special handling.

Decoding is constrained by the grammar of both layouts, Mercosul ``LLL N L NN`` and old
``LLL N N NN``: every position keeps only the characters its class allows. The layouts
differ only in the fifth position, so the most likely plate over both layouts is exact
(not a beam approximation): the fifth position's letters are weighted by the probability
that the plate is Mercosul and its digits by the probability that it is old. That layout
probability comes from the network's plate-type head, sharpened by the blue "BRASIL"
band when the crop shows one (``looks_mercosul``; a grey crop, e.g. an IR camera, says
nothing). Confidence is the product of the seven chosen probabilities (the network's
temperatures are fitted on validation crops, so it estimates the chance that the whole
plate is right).

Only numpy, OpenCV and onnxruntime at run time; ``read_batch`` reads many crops in one
network call (a GPU provider, or fewer calls on the CPU).
"""

from __future__ import annotations

import string
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt

from streaming_service.domain.ai.ports import Image, OcrReading

MODELS_DIR = Path(__file__).resolve().parent / "models"
DEFAULT_READER_MODEL = MODELS_DIR / "plate_reader_cnn.onnx"
ALPHABET = string.ascii_uppercase + string.digits
INPUT_W, INPUT_H = 96, 32
PLATE_TYPES = ("mercosul", "old", "mercosul two-row", "old two-row")
#: Likelihood ratio of seeing the blue band on a Mercosul plate rather than an old one.
BAND_ODDS = 4.0
#: Share of blue pixels in the crop's top strip above which it shows the Mercosul band.
MERCOSUL_BLUE_SHARE = 0.1

FloatArray = npt.NDArray[np.float32]
_LETTER = np.arange(36) < 26
_DIGIT = ~_LETTER
#: Allowed classes per position in either layout; the fifth position's pair is apart.
_COMMON = np.stack([_LETTER, _LETTER, _LETTER, _DIGIT, np.ones(36, bool), _DIGIT, _DIGIT])


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


def decode_plate(chars: FloatArray, p_mercosul: float) -> PlateDecoding:
    """The most likely plate over both layouts from ``7 x 36`` per-position probabilities.

    Characters a position's grammar forbids are dropped and each position renormalised;
    the fifth position's letters count ``p_mercosul`` and its digits ``1 - p_mercosul``.
    """
    if chars.shape != (7, len(ALPHABET)):
        raise ValueError(f"expected 7 x {len(ALPHABET)} probabilities, got {chars.shape}")
    weights = _COMMON.astype(np.float64)
    weights[4] = np.where(_LETTER, p_mercosul, 1.0 - p_mercosul)
    q = np.clip(chars.astype(np.float64), 1e-9, 1.0) * weights
    q /= q.sum(axis=1, keepdims=True)
    best = q.argmax(axis=1)
    probs = q[np.arange(7), best]
    text = "".join(ALPHABET[i] for i in best)
    layout = "mercosul" if _LETTER[best[4]] else "old"
    return PlateDecoding(text, float(np.prod(probs)), layout, tuple(float(p) for p in probs))


def prepare(crop: Image) -> FloatArray | None:
    """The network input for one crop (3 x 32 x 96, BGR, 0..255), None if too small."""
    h, w = crop.shape[:2]
    if h < 8 or w < 16:
        return None
    if crop.ndim == 2:
        crop = np.asarray(cv2.cvtColor(crop, cv2.COLOR_GRAY2BGR), np.uint8)
    shrink = w > INPUT_W or h > INPUT_H
    resized = cv2.resize(
        crop, (INPUT_W, INPUT_H), interpolation=cv2.INTER_AREA if shrink else cv2.INTER_LINEAR
    )
    return np.ascontiguousarray(resized.transpose(2, 0, 1), dtype=np.float32)


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
        chars, kinds = self._session.run(None, {self._input: batch})[:2]
        for row, (i, _) in enumerate(usable):
            band = self.use_band and looks_mercosul(crops[i])
            p_merc = mercosul_probability(np.asarray(kinds[row], np.float32), band)
            out[i] = decode_plate(np.asarray(chars[row], np.float32), p_merc)
        return out
