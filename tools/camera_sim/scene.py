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


def _cells(value: int) -> list[int]:
    """A strip's cells (1 = white) for a 44-bit ``value``: markers, data, checksum."""
    if not 0 <= value < 1 << _TS_BITS:
        raise ValueError(f"value out of range: {value!r}")
    data = [(value >> (_TS_BITS - 1 - i)) & 1 for i in range(_TS_BITS)]
    check = _checksum(value)
    checks = [(check >> (_CHECK_BITS - 1 - i)) & 1 for i in range(_CHECK_BITS)]
    return [*_START_MARK, *data, *checks, *_STOP_MARK]


def timestamp_cells(now: datetime) -> list[int]:
    """The strip's cells (1 = white) for ``now``."""
    millis = round(now.timestamp() * 1000)
    if not 0 <= millis < 1 << _TS_BITS:
        raise ValueError(f"timestamp out of range: {now!r}")
    return _cells(millis)


def _cell_spans(width: int) -> list[tuple[float, float]]:
    left = width * _STRIP_MARGIN
    cell = (width - 2 * left) / _CELLS
    return [(left + i * cell, left + (i + 1) * cell) for i in range(_CELLS)]


def _draw_strip(draw: ImageDraw.ImageDraw, width: int, box: tuple[int, int, int, int],
                cells: list[int]) -> None:
    draw.rectangle((box[0], box[1], box[2] - 1, box[3] - 1), fill=(0, 0, 0))
    for (x0, x1), bit in zip(_cell_spans(width), cells, strict=True):
        if bit:
            draw.rectangle((round(x0), box[1], round(x1) - 1, box[3] - 1), fill=(255, 255, 255))


def draw_timestamp(draw: ImageDraw.ImageDraw, width: int, height: int, now: datetime) -> None:
    _draw_strip(draw, width, timestamp_box(width, height), timestamp_cells(now))


def _grey(frame: np.ndarray | Image.Image) -> np.ndarray:
    if isinstance(frame, Image.Image):
        return np.asarray(frame.convert("L"), dtype=np.float32)
    pixels = np.asarray(frame, dtype=np.float32)
    if pixels.ndim == 3:
        rgb = pixels[..., :3]
        pixels = rgb @ np.array([0.299, 0.587, 0.114], dtype=np.float32)
    if pixels.ndim != 2:
        raise ValueError(f"expected an H x W or H x W x C frame, got {pixels.shape}")
    return pixels


def _read_strip(pixels: np.ndarray, box: tuple[int, int, int, int]) -> int | None:
    """The 44-bit value of the strip in ``box``, or None (markers or checksum wrong).
    Each cell is sampled in its middle half and thresholded halfway between the darkest
    and brightest marker cells, so compression smear at the edges does not matter."""
    width = pixels.shape[1]
    _, top, _, bottom = box
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
    value = int("".join(map(str, payload)), 2)
    if int("".join(map(str, check_bits)), 2) != _checksum(value):
        return None
    return value


def read_timestamp(frame: np.ndarray | Image.Image) -> datetime | None:
    """The instant burned into ``frame``'s timestamp strip, or None when there is no
    valid strip (markers or checksum do not match).

    ``frame``: a PIL image, or an array of H x W (grey) or H x W x 3/4 (RGB[A]) pixels.
    """
    pixels = _grey(frame)
    height, width = pixels.shape
    if width < 160 or height < 90:
        return None
    millis = _read_strip(pixels, timestamp_box(width, height))
    return None if millis is None else datetime.fromtimestamp(millis / 1000, UTC)


# A PTZ camera's pose, for machines: a second strip at the bottom of the frame with the
# same cells, holding pan and tilt (15 bits each, -1..1) and zoom (14 bits, 0..1).
_PAN_TILT_STEPS = (1 << 15) - 2  # even: 0 is exact
_ZOOM_STEPS = (1 << 14) - 1


def pose_box(width: int, height: int) -> tuple[int, int, int, int]:
    """Where the pose strip is drawn (left, top, right, bottom): the bottom of the frame."""
    strip = max(6, round(height * 0.04))
    return (0, height - strip, width, height)


def pose_value(pan: float, tilt: float, zoom: float) -> int:
    def scaled(v: float, low: float, steps: int) -> int:
        return min(steps, max(0, round((v - low) / (1.0 - low) * steps)))

    return ((scaled(pan, -1.0, _PAN_TILT_STEPS) << 29)
            | (scaled(tilt, -1.0, _PAN_TILT_STEPS) << 14) | scaled(zoom, 0.0, _ZOOM_STEPS))


def read_pose(frame: np.ndarray | Image.Image) -> tuple[float, float, float] | None:
    """(pan, tilt, zoom) burned into a PTZ camera's frame (to about 1/16000), or None."""
    pixels = _grey(frame)
    height, width = pixels.shape
    if width < 160 or height < 90:
        return None
    value = _read_strip(pixels, pose_box(width, height))
    if value is None:
        return None
    pan = (value >> 29) / _PAN_TILT_STEPS * 2 - 1
    tilt = ((value >> 14) & 0x7FFF) / _PAN_TILT_STEPS * 2 - 1
    zoom = (value & _ZOOM_STEPS) / _ZOOM_STEPS
    return (pan, tilt, zoom)


