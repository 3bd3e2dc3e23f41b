"""Plate OCR: PP-OCRv4 text recognition on a plate crop, by two networks.

Only the recognition network is used — the detector already found the plate. The crop
is read by PP-OCRv4 fine-tuned on rendered plates (shipped here), its second view by the
original network of ``rapidocr-onnxruntime``. Two more things make a text recogniser
into a plate reader:

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

import math
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from types import MappingProxyType
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from streaming_service.domain.ai.ports import Image, OcrReading
from streaming_service.infrastructure.detector import MODELS_DIR, PRECISIONS
from streaming_service.infrastructure.int8_kernels import int8_file
from streaming_service.infrastructure.plate_grammar import (
    DIGITS,
    LETTERS,
    MERCOSUL_GRAMMAR,
    OLD_GRAMMAR,
    OLD_HYPHEN_GRAMMAR,
    SEPARATOR,
    ConstrainedRead,
    ctc_decode_plates,
)
from streaming_service.infrastructure.plate_rectify import (
    character_rows,
    padded,
    roll_angle,
    rotated,
    split_rows,
    unrolled_size,
)

FloatArray = npt.NDArray[np.float32]

LINE_HEIGHT = 48  # PP-OCR recognition input height
#: PP-OCRv4 recognition fine-tuned on rendered plates (``tools/lpr_train/finetune_reader.py``,
#: docs/models.md): the package's network with its last backbone stage, neck and
#: classifier retrained, same input, output and characters. The fp32 reader.
FP32_READER_MODEL = MODELS_DIR / "ppocrv4_rec_plates.onnx"
#: The same with int8 convolutions and matrix products (``tools/lpr_train/quantize.py``):
#: 8-bit weights for x86 CPUs with VNNI and others, 7-bit ones for x86 CPUs without
#: (``int8_kernels``).
INT8_READER_MODEL = MODELS_DIR / "ppocrv4_rec_plates.int8.onnx"
INT8_7BIT_READER_MODEL = MODELS_DIR / "ppocrv4_rec_plates.int8-7bit.onnx"
INT8_READER_FILES = (INT8_READER_MODEL, INT8_7BIT_READER_MODEL)
#: The second view is read by the package's own network (fp32: ``rapidocr_model_path``;
#: int8: these files): trained apart, the two networks rarely make the same mistake, so
#: a read both agree on is more evidence than two views of one network (docs/models.md).
INT8_SECOND_VIEW_MODEL = MODELS_DIR / "ppocrv4_rec.int8.onnx"
INT8_7BIT_SECOND_VIEW_MODEL = MODELS_DIR / "ppocrv4_rec.int8-7bit.onnx"
INT8_SECOND_VIEW_FILES = (INT8_SECOND_VIEW_MODEL, INT8_7BIT_SECOND_VIEW_MODEL)
#: Share of blue pixels in the crop's top strip above which it is a Mercosul plate.
MERCOSUL_BLUE_SHARE = 0.1
#: Width of the crop's side strips (share of its width), and the share of blue in them
#: (beside the plate's lower part) above which the blue is the vehicle's, not a band's.
SIDE_STRIP = 0.06
SURROUNDING_BLUE_SHARE = 0.3
#: Log-odds the blue band adds for the Mercosul layout. Only a hint: a blue car behind an
#: old plate shows blue there too, and an old plate's printed hyphen outweighs it.
BAND_LOG_ODDS = 3.0
#: Log-odds against a one-row old plate read without its hyphen: one-row old plates
#: print it (and the network sees it); two-row ones do not, and are read without it.
NO_HYPHEN_LOG_ODDS = -6.0
#: Share of the crop's width cut from each side for the second view.
SECOND_VIEW_TRIM = 0.03
#: Confidence kept by a read the two views disagree on.
DISAGREEMENT_FACTOR = 0.6
#: A crop narrower than this (width / height) is a two-row (motorcycle) plate: a car's
#: plate is ~3:1 and its crop (with the pipeline's margins) stays above 1.4 at 35 degrees of
#: yaw, a motorcycle's ~1.2:1. The aspect is the plate's with its roll undone
#: (``unrolled_size``): strong roll on top of strong yaw brings a car plate's crop
#: under 1.4, and cut in halves its ``E`` read ``F``.
TWO_ROW_ASPECT = 1.4
#: Between ``TWO_ROW_ASPECT`` and this, a crop may be either (a car's plate seen at an
#: angle, with its city line and margins): it is read as two rows only when two character
#: rows of about the same height are found in it. Cut in halves instead, a car plate's
#: one line loses the lower part of its characters, which turns ``E`` into ``F``.
ONE_ROW_ASPECT = 1.8
#: Height added above and below each row of a two-row plate (share of the crop's height).
TWO_ROW_PAD = 0.06
#: Share of a two-row crop's height above which its one character row found is both
#: rows run together.
MERGED_ROWS_SHARE = 0.5
#: Share of a one-row plate's height its character row must reach to be cut out; a lower
#: one is a city line or dirt, and the crop below the band is read instead.
ONE_ROW_SHARE = 0.3
#: Second row's height, as a share of the first's, for two rows of a motorcycle plate.
SECOND_ROW_SHARE = 0.6
#: The pipeline's confidence threshold (``RecognitionSettings.min_ocr_confidence``) that
#: the calibration maps each group's fitted threshold onto.
CALIBRATION_TARGET = 0.6
#: Per precision of the reader network, then per group (:func:`calibration_group`: the
#: read's layout, one or two rows, whether the two views agree), the raw two-view
#: confidence that should land on ``CALIBRATION_TARGET``: ``confidence ** (log 0.6 / log
#: t)``, monotonic, so the order of reads within a group is kept. Fitted on the tuning
#: set only (``tools/lpr_train/two_view_calibration.py fit --coarse --only disagree``,
#: docs/models.md); a group not listed keeps its raw confidence. Fitted for the reader
#: of two networks (the fine-tuned one on the crop, the package's on the second view):
#: int8, where they disagree, a read whose better view is at least ~0.983 confident
#: clears 0.6 (without it none does, 0.6 x at most 1.0): the same value was chosen on
#: either half of the tuning seeds and gained reads on the other half. fp32: no group
#: gained robustly (each half chose differently), so the raw confidence stands.
#: The 7-bit int8 files (x86 CPUs without VNNI) were fitted on their own reads on such a
#: CPU and chose the same 0.59 on either half, gaining 14 and 20 reads for 1 misread on
#: the half each fit did not see (0.59 had been rejected for the package's network on
#: the 7-bit files).
_DISAGREE = {f"{layout}/{rows}/disagree": 0.59
             for layout in ("mercosul", "old") for rows in ("one", "two")}
CALIBRATION_THRESHOLDS: dict[str, dict[str, float]] = {
    "fp32": {}, "int8": _DISAGREE, "int8-7bit": dict(_DISAGREE)}


def calibration_group(text: str, two_row: bool, agree: bool) -> str:
    layout = "mercosul" if len(text) == 7 and text[4].isalpha() else "old"
    return f"{layout}/{'two' if two_row else 'one'}/{'agree' if agree else 'disagree'}"


def calibrated(confidence: float, group: str, thresholds: Mapping[str, float]) -> float:
    """The confidence after the group's calibration (unchanged for an unknown group)."""
    t = thresholds.get(group)
    if t is None or not 0.0 < t < 1.0 or not 0.0 < confidence < 1.0:
        return confidence
    return float(confidence ** (math.log(CALIBRATION_TARGET) / math.log(t)))


