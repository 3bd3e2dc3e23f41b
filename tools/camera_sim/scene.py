"""The synthetic picture of one simulated camera: a road, vehicles carrying the
camera's plates, and a burned-in UTC wall clock.

The clock is drawn at the moment the frame is made (``YYYY-MM-DD HH:MM:SS.mmm UTC``,
large monospace, white on black, top-left), so a viewer can read it back from any
decoded frame and compare it with its own clock: that difference is the glass-to-glass
latency. ``clock_box()`` tells readers where to look.

Right under the clock, the same instant is drawn a second time for machines: a strip
of black/white cells (``timestamp_box()``) holding the epoch milliseconds, framed by
start/stop markers and guarded by a checksum. Cells are about 11x14 px at 640x360, big
enough to survive x264 ultrafast at a few hundred kbit/s, so ``read_timestamp(frame)``
reads it back from any decoded frame without OCR (the latency benchmark relies on it).
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
from PIL import Image, ImageDraw

from tools.camera_sim.plates import load_font, render_plate

CLOCK_FORMAT = "%Y-%m-%d %H:%M:%S.{ms} UTC"
VEHICLE_COLOURS = [(200, 30, 30), (30, 90, 190), (235, 235, 235), (40, 40, 40),
                   (150, 150, 155), (220, 180, 30), (30, 130, 70)]


def format_clock(now: datetime) -> str:
    now = now.astimezone(UTC)
    return now.strftime(CLOCK_FORMAT.format(ms=f"{now.microsecond // 1000:03d}"))


def clock_box(width: int, height: int) -> tuple[int, int, int, int]:
    """Where the clock is drawn in a ``width`` x ``height`` frame (left, top, right, bottom)."""
    return (0, 0, width, max(16, round(height * 0.13)))


# The machine-readable timestamp strip: markers, 44 bits of epoch milliseconds (good
# until the year 2527), a 4-bit checksum, markers. Geometry is a fraction of the frame,
# so a uniformly scaled frame (a thumbnail) still decodes.
_START_MARK = (1, 0, 1, 1)
_STOP_MARK = (1, 1, 0, 1)
_TS_BITS = 44
_CHECK_BITS = 4
_CELLS = len(_START_MARK) + _TS_BITS + _CHECK_BITS + len(_STOP_MARK)
_STRIP_MARGIN = 0.0125  # of the width, each side


def timestamp_box(width: int, height: int) -> tuple[int, int, int, int]:
    """Where the timestamp strip is drawn (left, top, right, bottom): under the clock."""
    top = clock_box(width, height)[3]
    return (0, top, width, top + max(6, round(height * 0.04)))


def _checksum(value: int) -> int:
    nibbles = [(value >> shift) & 0xF for shift in range(0, _TS_BITS, 4)]
    return (sum(nibbles) + 0x5) & 0xF


def timestamp_cells(now: datetime) -> list[int]:
    """The strip's cells (1 = white) for ``now``."""
    millis = round(now.timestamp() * 1000)
    if not 0 <= millis < 1 << _TS_BITS:
        raise ValueError(f"timestamp out of range: {now!r}")
    data = [(millis >> (_TS_BITS - 1 - i)) & 1 for i in range(_TS_BITS)]
    check = _checksum(millis)
    checks = [(check >> (_CHECK_BITS - 1 - i)) & 1 for i in range(_CHECK_BITS)]
    return [*_START_MARK, *data, *checks, *_STOP_MARK]


def _cell_spans(width: int) -> list[tuple[float, float]]:
    left = width * _STRIP_MARGIN
    cell = (width - 2 * left) / _CELLS
    return [(left + i * cell, left + (i + 1) * cell) for i in range(_CELLS)]


def draw_timestamp(draw: ImageDraw.ImageDraw, width: int, height: int, now: datetime) -> None:
    box = timestamp_box(width, height)
    draw.rectangle((box[0], box[1], box[2] - 1, box[3] - 1), fill=(0, 0, 0))
    for (x0, x1), bit in zip(_cell_spans(width), timestamp_cells(now), strict=True):
        if bit:
            draw.rectangle((round(x0), box[1], round(x1) - 1, box[3] - 1), fill=(255, 255, 255))


