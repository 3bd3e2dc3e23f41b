"""A plate crop as one text line, the plate reader's input (shared with its training).

One-row plates (cars) are resized whole to ``LINE_W x LINE_H``. Two-row plates
(motorcycles, recognisable by their almost square crop) are cut into their rows, which
are laid side by side, so the reader always sees the seven characters left to right:
``ABC`` over ``1D23`` becomes ``ABC | 1D23``. The row windows overlap, which tolerates
the loose or tight boxes a detector gives. Only numpy and OpenCV: ``tools/lpr_train``
imports this module to build its training lines exactly as the service does.
"""

from __future__ import annotations

import cv2
import numpy as np
import numpy.typing as npt

LINE_H, LINE_W = 32, 128
#: Crops narrower than this (width / height) are two-row plates; a one-row plate's
#: crop is ~3:1 and stays above 1.45 at 35° of yaw and 15° of roll together, a
#: two-row crop (~1.2:1 with the margin) below 1.3.
TWO_ROW_ASPECT = 1.4
#: Row windows of a two-row crop, as fractions of its height (band or city line above).
TOP_ROW = (0.12, 0.58)
BOTTOM_ROW = (0.48, 1.0)

Line = npt.NDArray[np.uint8]


def _fit(image: Line, width: int, height: int) -> Line:
    h, w = image.shape[:2]
    shrink = w > width or h > height
    interpolation = cv2.INTER_AREA if shrink else cv2.INTER_LINEAR
    return np.asarray(cv2.resize(image, (width, height), interpolation=interpolation), np.uint8)


def is_two_row(crop: Line) -> bool:
    h, w = crop.shape[:2]
    return bool(w / max(h, 1) < TWO_ROW_ASPECT)


def plate_line(crop: Line) -> Line:
    """The ``LINE_H x LINE_W x 3`` BGR line the reader reads."""
    if crop.ndim == 2:
        crop = np.asarray(cv2.cvtColor(crop, cv2.COLOR_GRAY2BGR), np.uint8)
    if not is_two_row(crop):
        return _fit(crop, LINE_W, LINE_H)
    h = crop.shape[0]
    top = crop[int(h * TOP_ROW[0]) : max(int(h * TOP_ROW[1]), int(h * TOP_ROW[0]) + 1)]
    bottom = crop[int(h * BOTTOM_ROW[0]) :]
    # Three characters above, four below: give the rows widths in that proportion.
    top_w = round(LINE_W * 3 / 7)
    return np.hstack([_fit(top, top_w, LINE_H), _fit(bottom, LINE_W - top_w, LINE_H)])
