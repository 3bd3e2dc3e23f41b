"""Plate artwork for the evaluation set, written independently of ``tools/lpr_dataset``.

Text is set as whole strings in each face's own spacing (not per-character cells) and
fitted to the plate's text box; faces come from the Liberation, URW base35 and FreeFont
packages, none of which the training renderer (DejaVu, Noto) uses. Colours follow the
real plate categories: Mercosul private (black), commercial (red), official (blue),
special (green) on white; old private (black on grey), commercial (white on red),
official (black on white).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt
from PIL import Image, ImageDraw, ImageFont

Array = npt.NDArray[np.uint8]

EVAL_FONTS: dict[str, Path] = {
    "nimbus-sans-narrow-bold": Path(
        "/usr/share/fonts/opentype/urw-base35/NimbusSansNarrow-Bold.otf"
    ),
    "nimbus-sans-bold": Path("/usr/share/fonts/opentype/urw-base35/NimbusSans-Bold.otf"),
    "urw-gothic-demi": Path("/usr/share/fonts/opentype/urw-base35/URWGothic-Demi.otf"),
    "nimbus-mono-bold": Path("/usr/share/fonts/opentype/urw-base35/NimbusMonoPS-Bold.otf"),
    "liberation-sans-bold": Path("/usr/share/fonts/truetype/liberation2/LiberationSans-Bold.ttf"),
    "liberation-mono-bold": Path("/usr/share/fonts/truetype/liberation2/LiberationMono-Bold.ttf"),
    "free-sans-bold": Path("/usr/share/fonts/truetype/freefont/FreeSansBold.ttf"),
}
"""Faces of the evaluation set (Debian: fonts-urw-base35, fonts-liberation2,
fonts-freefont-ttf; installed by tools/scripts/install_system.sh)."""

MERCOSUL_INKS = {
    "private": (10, 10, 10),
    "commercial": (200, 20, 30),
    "official": (20, 40, 170),
    "special": (10, 120, 50),
}
OLD_COLOURS = {  # (background, ink) in RGB
    "private": ((190, 192, 196), (15, 15, 15)),
    "commercial": ((190, 25, 30), (245, 245, 245)),
    "official": ((240, 240, 240), (15, 15, 15)),
}
TOWNS = ["CAMPINAS-SP", "NITEROI-RJ", "LONDRINA-PR", "OLINDA-PE", "SANTAREM-PA", "NATAL-RN"]


def eval_fonts() -> list[str]:
    """The evaluation faces present on this machine."""
    found = [name for name, path in EVAL_FONTS.items() if path.exists()]
    if not found:
        raise RuntimeError("no evaluation fonts: run tools/scripts/install_system.sh")
    return found


@functools.lru_cache(maxsize=32)
def _face(name: str, size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(EVAL_FONTS[name]), size)


@functools.lru_cache(maxsize=256)
def _string_mask(text: str, font: str) -> Array:
    """Ink of ``text`` set in ``font`` at its natural spacing, tightly cropped."""
    face = _face(font, 120)
    left, top, right, bottom = face.getbbox(text)
    canvas = Image.new("L", (right - left + 8, bottom - top + 8), 0)
    ImageDraw.Draw(canvas).text((4 - left, 4 - top), text, font=face, fill=255)
    box = canvas.getbbox()
    return np.asarray(canvas.crop(box) if box else canvas, np.uint8)


def _set_text(
    canvas: npt.NDArray[np.float32],
    text: str,
    font: str,
    ink: tuple[int, int, int],
    box: tuple[int, int, int, int],
) -> None:
    """Fit ``text`` into ``box`` (x, y, w, h): full height, width squeezed or centred."""
    x, y, w, h = box
    mask = _string_mask(text, font)
    natural_w = mask.shape[1] * h / mask.shape[0]
    tw = int(min(w, natural_w * 1.35))  # plate faces are tall: stretch a little at most
    if tw < natural_w * 0.55:
        tw = w
    fitted = cv2.resize(mask, (tw, h), interpolation=cv2.INTER_AREA).astype(np.float32) / 255
    x0 = x + (w - tw) // 2
    region = canvas[y : y + h, x0 : x0 + tw]
    alpha = fitted[: region.shape[0], : region.shape[1], None]
    region[:] = region * (1 - alpha) + np.asarray(ink, np.float32) * alpha


@dataclass(frozen=True)
class PlateSpec:
    text: str  # 7 characters, no hyphen
    style: str  # "mercosul" or "old"
    layout: str  # "car" (one row) or "moto" (two rows)
    category: str
    font: str
    town: str


def draw_plate(spec: PlateSpec, px_per_mm: float = 1.6) -> Array:
    """The plate as an RGB image, front view."""
    w_mm, h_mm = (400, 130) if spec.layout == "car" else (200, 170)
    w, h = round(w_mm * px_per_mm), round(h_mm * px_per_mm)
    s = px_per_mm
    text = spec.text
    if spec.style == "mercosul":
        canvas = np.full((h, w, 3), 246, np.float32)
        band_h = round((26 if spec.layout == "car" else 30) * s)
        canvas[:band_h] = (16, 60, 160)
        canvas[band_h : band_h + max(1, round(s))] = (200, 200, 210)
        _set_text(
            canvas,
            "BRASIL",
            "liberation-sans-bold" if "liberation-sans-bold" in EVAL_FONTS else spec.font,
            (250, 250, 250),
            (w // 2 - round(30 * s), round(5 * s), round(60 * s), band_h - round(10 * s)),
        )
        # Flag block on the right of the band and a round emblem on the left.
        fx = w - round(30 * s)
        canvas[round(5 * s) : band_h - round(5 * s), fx : fx + round(22 * s)] = (30, 140, 60)
        cv2.circle(
            canvas,
            (round(16 * s), band_h // 2),
            max(2, round(8 * s)),
            (240, 240, 240),
            max(1, round(1.5 * s)),
        )
        ink = MERCOSUL_INKS[spec.category]
        if spec.layout == "car":
            _set_text(
                canvas,
                text,
                spec.font,
                ink,
                (round(18 * s), band_h + round(16 * s), w - round(36 * s), round(70 * s)),
            )
        else:
            _set_text(
                canvas,
                text[:3],
                spec.font,
                ink,
                (round(36 * s), band_h + round(10 * s), w - round(72 * s), round(55 * s)),
            )
            _set_text(
                canvas,
                text[3:],
                spec.font,
                ink,
                (round(16 * s), band_h + round(75 * s), w - round(32 * s), round(55 * s)),
            )
        frame_colour = (30, 30, 30)
    else:
        bg, ink = OLD_COLOURS[spec.category]
        canvas = np.full((h, w, 3), bg, np.float32)
        if spec.layout == "car":
            _set_text(
                canvas,
                spec.town,
                spec.font,
                ink,
                (round(90 * s), round(8 * s), w - round(180 * s), round(20 * s)),
            )
            _set_text(
                canvas,
                text[:3] + "-" + text[3:],
                spec.font,
                ink,
                (round(14 * s), round(38 * s), w - round(28 * s), round(80 * s)),
            )
        else:
            _set_text(
                canvas,
                spec.town,
                spec.font,
                ink,
                (round(30 * s), round(8 * s), w - round(60 * s), round(20 * s)),
            )
            _set_text(
                canvas,
                text[:3],
                spec.font,
                ink,
                (round(36 * s), round(38 * s), w - round(72 * s), round(58 * s)),
            )
            _set_text(
                canvas,
                text[3:],
                spec.font,
                ink,
                (round(16 * s), round(104 * s), w - round(32 * s), round(58 * s)),
            )
        frame_colour = ink
    # Screws and the raised rim.
    for cx in (round(w * 0.18), round(w * 0.82)):
        cy = round(h * (0.12 if spec.style == "old" else 0.5))
        if spec.layout == "car":
            cv2.circle(
                canvas,
                (cx, cy if spec.style == "old" else round(h * 0.07)),
                max(1, round(3 * s)),
                (120, 120, 120),
                -1,
            )
    cv2.rectangle(canvas, (1, 1), (w - 2, h - 2), frame_colour, max(1, round(2 * s)))
    return np.clip(canvas, 0, 255).astype(np.uint8)