def read_timestamp(frame: np.ndarray | Image.Image) -> datetime | None:
    """The instant burned into ``frame``'s timestamp strip, or None when there is no
    valid strip (markers or checksum do not match).

    ``frame``: a PIL image, or an array of H x W (grey) or H x W x 3/4 (RGB[A]) pixels.
    Each cell is sampled in its middle half and thresholded halfway between the darkest
    and brightest marker cells, so compression smear at the edges does not matter.
    """
    if isinstance(frame, Image.Image):
        pixels = np.asarray(frame.convert("L"), dtype=np.float32)
    else:
        pixels = np.asarray(frame, dtype=np.float32)
        if pixels.ndim == 3:
            rgb = pixels[..., :3]
            pixels = rgb @ np.array([0.299, 0.587, 0.114], dtype=np.float32)
        if pixels.ndim != 2:
            raise ValueError(f"expected an H x W or H x W x C frame, got {pixels.shape}")
    height, width = pixels.shape
    if width < 160 or height < 90:
        return None
    _, top, _, bottom = timestamp_box(width, height)
    band_h = bottom - top
    y0, y1 = top + band_h // 4, max(top + band_h // 4 + 1, bottom - band_h // 4)
    levels = []
    for x0, x1 in _cell_spans(width):
        quarter = (x1 - x0) / 4
        a, b = round(x0 + quarter), max(round(x0 + quarter) + 1, round(x1 - quarter))
        levels.append(float(pixels[y0:y1, a:b].mean()))
    marks = [*_START_MARK, *_STOP_MARK]
    mark_levels = levels[:len(_START_MARK)] + levels[-len(_STOP_MARK):]
    white = min(v for v, m in zip(mark_levels, marks, strict=True) if m)
    black = max(v for v, m in zip(mark_levels, marks, strict=True) if not m)
    if white - black < 64:  # no strip here: no clear black/white contrast
        return None
    threshold = (white + black) / 2
    bits = [1 if v > threshold else 0 for v in levels]
    if (tuple(bits[:len(_START_MARK)]) != _START_MARK
            or tuple(bits[-len(_STOP_MARK):]) != _STOP_MARK):
        return None
    payload = bits[len(_START_MARK):len(_START_MARK) + _TS_BITS]
    check_bits = bits[len(_START_MARK) + _TS_BITS:-len(_STOP_MARK)]
    millis = int("".join(map(str, payload)), 2)
    if int("".join(map(str, check_bits)), 2) != _checksum(millis):
        return None
    return datetime.fromtimestamp(millis / 1000, UTC)


@dataclass
class _Vehicle:
    sprite: Image.Image
    mask: Image.Image
    lane_y: int
    speed: float  # pixels per second
    entered_at: float  # seconds since the scene began


def _vehicle_sprite(plate: str, frame_w: int, colour: tuple[int, int, int]
                    ) -> tuple[Image.Image, Image.Image]:
    """A car seen from behind, with its plate centred low on the body."""
    w = round(frame_w * 0.36)
    h = round(w * 0.62)
    sprite = Image.new("RGB", (w, h), (0, 0, 0))
    mask = Image.new("L", (w, h), 0)
    draw, mdraw = ImageDraw.Draw(sprite), ImageDraw.Draw(mask)
    wheel_w, wheel_h = round(w * 0.14), round(h * 0.16)
    for x in (round(w * 0.06), w - round(w * 0.06) - wheel_w):
        box = (x, h - wheel_h, x + wheel_w, h - 1)
        draw.rounded_rectangle(box, radius=3, fill=(15, 15, 15))
        mdraw.rounded_rectangle(box, radius=3, fill=255)
    body = (0, round(h * 0.35), w - 1, h - round(wheel_h * 0.6))
    roof = (round(w * 0.14), 0, w - 1 - round(w * 0.14), round(h * 0.45))
    for d, fill in ((draw, colour), (mdraw, 255)):
        d.rounded_rectangle(roof, radius=round(h * 0.08), fill=fill)
        d.rounded_rectangle(body, radius=round(h * 0.08), fill=fill)
    window = (roof[0] + round(w * 0.05), round(h * 0.06), roof[2] - round(w * 0.05),
              round(h * 0.36))
    draw.rounded_rectangle(window, radius=4, fill=(60, 80, 100))
    lamp_w, lamp_h = round(w * 0.14), round(h * 0.1)
    for x in (round(w * 0.04), w - round(w * 0.04) - lamp_w):
        draw.rectangle((x, body[1] + round(h * 0.06), x + lamp_w, body[1] + round(h * 0.06)
                        + lamp_h), fill=(190, 20, 20))
    plate_img = render_plate(plate, width=round(w * 0.46))
    px = (w - plate_img.width) // 2
    py = body[3] - plate_img.height - round(h * 0.05)
    sprite.paste(plate_img, (px, py))
    return sprite, mask


