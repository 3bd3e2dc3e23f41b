"""Plate OCR: PP-OCRv4 text recognition (from ``rapidocr-onnxruntime``) on a plate crop.

Only the recognition network is used — the detector already found the plate. Two things
make a general-purpose text recogniser into a plate reader:

* preprocessing: grey, contrast-stretched (CLAHE), upscaled to the network's 48 px line
  height, with the top band (``BRASIL`` / the city name) cut off; a two-row plate
  (motorcycles) is cut into its rows, which are laid side by side as one line;
* the layout: a blue band at the top means a Mercosul plate, whose fifth character is
  a letter (the glyphs ``I``/``1`` and ``J``/``3`` are otherwise easy to confuse there);
* grammar-constrained decoding: instead of the network's greedy reading over ~6,600
  symbols, a Viterbi search over its CTC output finds the most likely string that is a
  Brazilian plate (three letters, a digit, a letter or digit, two digits). Every read is
  a valid plate, and confidence is the path's per-character probability, so
  non-plates come out with low confidence and are dropped by a threshold.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt

from streaming_service.domain.ai.ports import Image, OcrReading
from streaming_service.infrastructure.plate_grammar import (
    DIGITS,
    LETTERS,
    MERCOSUL_GRAMMAR,
    PLATE_GRAMMAR,
    ctc_decode_plate,
)

FloatArray = npt.NDArray[np.float32]

LINE_HEIGHT = 48  # PP-OCR recognition input height
#: Share of blue pixels in the crop's top strip above which it is a Mercosul plate.
MERCOSUL_BLUE_SHARE = 0.1


def looks_mercosul(crop: Image) -> bool:
    """True when the crop shows the blue "BRASIL" band of a Mercosul plate.

    Only a positive hint: a grey crop may be an old plate or a monochrome (IR) camera,
    so the absence of blue decides nothing. Measured on the synthetic set, Mercosul
    crops show 19-100 % blue in this strip and old plates at most 1.4 %.
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


def rapidocr_model_path() -> Path:
    """The PP-OCRv4 recognition model inside the installed ``rapidocr_onnxruntime``."""
    import rapidocr_onnxruntime

    return Path(rapidocr_onnxruntime.__file__).parent / "models" / "ch_PP-OCRv4_rec_infer.onnx"


class RapidOcrPlateReader:
    """Reads a plate crop with PP-OCRv4 recognition and plate-grammar decoding."""

    name = "ppocrv4-rec-onnx"

    def __init__(
        self, model_path: Path | None = None, *, threads: int = 1, band_ratio: float = 0.3
    ) -> None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        self._session = ort.InferenceSession(
            str(model_path or rapidocr_model_path()), options, providers=["CPUExecutionProvider"]
        )
        self._input = self._session.get_inputs()[0].name
        charset = self._session.get_modelmeta().custom_metadata_map["character"].splitlines()
        # Column 0 is the CTC blank; the model's characters follow, then a space.
        columns = {ch: i + 1 for i, ch in enumerate(charset)}
        self._alphabet = LETTERS + DIGITS
        self._columns = np.array([0] + [columns[c] for c in self._alphabet])
        self.band_ratio = band_ratio

    def read(self, crop: Image) -> OcrReading:
        line = self.prepare(crop)
        if line is None:
            return OcrReading("", 0.0)
        probs = self._probabilities(line)
        grammar = MERCOSUL_GRAMMAR if looks_mercosul(crop) else PLATE_GRAMMAR
        result = ctc_decode_plate(probs, self._alphabet, grammar)
        if result is None:
            return OcrReading("", 0.0)
        return OcrReading(result.text, result.confidence)

    def prepare(self, crop: Image) -> Image | None:
        """Grey, contrast-stretched single text line (band removed, rows side by side)."""
        h, w = crop.shape[:2]
        if h < 8 or w < 16:
            return None
        grey = cv2.cvtColor(crop, cv2.COLOR_BGR2GRAY) if crop.ndim == 3 else crop
        # Upscale small crops first so CLAHE tiles see enough pixels.
        if h < 2 * LINE_HEIGHT:
            factor = 2 * LINE_HEIGHT / h
            grey = cv2.resize(grey, None, fx=factor, fy=factor, interpolation=cv2.INTER_CUBIC)
        grey = cv2.createCLAHE(clipLimit=2.0, tileGridSize=(4, 8)).apply(grey)
        gh, gw = grey.shape
        body = grey[int(gh * self.band_ratio) :]
        if gw / gh < 1.8:
            # Two-row plate (motorcycle): ABC over 1D23. Lay the rows side by side.
            half = body.shape[0] // 2
            top, bottom = body[:half], body[half:]
            line = np.hstack([top, np.full((top.shape[0], 8), 255, np.uint8), bottom[:half]])
        else:
            line = body
        return np.asarray(cv2.cvtColor(line, cv2.COLOR_GRAY2BGR), np.uint8)

    def _probabilities(self, line: Image) -> FloatArray:
        h, w = line.shape[:2]
        width = max(LINE_HEIGHT, min(640, round(w * LINE_HEIGHT / h)))
        resized = cv2.resize(line, (width, LINE_HEIGHT), interpolation=cv2.INTER_AREA)
        tensor = resized.astype(np.float32).transpose(2, 0, 1) / 255.0
        tensor = (tensor - 0.5) / 0.5
        (out,) = self._session.run(None, {self._input: tensor[None]})[:1]
        full = np.asarray(out, np.float32)[0]  # T x classes, already softmaxed
        probs = full[:, self._columns]
        # Renormalise over the plate alphabet and blank.
        return np.asarray(probs / np.clip(probs.sum(axis=1, keepdims=True), 1e-9, None), np.float32)
