"""Render Brazilian licence plates as images: old grey plates and Mercosul plates.

Proportions follow the real plates (400x130 mm; Mercosul: white with a blue "BRASIL"
band; old: grey with the city written above the number). The official fonts are not
available here, so glyphs come from the machine's DejaVu fonts (condensed, bold, mono,
serif), stretched into each character's cell, which also makes the font a variable of
the data set. Without DejaVu, Pillow's built-in font is used.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Literal

import numpy as np
import numpy.typing as npt
from PIL import Image, ImageDraw, ImageFont

PlateStyle = Literal["old", "mercosul"]
Layout = Literal["car", "moto"]
RGB = tuple[int, int, int]

FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")
FONT_FILES = {
    "dejavu-sans-condensed-bold": "DejaVuSansCondensed-Bold.ttf",
    "dejavu-sans-bold": "DejaVuSans-Bold.ttf",
    "dejavu-sans-mono-bold": "DejaVuSansMono-Bold.ttf",
    "dejavu-serif-condensed-bold": "DejaVuSerifCondensed-Bold.ttf",
    "dejavu-sans-condensed": "DejaVuSansCondensed.ttf",
}
#: Pixels per millimetre of the rendered plate (a car plate is 400 mm wide).
SCALE = 1.0

MERCOSUL_BLUE: RGB = (0, 51, 153)
CITIES = ["SAO PAULO - SP", "RIO DE JANEIRO - RJ", "CURITIBA - PR", "RECIFE - PE", "BELEM - PA"]


def available_fonts() -> list[str]:
    """Names of the plate fonts present on this machine ("pillow-default" if none)."""
    names = [name for name, file in FONT_FILES.items() if (FONT_DIR / file).exists()]
    return names or ["pillow-default"]


@functools.lru_cache(maxsize=64)
def _font(name: str, size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    if name in FONT_FILES and (FONT_DIR / FONT_FILES[name]).exists():
        return ImageFont.truetype(str(FONT_DIR / FONT_FILES[name]), size)
    return ImageFont.load_default(size)


@functools.lru_cache(maxsize=512)
def _glyph(char: str, font: str, height: int, width: int) -> npt.NDArray[np.uint8]:
    """A character's ink mask (0..255) stretched to exactly ``width``x``height``."""
    f = _font(font, 200)
    canvas = Image.new("L", (260, 280), 0)
    ImageDraw.Draw(canvas).text((20, 10), char, font=f, fill=255)
    box = canvas.getbbox()
    if box is None:
        return np.zeros((height, width), np.uint8)
    glyph = canvas.crop(box)
    natural = glyph.width * height / glyph.height
    # Wide glyphs fill the cell (the condensed look of plate fonts); narrow ones (I, 1)
    # keep their shape, centred, instead of turning into blocks.
    ink_width = width if natural >= 0.6 * width else max(1, round(natural))
    ink = np.asarray(glyph.resize((ink_width, height), Image.Resampling.LANCZOS), np.uint8)
    cell = np.zeros((height, width), np.uint8)
    x0 = (width - ink_width) // 2
    cell[:, x0 : x0 + ink_width] = ink
    return cell


def _draw_text_cells(
    plate: npt.NDArray[np.uint8],
    text: str,
    font: str,
    colour: RGB,
    top: int,
    height: int,
    left: int,
    right: int,
    char_width: int,
    gap_after: dict[int, int] | None = None,
) -> None:
    """Draw ``text`` with equal cells between ``left`` and ``right`` (in place)."""
    gaps = gap_after or {}
    total = char_width * len(text) + sum(gaps.values())
    spacing = (right - left - total) / max(1, len(text) - 1)
    x = float(left)
    for i, char in enumerate(text):
        if char == "-":
            x0, bar_w, bar_h = round(x + char_width * 0.2), round(char_width * 0.6), height // 10
            y0 = top + height // 2 - bar_h // 2
            plate[y0 : y0 + bar_h, x0 : x0 + bar_w] = colour
        elif char != " ":
            mask = _glyph(char, font, height, char_width).astype(np.float32) / 255.0
            x0 = round(x)
            region = plate[top : top + height, x0 : x0 + char_width].astype(np.float32)
            m = mask[: region.shape[0], : region.shape[1], None]
            region = region * (1 - m) + np.array(colour, np.float32) * m
            plate[top : top + height, x0 : x0 + char_width] = region.astype(np.uint8)
        x += char_width + spacing + gaps.get(i, 0)


