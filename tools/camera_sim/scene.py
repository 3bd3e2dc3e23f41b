"""The synthetic picture of one simulated camera: a road, vehicles carrying the
camera's plates, and a burned-in UTC wall clock.

The clock is drawn at the moment the frame is made (``YYYY-MM-DD HH:MM:SS.mmm UTC``,
large monospace, white on black, top-left), so a viewer can read it back from any
decoded frame and compare it with its own clock: that difference is the glass-to-glass
latency. ``CLOCK_BOX`` tells readers where to look.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

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
        draw.text((8, box[3] + 6), self.name, font=self._label_font, fill=(255, 255, 255))
        return image.tobytes()

    def snapshot(self, now: datetime | None = None) -> Image.Image:
        """One frame as an image (for docs and quick looks)."""
        data = self.frame(now or datetime.now(UTC), 2.0)
        return Image.frombytes("RGB", (self.width, self.height), data)
