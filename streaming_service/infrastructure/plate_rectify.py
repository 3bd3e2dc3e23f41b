"""Straighten a plate crop and find its character rows (numpy and OpenCV only).

A general-purpose text recogniser reads a tilted plate badly, and cutting a fixed share
off the top of the crop (the Mercosul "BRASIL" band, an old plate's city line) leaves
the band's lower edge above the first characters of a tilted plate, where it turns an
``I`` or ``J`` into a ``T``. So the reader first levels the plate by its long near
horizontal edges (the plate's border, the band's edge), then keeps only the rows that
hold characters, found from the ink profile: rows of the band or the border are almost
all ink, rows between lines almost none.
"""

from __future__ import annotations

import math

import cv2
import numpy as np
import numpy.typing as npt

Grey = npt.NDArray[np.uint8]

#: Steepest roll (degrees) taken for the plate's own edges rather than something else.
MAX_ROLL = 20.0
#: Share of ink a character row shows; above is a band or border, below is background.
MIN_ROW_INK, MAX_ROW_INK = 0.08, 0.7
#: Columns left out at each side when measuring ink (the plate's frame).
SIDE_MARGIN = 0.08


def roll_angle(grey: Grey) -> float:
    """The plate's roll in degrees: the length-weighted median angle of the long
    near-horizontal lines in the crop; 0 when there are none."""
    w = grey.shape[1]
    edges = cv2.Canny(grey, 50, 150)
    lines = cv2.HoughLinesP(
        edges,
        1,
        np.pi / 360,
        threshold=max(20, w // 6),
        minLineLength=w // 3,
        maxLineGap=max(1, w // 30),
    )
    if lines is None:
        return 0.0
    segments = lines.reshape(-1, 4).astype(np.float64)
    dx, dy = segments[:, 2] - segments[:, 0], segments[:, 3] - segments[:, 1]
    angles = np.degrees(np.arctan2(dy, dx))
    keep = np.abs(angles) <= MAX_ROLL
    if not keep.any():
        return 0.0
    angles, weights = angles[keep], np.hypot(dx, dy)[keep]
    order = np.argsort(angles)
    cumulative = np.cumsum(weights[order])
    return float(angles[order][np.searchsorted(cumulative, cumulative[-1] / 2)])


def rotated(grey: Grey, angle: float) -> Grey:
    """The crop rotated by ``angle`` degrees about its centre, on a canvas of the same
    size: ``rotated(grey, roll_angle(grey))`` levels a plate. The crop itself below half
    a degree."""
    if abs(angle) < 0.5:
        return grey
    h, w = grey.shape
    matrix = cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0)
    return np.asarray(
        cv2.warpAffine(
            grey, matrix, (w, h), flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REPLICATE
        ),
        np.uint8,
    )


def unrolled_size(width: float, height: float, angle: float) -> tuple[float, float]:
    """The width and height of a plate whose crop, ``width`` x ``height``, is its bounding
    box rolled by ``angle`` degrees: a roll makes the box taller and squarer, so a car
    plate seen at a strong angle and rolled would otherwise look as square as a
    motorcycle's, and its character row as short as a city line. The crop's own size
    when the roll is under half a degree, or when no plate rolled by ``angle`` has that
    box (its aspect outside tan to cot of the angle). The crop's margins make the plate
    a little squarer than it is (a 2:1 plate at 15 degrees with the pipeline's margins
    comes out 1.65:1); just inside cot of the angle the height tends to 0, which only
    says "one row", as it should for a box that wide."""
    t = math.radians(abs(angle))
    if t < math.radians(0.5):
        return width, height
    cos, sin, cos2 = math.cos(t), math.sin(t), math.cos(2 * t)
    plate_w = (width * cos - height * sin) / cos2
    plate_h = (height * cos - width * sin) / cos2
    return (plate_w, plate_h) if plate_w > 0 and plate_h > 0 else (width, height)


def character_rows(grey: Grey, min_height: float = 0.15) -> list[tuple[int, int]]:
    """Row ranges ``(top, bottom)`` that hold characters, tallest first.

    A row belongs to a line of characters when its share of ink (Otsu, dark on light)
    is between ``MIN_ROW_INK`` and ``MAX_ROW_INK``; gaps of a few rows are bridged.
    Ranges lower than ``min_height`` of the crop are dropped (a city name, dirt).
    """
    h = grey.shape[0]
    profile = ink_profile(grey)
    textish = (profile > MIN_ROW_INK) & (profile < MAX_ROW_INK)
    bridge = max(1, h // 40)
    rows: list[tuple[int, int]] = []
    y = 0
    while y < h:
        if not textish[y]:
            y += 1
            continue
        start, gap = y, 0
        while y < h and (textish[y] or gap < bridge):
            gap = 0 if textish[y] else gap + 1
            y += 1
        rows.append((start, y - gap))
    rows = [r for r in rows if r[1] - r[0] >= h * min_height]
    return sorted(rows, key=lambda r: r[1] - r[0], reverse=True)


def ink_profile(grey: Grey) -> npt.NDArray[np.float64]:
    """Each row's share of ink (Otsu, dark on light), the plate's frame left out."""
    w = grey.shape[1]
    region = grey[:, int(w * SIDE_MARGIN) : max(int(w * (1 - SIDE_MARGIN)), 1)]
    _, ink = cv2.threshold(region, 0, 255, cv2.THRESH_BINARY_INV + cv2.THRESH_OTSU)
    return np.asarray((ink > 0).mean(axis=1), np.float64)


def split_rows(grey: Grey, row: tuple[int, int]) -> list[tuple[int, int]]:
    """The two rows of a two-row plate that :func:`character_rows` found as one range
    (the gap between them narrower than its bridge): cut at the row with the least ink
    in the middle of the range. Halving the crop instead cuts the top off the lower
    row's characters, where a ``1`` becomes an ``I``."""
    top, bottom = row
    lo = max(top + 1, top + (bottom - top) * 3 // 10)
    hi = min(bottom - 1, top + (bottom - top) * 7 // 10)
    if hi <= lo:
        return [row]
    cut = lo + int(np.argmin(ink_profile(grey)[lo:hi]))
    return [(top, cut), (cut, bottom)]


def padded(grey: Grey, row: tuple[int, int], pad: float) -> Grey:
    """The rows of ``row`` with ``pad`` of the crop's height added above and below."""
    h = grey.shape[0]
    margin = int(h * pad)
    return grey[max(0, row[0] - margin) : min(h, row[1] + margin)]
