"""Images of Brazilian licence plates, for the simulated cameras and for labelled data.

Two layouts, drawn to the proportions of the real plates (400 x 130 mm):

* ``mercosul`` — white plate, blue band on top with ``BRASIL`` and a small flag,
  black characters ``ABC1D23``;
* ``old`` — grey plate with the city on top (``SAO PAULO - SP``), black characters
  ``ABC-1234``.

The font is DejaVu Sans Condensed Bold (Debian ``fonts-dejavu-core``): not the official
FE-Schrift/Mandatory, but clear and close enough in shape for detection and OCR.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from shared_kernel.plates import PlateNumber, PlateStyle, normalise

PLATE_ASPECT = 400 / 130
FONT_DIRS = (
    Path("/usr/share/fonts/truetype/dejavu"),
    Path("/usr/share/fonts/dejavu"),
)
MERCOSUL_BLUE = (0, 51, 153)
OLD_GREY = (178, 180, 182)
INK = (20, 20, 20)

Font = ImageFont.FreeTypeFont | ImageFont.ImageFont


@lru_cache(maxsize=64)
def load_font(size: int, name: str = "DejaVuSansCondensed-Bold.ttf") -> Font:
    """A TrueType font from the system's DejaVu fonts, or Pillow's built-in one."""
    for directory in FONT_DIRS:
        path = directory / name
        if path.exists():
            return ImageFont.truetype(str(path), size)
    return ImageFont.load_default(size)


def plate_style(text: str) -> PlateStyle:
    """``old`` for ``ABC1234``, ``mercosul`` for ``ABC1D23``; ValueError otherwise."""
    return PlateNumber(normalise(text)).style


def _fit_font(draw: ImageDraw.ImageDraw, text: str, max_w: int, max_h: int,
              name: str = "DejaVuSansCondensed-Bold.ttf") -> Font:
    """The largest font whose rendering of ``text`` fits in ``max_w`` x ``max_h``."""
    size = max(6, max_h)
    while size > 6:
        font = load_font(size, name)
        left, top, right, bottom = draw.textbbox((0, 0), text, font=font)
        if right - left <= max_w and bottom - top <= max_h:
            return font
        size -= 1
    return load_font(6, name)


def _draw_centered(draw: ImageDraw.ImageDraw, box: tuple[int, int, int, int], text: str,
                   font: Font, fill: tuple[int, int, int]) -> None:
    x0, y0, x1, y1 = box
    left, top, right, bottom = draw.textbbox((0, 0), text, font=font)
    x = x0 + (x1 - x0 - (right - left)) / 2 - left
    y = y0 + (y1 - y0 - (bottom - top)) / 2 - top
    draw.text((x, y), text, font=font, fill=fill)


def _draw_flag(draw: ImageDraw.ImageDraw, box: tuple[int, int, int, int]) -> None:
    x0, y0, x1, y1 = box
    draw.rectangle(box, fill=(0, 146, 63))
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    dx, dy = (x1 - x0) * 0.42, (y1 - y0) * 0.4
    draw.polygon([(cx - dx, cy), (cx, cy - dy), (cx + dx, cy), (cx, cy + dy)], fill=(255, 204, 0))
    r = (y1 - y0) * 0.22
    draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=(0, 39, 118))


def render_plate(text: str, style: PlateStyle | None = None, *, width: int = 400) -> Image.Image:
    """An RGB image of the plate ``text`` (``ABC1234`` or ``ABC1D23``; separators allowed).

    ``style`` defaults to the layout the number belongs to; forcing ``mercosul`` on an
    old number (or the reverse) is allowed, as both circulate during the transition.
    Raises ValueError for a text that is not a plate number.
    """
    plate = PlateNumber(normalise(text))
    style = style or plate.style
    if style not in ("old", "mercosul"):
        raise ValueError(f"unknown plate style: {style!r}")
    if width < 40:
        raise ValueError("plate width must be at least 40 pixels")
    height = round(width / PLATE_ASPECT)
    border = max(1, round(width * 0.012))
    radius = max(2, round(width * 0.03))
    background = (255, 255, 255) if style == "mercosul" else OLD_GREY
    image = Image.new("RGB", (width, height), (0, 0, 0))
    draw = ImageDraw.Draw(image)
    draw.rounded_rectangle((0, 0, width - 1, height - 1), radius=radius, fill=INK)
    inner = (border, border, width - 1 - border, height - 1 - border)
    draw.rounded_rectangle(inner, radius=max(1, radius - border), fill=background)

    band_h = round(height * 0.24)
    band = (inner[0], inner[1], inner[2], inner[1] + band_h)
    if style == "mercosul":
        draw.rectangle(band, fill=MERCOSUL_BLUE)
        band_font = _fit_font(draw, "BRASIL", round(width * 0.4), round(band_h * 0.7),
                              "DejaVuSans-Bold.ttf")
        _draw_centered(draw, band, "BRASIL", band_font, (255, 255, 255))
        flag_h = round(band_h * 0.62)
        flag_w = round(flag_h * 1.43)
        fx1 = band[2] - round(width * 0.03)
        fy0 = band[1] + (band_h - flag_h) // 2
        _draw_flag(draw, (fx1 - flag_w, fy0, fx1, fy0 + flag_h))
        # The Mercosul emblem on the left: a blue circle with four stars, simplified.
        r = flag_h / 2
        ex = band[0] + round(width * 0.03) + r
        ey = band[1] + band_h / 2
        draw.ellipse((ex - r, ey - r, ex + r, ey + r), outline=(255, 255, 255),
                     width=max(1, round(r * 0.15)))
        characters = plate.value
    else:
        city_font = _fit_font(draw, "SAO PAULO - SP", round(width * 0.6), round(band_h * 0.7),
                              "DejaVuSans-Bold.ttf")
        _draw_centered(draw, band, "SAO PAULO - SP", city_font, INK)
        characters = f"{plate.value[:3]}-{plate.value[3:]}"

    body = (inner[0] + round(width * 0.04), band[3] + round(height * 0.04),
            inner[2] - round(width * 0.04), inner[3] - round(height * 0.06))
    font = _fit_font(draw, characters, body[2] - body[0], body[3] - body[1])
    _draw_centered(draw, body, characters, font, INK)
    return image