def looks_mercosul(crop: Image) -> bool:
    """True when the crop shows the blue "BRASIL" band of a Mercosul plate.

    Only a positive hint: a grey crop may be an old plate or a monochrome (IR) camera,
    so the absence of blue decides nothing. Measured on the synthetic set, Mercosul
    crops show 19-100 % blue in this strip and old plates at most 1.4 %. Blue beside the
    plate as well as above it is the vehicle's paint around the plate, not a band: the
    crop's margins take in some of the vehicle, and a blue car behind an old plate
    would otherwise count as a band (``SURROUNDING_BLUE_SHARE``).
    """
    if crop.ndim != 3:
        return False
    h, w = crop.shape[:2]
    strip = crop[int(h * 0.03) : max(int(h * 0.3), 1), int(w * 0.2) : max(int(w * 0.8), 1)]
    if strip.size == 0 or _blue_share(strip) < MERCOSUL_BLUE_SHARE:
        return False
    side = max(1, int(w * SIDE_STRIP))
    middle = slice(int(h * 0.4), max(int(h * 0.9), int(h * 0.4) + 1))
    sides = np.hstack([crop[middle, :side], crop[middle, w - side :]])
    return _blue_share(sides) < SURROUNDING_BLUE_SHARE


def _blue_share(pixels: Image) -> float:
    hsv = cv2.cvtColor(pixels, cv2.COLOR_BGR2HSV)
    hue, sat, val = hsv[..., 0], hsv[..., 1], hsv[..., 2]
    return float(((hue >= 95) & (hue <= 135) & (sat > 70) & (val > 30)).mean())