class Scene:
    """Frames of one camera. ``frame(now)`` returns packed RGB24 bytes."""

    def __init__(self, name: str, plates: Sequence[str], width: int = 640, height: int = 360,
                 seed: int | None = None) -> None:
        if width < 160 or height < 90:
            raise ValueError("frames must be at least 160x90")
        self.name, self.width, self.height = name, width, height
        self.plates = list(plates)
        self._rng = random.Random(seed if seed is not None else name)  # noqa: S311 (scenery)
        self._background = self._draw_background()
        self._clock_font = load_font(round(height * 0.085), "DejaVuSansMono-Bold.ttf")
        self._label_font = load_font(max(10, round(height * 0.045)), "DejaVuSans-Bold.ttf")
        self._sprites = [
            _vehicle_sprite(p, width, self._rng.choice(VEHICLE_COLOURS)) for p in self.plates
        ]
        self._vehicles: list[_Vehicle] = []
        self._next_index = 0
        self._next_entry = 0.0
        self._start: float | None = None

    def _draw_background(self) -> Image.Image:
        w, h = self.width, self.height
        image = Image.new("RGB", (w, h), (95, 140, 90))
        draw = ImageDraw.Draw(image)
        top = round(h * 0.3)
        draw.rectangle((0, top, w, h), fill=(70, 70, 74))
        for y in (top + 4, h - 6):
            draw.rectangle((0, y, w, y + 2), fill=(230, 230, 230))
        dash = max(8, w // 16)
        mid = round(top + (h - top) * 0.5)
        for x in range(0, w, dash * 2):
            draw.rectangle((x, mid, x + dash, mid + 3), fill=(240, 210, 60))
        return image

    def _advance(self, t: float) -> None:
        """Vehicles enter one after another (cycling through the plates), cross the
        frame left to right in about five seconds, and leave."""
        if not self._sprites:
            return
        if t >= self._next_entry:
            sprite, mask = self._sprites[self._next_index % len(self._sprites)]
            self._next_index += 1
            lane_top = round(self.height * 0.3)
            lane_y = max(lane_top, self.height - sprite.height - self._rng.randint(2, 12))
            speed = (self.width + sprite.width) / self._rng.uniform(4.0, 6.0)
            self._vehicles.append(_Vehicle(sprite, mask, lane_y, speed, t))
            self._next_entry = t + (sprite.width + self.width * 0.25) / speed
        self._vehicles = [
            v for v in self._vehicles
            if (t - v.entered_at) * v.speed < self.width + v.sprite.width
        ]

    def frame(self, now: datetime, monotonic: float) -> bytes:
        if self._start is None:
            self._start = monotonic
        t = monotonic - self._start
        self._advance(t)
        image = self._background.copy()
        for v in self._vehicles:
            x = round((t - v.entered_at) * v.speed) - v.sprite.width
            image.paste(v.sprite, (x, v.lane_y), v.mask)
        draw = ImageDraw.Draw(image)
        draw.rectangle(clock_box(self.width, self.height), fill=(0, 0, 0))
        box = clock_box(self.width, self.height)
        text = format_clock(now)
        left, top, _, bottom = draw.textbbox((0, 0), text, font=self._clock_font)
        draw.text((8 - left, (box[3] - (bottom - top)) / 2 - top), text,
                  font=self._clock_font, fill=(255, 255, 255))
        draw_timestamp(draw, self.width, self.height, now)
        label_top = timestamp_box(self.width, self.height)[3]
        draw.text((8, label_top + 6), self.name, font=self._label_font, fill=(255, 255, 255))
        return image.tobytes()

    def snapshot(self, now: datetime | None = None) -> Image.Image:
        """One frame as an image (for docs and quick looks)."""
        data = self.frame(now or datetime.now(UTC), 2.0)
        return Image.frombytes("RGB", (self.width, self.height), data)