def _small_text(img: Image.Image, text: str, centre: tuple[int, int], size: int, fill: RGB) -> None:
    draw = ImageDraw.Draw(img)
    f = _font("dejavu-sans-bold", size)
    draw.text(centre, text, font=f, fill=fill, anchor="mm")


def render_plate(
    text: str,
    style: PlateStyle,
    *,
    font: str | None = None,
    layout: Layout = "car",
    city: str = "SAO PAULO - SP",
    dirt: float = 0.0,
    rng: np.random.Generator | None = None,
) -> npt.NDArray[np.uint8]:
    """A frontal plate image (RGB, ``uint8``) showing ``text`` (7 characters, no hyphen).

    ``layout="moto"`` gives the two-row motorcycle plate (``ABC`` over ``1D23``).
    ``dirt`` (0..1) adds smudges; ``rng`` drives them.
    """
    text = text.replace("-", "").upper()
    if len(text) != 7:
        raise ValueError(f"a plate has 7 characters: {text!r}")
    font = font or available_fonts()[0]
    rng = rng or np.random.default_rng(0)
    if layout == "car":
        w, h = 400, 130
    else:
        w, h = 200, 170
    if style == "mercosul":
        plate = np.full((h, w, 3), 250, np.uint8)
        band = 30 if layout == "car" else 28
        plate[:band] = MERCOSUL_BLUE
        img = Image.fromarray(plate)
        _small_text(img, "BRASIL", (w // 2, band // 2 + 1), 20, (255, 255, 255))
        draw = ImageDraw.Draw(img)
        # Flag (left of the band) and Mercosul emblem (right), simplified.
        draw.rectangle((w - 34, 5, w - 8, band - 6), fill=(0, 150, 70))
        draw.polygon(
            [(w - 21, 7), (w - 10, band // 2), (w - 21, band - 8), (w - 32, band // 2)],
            fill=(250, 210, 0),
        )
        draw.ellipse((10, 6, 26, band - 6), outline=(255, 255, 255), width=2)
        plate = np.asarray(img).copy()
        ink: RGB = (15, 15, 15)
        if layout == "car":
            _draw_text_cells(plate, text, font, ink, 42, 72, 24, w - 24, 42)
            small = Image.fromarray(plate)
            _small_text(small, "BR", (14, 110), 12, ink)
            plate = np.asarray(small).copy()
        else:
            _draw_text_cells(plate, text[:3], font, ink, 36, 56, 40, w - 40, 34)
            _draw_text_cells(plate, text[3:], font, ink, 102, 56, 22, w - 22, 34)
        border: RGB = (20, 20, 20)
    else:
        grey = int(rng.integers(175, 205))
        plate = np.full((h, w, 3), grey, np.uint8)
        ink = (20, 20, 20)
        img = Image.fromarray(plate)
        _small_text(img, city, (w // 2, 16 if layout == "car" else 18), 16, ink)
        plate = np.asarray(img).copy()
        if layout == "car":
            _draw_text_cells(plate, text[:3] + "-" + text[3:], font, ink, 34, 80, 18, w - 18, 44)
        else:
            _draw_text_cells(plate, text[:3], font, ink, 34, 58, 40, w - 40, 34)
            _draw_text_cells(plate, text[3:], font, ink, 102, 58, 22, w - 22, 34)
        border = ink
    out = Image.fromarray(plate)
    ImageDraw.Draw(out).rounded_rectangle((1, 1, w - 2, h - 2), radius=8, outline=border, width=3)
    result = np.asarray(out).copy()
    if dirt > 0:
        result = _smudge(result, dirt, rng)
    return result


def _smudge(
    plate: npt.NDArray[np.uint8], amount: float, rng: np.random.Generator
) -> npt.NDArray[np.uint8]:
    h, w = plate.shape[:2]
    shade = np.ones((h, w), np.float32)
    for _ in range(int(3 + amount * 8)):
        cx, cy = rng.uniform(0, w), rng.uniform(0, h)
        r = rng.uniform(10, 60)
        yy, xx = np.mgrid[0:h, 0:w]
        shade -= amount * 0.35 * np.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / (2 * r * r))
    out = plate.astype(np.float32) * np.clip(shade, 0.3, 1.0)[..., None]
    return out.clip(0, 255).astype(np.uint8)