def rapidocr_model_path() -> Path:
    """The PP-OCRv4 recognition model inside the installed ``rapidocr_onnxruntime``: what
    ``FP32_READER_MODEL`` was fine-tuned from."""
    import rapidocr_onnxruntime

    return Path(rapidocr_onnxruntime.__file__).parent / "models" / "ch_PP-OCRv4_rec_infer.onnx"


def second_view(crop: Image) -> Image:
    """The crop a few per cent narrower on each side: the reader's second view."""
    w = crop.shape[1]
    trim = max(1, int(w * SECOND_VIEW_TRIM))
    return crop[:, trim : w - trim]


def layout_share(best: ConstrainedRead, reads: list[ConstrainedRead]) -> float:
    """The best read's share of the probability of all distinct readings: two layouts
    that read the crop about equally well leave its fifth character in doubt."""
    by_text: dict[str, float] = {}
    for r in reads:
        by_text[r.text] = max(by_text.get(r.text, -np.inf), r.log_score)
    scores = np.array(list(by_text.values()))
    weights = np.exp(scores - scores.max())
    return float(np.exp(by_text[best.text] - scores.max()) / weights.sum())


def is_two_row(aspect: float, rows: list[tuple[int, int]]) -> bool:
    """Whether a crop of this width / height, with these character rows (tallest first),
    is a two-row plate."""
    if aspect < TWO_ROW_ASPECT:
        return True
    if aspect >= ONE_ROW_ASPECT or len(rows) < 2:
        return False
    return rows[1][1] - rows[1][0] >= SECOND_ROW_SHARE * (rows[0][1] - rows[0][0])


def side_by_side(top: Image, bottom: Image) -> Image:
    """A two-row plate's rows as one line (``ABC`` over ``1D23`` → ``ABC 1D23``)."""
    height = max(top.shape[0], bottom.shape[0], 1)

    def fit(row: Image) -> Image:
        width = max(1, round(row.shape[1] * height / max(row.shape[0], 1)))
        return np.asarray(cv2.resize(row, (width, height)), np.uint8)

    gap = np.full((height, 8), 255, np.uint8)
    return np.hstack([fit(top), gap, fit(bottom)])