def _draw_panorama(width: int, height: int, rng: random.Random,
                   font: object) -> Image.Image:
    """A city skyline over a street, with large grid labels (A1, B1…) so a person sees
    where the camera points and how it moves."""
    image = Image.new("RGB", (width, height), (135, 180, 230))
    draw = ImageDraw.Draw(image)
    for y in range(0, height // 2, 4):  # sky, lighter towards the horizon
        shade = 150 + round(80 * y / (height / 2))
        draw.rectangle((0, y, width, y + 3), fill=(min(shade, 235) - 60, min(shade, 235) - 20,
                                                   min(shade + 10, 250)))
    ground = round(height * 0.72)
    x = 0
    while x < width:  # buildings of random widths, heights and colours, windows lit
        w = rng.randint(width // 40, width // 14)
        h = rng.randint(round(height * 0.15), round(height * 0.6))
        colour = rng.choice([(120, 110, 100), (170, 160, 140), (90, 100, 120), (150, 90, 70),
                             (200, 190, 170), (80, 80, 90)])
        draw.rectangle((x, ground - h, x + w - 2, ground), fill=colour)
        for wy in range(ground - h + 8, ground - 10, 16):
            for wx in range(x + 5, x + w - 10, 12):
                lit = rng.random() < 0.4
                draw.rectangle((wx, wy, wx + 5, wy + 7),
                               fill=(250, 230, 140) if lit else (50, 60, 70))
        x += w
    draw.rectangle((0, ground, width, height), fill=(70, 70, 74))
    for y in (ground + 6, height - 8):
        draw.rectangle((0, y, width, y + 3), fill=(230, 230, 230))
    dash = max(12, width // 60)
    mid = round((ground + height) / 2)
    for dx in range(0, width, dash * 2):
        draw.rectangle((dx, mid, dx + dash, mid + 5), fill=(240, 210, 60))
    columns, rows = 8, 3
    for col in range(columns):  # grid labels: column letter, row number
        for row in range(rows):
            label = f"{chr(ord('A') + col)}{row + 1}"
            cx = round((col + 0.5) * width / columns)
            cy = round((row + 0.5) * height / rows)
            draw.text((cx, cy), label, font=font, fill=(255, 255, 255), anchor="mm",  # type: ignore[arg-type]
                      stroke_width=4, stroke_fill=(0, 0, 0))
    return image


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
        self._pano: Image.Image | None = None

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

    def frame(self, now: datetime, monotonic: float,
              pose: tuple[float, float, float] | None = None) -> bytes:
        """One frame. With ``pose`` (pan, tilt, zoom of a PTZ camera) the picture is
        the window of the camera's panorama it points at, with the pose written on it."""
        if pose is not None:
            image = self._window(pose)
        else:
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
        if pose is not None:
            readout = f"PAN {pose[0]:+.3f}  TILT {pose[1]:+.3f}  ZOOM {pose[2]:.3f}"
            strip_top = pose_box(self.width, self.height)[1]
            _, top, right, bottom = draw.textbbox((0, 0), readout, font=self._label_font)
            y = strip_top - (bottom - top) - 8
            draw.rectangle((4, y - 3, 12 + right, strip_top - 3), fill=(0, 0, 0))
            draw.text((8, y - top), readout, font=self._label_font, fill=(255, 255, 0))
            _draw_strip(draw, self.width, pose_box(self.width, self.height),
                        _cells(pose_value(*pose)))
        return image.tobytes()

    # A PTZ camera looks at a panorama PANORAMA_SCALE frames wide and high; zoom 1 is
    # MAX_ZOOM times magnified.
    PANORAMA_SCALE = (4, 3)
    MAX_ZOOM = 4.0

    def _panorama(self) -> Image.Image:
        if self._pano is None:
            self._pano = _draw_panorama(self.width * self.PANORAMA_SCALE[0],
                                        self.height * self.PANORAMA_SCALE[1], self._rng,
                                        load_font(round(self.height * 0.2),
                                                  "DejaVuSans-Bold.ttf"))
        return self._pano

    def view_box(self, pose: tuple[float, float, float]) -> tuple[float, float, float, float]:
        """The part of the panorama (left, top, right, bottom) seen at ``pose``: pan -1..1
        sweeps left to right, tilt -1..1 bottom to top, zoom 0..1 narrows the view."""
        pano_w = self.width * self.PANORAMA_SCALE[0]
        pano_h = self.height * self.PANORAMA_SCALE[1]
        pan, tilt, zoom = (min(max(v, low), 1.0)
                           for v, low in zip(pose, (-1.0, -1.0, 0.0), strict=True))
        magnify = 1.0 + (self.MAX_ZOOM - 1.0) * zoom
        w, h = self.width / magnify, self.height / magnify
        cx = self.width / 2 + (pan + 1) / 2 * (pano_w - self.width)
        cy = self.height / 2 + (1 - tilt) / 2 * (pano_h - self.height)
        return (cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2)

    def _window(self, pose: tuple[float, float, float]) -> Image.Image:
        return self._panorama().resize((self.width, self.height), Image.Resampling.BILINEAR,
                                       box=self.view_box(pose))

    def snapshot(self, now: datetime | None = None) -> Image.Image:
        """One frame as an image (for docs and quick looks)."""
        data = self.frame(now or datetime.now(UTC), 2.0)
        return Image.frombytes("RGB", (self.width, self.height), data)