class RapidOcrPlateReader:
    """Reads a plate crop with PP-OCRv4 recognition and plate-grammar decoding."""

    name = "ppocrv4-rec-onnx"

    def __init__(
        self,
        model_path: Path | None = None,
        *,
        threads: int = 1,
        band_ratio: float = 0.3,
        views: int = 2,
        precision: str = "int8",
        second_view_model: Path | None = None,
    ) -> None:
        """``precision`` picks the shipped networks (``int8`` or ``fp32``) when no
        ``model_path`` is given: the fine-tuned one for the crop, the package's for the
        second view; and the confidence calibration fitted on their reads
        (``CALIBRATION_THRESHOLDS``). A ``model_path`` reads both views with that one
        network unless ``second_view_model`` names another (say the precision of a file
        of another network, or its table is int8's)."""
        import onnxruntime as ort

        if precision not in PRECISIONS:
            raise ValueError(f"unknown LPR precision {precision!r}; known: {list(PRECISIONS)}")
        if model_path is None:
            int8 = precision == "int8"
            model_path = int8_file(INT8_READER_FILES) if int8 else FP32_READER_MODEL
            if second_view_model is None:
                second_view_model = (
                    int8_file(INT8_SECOND_VIEW_FILES) if int8 else rapidocr_model_path())

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1

        def session(path: Path) -> ort.InferenceSession:
            return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])

        self.model_path = Path(model_path)
        self.second_view_model = Path(second_view_model or model_path)
        self._session = session(self.model_path)
        self._second_session = (
            session(self.second_view_model)
            if views >= 2 and self.second_view_model != self.model_path else self._session)
        if self.model_path in INT8_READER_FILES:
            self.name = "ppocrv4-rec-plates-int8-onnx"
        elif self.model_path == FP32_READER_MODEL:
            self.name = "ppocrv4-rec-plates-onnx"
        self._input = self._session.get_inputs()[0].name
        character = self._session.get_modelmeta().custom_metadata_map["character"]
        second = self._second_session
        if (second.get_inputs()[0].name != self._input
                or second.get_modelmeta().custom_metadata_map.get("character") != character):
            raise ValueError(f"{self.second_view_model.name} does not share "
                             f"{self.model_path.name}'s input and characters")
        charset = character.splitlines()
        # Column 0 is the CTC blank; the model's characters follow, then a space.
        columns = {ch: i + 1 for i, ch in enumerate(charset)}
        self._alphabet = LETTERS + DIGITS + SEPARATOR
        self._columns = np.array([0] + [columns[c] for c in self._alphabet])
        # Dashes the network may see in an old plate's hyphen, summed into SEPARATOR.
        self._dashes = np.array([columns[c] for c in "\u2014\u2013_" if c in columns])
        self.band_ratio = band_ratio
        self.views = views
        table = "int8-7bit" if self.model_path == INT8_7BIT_READER_MODEL else precision
        self.calibration = MappingProxyType(CALIBRATION_THRESHOLDS[table])

    def read(self, crop: Image) -> OcrReading:
        """Reads the crop twice, the second time a few per cent narrower and with the
        second network: a read both views agree on gains confidence, a disagreement
        lowers the better one's. Most confident misreads (a confusable character, a
        border taken for a stroke) do not survive the second view."""
        readings, two_row = self.read_views(crop)
        if len(readings) < 2:
            return readings[0]
        first, second = readings
        if first.text == second.text:
            # Two views agreeing on all seven characters is more evidence than either.
            doubt = (1.0 - first.confidence) * (1.0 - second.confidence)
            group = calibration_group(first.text, two_row, True)
            return OcrReading(first.text, calibrated(1.0 - doubt, group, self.calibration))
        best = first if first.confidence >= second.confidence else second
        group = calibration_group(best.text, two_row, False)
        return OcrReading(
            best.text,
            calibrated(best.confidence * DISAGREEMENT_FACTOR, group, self.calibration))

    def read_views(self, crop: Image) -> tuple[list[OcrReading], bool]:
        """Each view's reading (the crop, then, with two views, the crop a few per cent
        narrower, by the second network) and whether the crop was read as a two-row
        plate."""
        line, two_row = self.line(crop)
        readings = [self.read_line(line, crop, two_row=two_row)]
        if self.views >= 2:
            narrower = second_view(crop)
            # The same layout for both views: near a threshold the narrower crop would
            # otherwise be read as the other kind of plate.
            readings.append(self.read_line(
                self.line(narrower, two_row)[0], narrower, two_row=two_row,
                second_network=True))
        return readings, two_row

    def read_line(self, line: Image | None, crop: Image, *, two_row: bool,
                  second_network: bool = False) -> OcrReading:
        """The best plate over both layouts from a prepared line of ``crop`` (a two-row
        plate's, without the hyphen of a one-row old plate)."""
        if line is None:
            return OcrReading("", 0.0)
        probs = self._probabilities(
            line, self._second_session if second_network else self._session)
        band = BAND_LOG_ODDS if looks_mercosul(crop) else 0.0
        no_hyphen = 0.0 if two_row else NO_HYPHEN_LOG_ODDS
        decoded = ctc_decode_plates(
            probs, self._alphabet, (MERCOSUL_GRAMMAR, OLD_GRAMMAR, OLD_HYPHEN_GRAMMAR))
        reads = [
            replace(read, log_score=read.log_score + prior)
            for read, prior in zip(decoded, (band, no_hyphen, 0.0), strict=True)
            if read is not None
        ]
        if not reads:
            return OcrReading("", 0.0)
        best = max(reads, key=lambda r: r.log_score)
        return OcrReading(best.text, best.confidence * layout_share(best, reads))

    def prepare(self, crop: Image) -> Image | None:
        """The crop as the network's single text line (:meth:`line`)."""
        return self.line(crop)[0]

    def line(self, crop: Image, two_row: bool | None = None) -> tuple[Image | None, bool]:
        """Grey, contrast-stretched, levelled single text line: the character rows only
        (``plate_rectify``), a two-row plate's rows side by side; and whether the crop
        was read as a two-row plate (decided here unless ``two_row`` says). When no
        character row stands out, the top ``band_ratio`` of the crop is cut off instead."""
        h, w = crop.shape[:2]
        if h < 8 or w < 16:
            return None, bool(two_row)
        grey = cv2.cvtColor(crop, cv2.COLOR_BGR2GRAY) if crop.ndim == 3 else crop
        # Upscale small crops first so CLAHE tiles see enough pixels.
        if h < 2 * LINE_HEIGHT:
            factor = 2 * LINE_HEIGHT / h
            grey = cv2.resize(grey, None, fx=factor, fy=factor, interpolation=cv2.INTER_CUBIC)
        clahe = cv2.createCLAHE(clipLimit=2.0, tileGridSize=(4, 8))
        grey = np.asarray(clahe.apply(grey), np.uint8)
        roll = roll_angle(grey)
        grey = rotated(grey, roll)
        gh, gw = grey.shape
        # The plate's own size: levelled, a rolled plate is shorter than the canvas.
        plate_w, plate_h = unrolled_size(gw, gh, roll)
        rows = character_rows(grey)
        if two_row is None:
            two_row = is_two_row(plate_w / plate_h, rows)
        if two_row and len(rows) == 1 and rows[0][1] - rows[0][0] >= plate_h * MERGED_ROWS_SHARE:
            rows = split_rows(grey, rows[0])
        if two_row and len(rows) >= 2:
            top, bottom = (padded(grey, r, TWO_ROW_PAD) for r in sorted(rows[:2]))
            line = side_by_side(top, bottom)
        elif not two_row and rows and rows[0][1] - rows[0][0] >= plate_h * ONE_ROW_SHARE:
            line = padded(grey, rows[0], 0.04)
        else:
            body = grey[int(gh * self.band_ratio) :]
            if two_row:
                half = body.shape[0] // 2
                line = side_by_side(body[:half], body[half : 2 * half])
            else:
                line = body
        return np.asarray(cv2.cvtColor(line, cv2.COLOR_GRAY2BGR), np.uint8), two_row

    @staticmethod
    def network_input(line: Image) -> FloatArray:
        """A prepared line as the network's ``1x3x48xW`` input (-1..1)."""
        h, w = line.shape[:2]
        width = max(LINE_HEIGHT, min(640, round(w * LINE_HEIGHT / h)))
        resized = cv2.resize(line, (width, LINE_HEIGHT), interpolation=cv2.INTER_AREA)
        tensor = resized.astype(np.float32).transpose(2, 0, 1) / 255.0
        return np.asarray(((tensor - 0.5) / 0.5)[None], np.float32)

    def _probabilities(self, line: Image, session: Any) -> FloatArray:
        """The line's CTC columns over the plate alphabet, by ``session``'s network (both
        share the package's character table: checked at construction)."""
        (out,) = session.run(None, {self._input: self.network_input(line)})[:1]
        full = np.asarray(out, np.float32)[0]  # T x classes, already softmaxed
        probs = full[:, self._columns]
        if self._dashes.size:
            probs[:, -1] += full[:, self._dashes].sum(axis=1)
        # Renormalise over the plate alphabet and blank.
        return np.asarray(probs / np.clip(probs.sum(axis=1, keepdims=True), 1e-9, None), np.float32)
