"""Synthetic traffic-camera frames: a vehicle seen from the front or back, with its plate.

Each frame is a road scene (sky, buildings, asphalt with lane marks), one vehicle drawn
from simple shapes (body, windscreen, lights, grille, bumper, wheels, shadow), and a
rendered plate mounted on the bumper under a random perspective. Capture conditions are
drawn at random and recorded: blur (focus or motion), sensor noise, night, JPEG quality.
The ground truth is the plate's text, style and axis-aligned box in frame pixels.
"""

from __future__ import annotations

import string
from dataclasses import asdict, dataclass, field
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from tools.lpr_dataset.render import CITIES, Layout, PlateStyle, available_fonts, render_plate

Array = npt.NDArray[np.uint8]

CAR_COLOURS = [
    (235, 235, 235),
    (200, 200, 205),
    (150, 150, 155),
    (30, 30, 35),
    (160, 20, 25),
    (20, 50, 140),
    (90, 30, 30),
    (40, 90, 60),
    (220, 200, 150),
    (240, 240, 250),
]


@dataclass(frozen=True)
class Conditions:
    """How a frame was captured; stored with the label to break accuracy down."""

    font: str
    yaw_deg: float
    pitch_deg: float
    roll_deg: float
    blur: str  # "none", "gaussian", "motion"
    blur_amount: float
    noise_sigma: float
    night: bool
    jpeg_quality: int
    dirt: float


@dataclass
class Sample:
    """One labelled frame (BGR ``uint8``)."""

    image: Array = field(repr=False)
    text: str
    style: PlateStyle
    layout: Layout
    bbox: tuple[float, float, float, float]
    conditions: Conditions

    def label(self, file: str) -> dict[str, Any]:
        return {
            "file": file,
            "text": self.text,
            "style": self.style,
            "layout": self.layout,
            "bbox": [round(v, 1) for v in self.bbox],
            "conditions": asdict(self.conditions),
        }


def random_plate_text(rng: np.random.Generator, style: PlateStyle) -> str:
    letters = string.ascii_uppercase
    chars = [letters[rng.integers(26)] for _ in range(3)] + [str(rng.integers(10))]
    chars.append(letters[rng.integers(10)] if style == "mercosul" else str(rng.integers(10)))
    chars += [str(rng.integers(10)) for _ in range(2)]
    return "".join(chars)


def _background(rng: np.random.Generator, w: int, h: int) -> npt.NDArray[np.float32]:
    img = np.zeros((h, w, 3), np.float32)
    horizon = int(h * rng.uniform(0.25, 0.4))
    top = np.array([rng.uniform(150, 230), rng.uniform(170, 220), rng.uniform(200, 255)])
    for y in range(horizon):
        img[y] = top * (0.8 + 0.2 * y / max(1, horizon))
    x = 0
    while x < w:  # buildings along the horizon
        bw = int(rng.uniform(0.08, 0.2) * w)
        bh = int(rng.uniform(0.3, 1.0) * horizon)
        colour = rng.uniform(60, 190, 3)
        img[horizon - bh : horizon, x : x + bw] = colour
        for wy in range(horizon - bh + 6, horizon - 6, 14):
            for wx in range(x + 5, x + bw - 8, 16):
                img[wy : wy + 7, wx : wx + 8] = colour * rng.uniform(0.4, 0.8)
        x += bw + int(rng.uniform(0, 0.03) * w)
    asphalt = rng.uniform(70, 115)
    img[horizon:] = asphalt
    img[horizon:] += rng.normal(0, 6, (h - horizon, w, 1)).astype(np.float32)
    for lane in (-1, 1):  # lane marks converging to the horizon
        x_bottom = w / 2 + lane * rng.uniform(0.35, 0.55) * w
        pts = np.array([[w / 2 + lane * 8, horizon], [x_bottom, h], [x_bottom + 14, h]], np.int32)
        cv2.fillPoly(img, [pts], (225, 225, 215))
    return img


def _vehicle(
    img: npt.NDArray[np.float32], rng: np.random.Generator, cx: float, bottom: float, vw: float
) -> tuple[float, float]:
    """Draw a vehicle; returns the centre (x, y) of its plate mount on the bumper."""
    vh = vw * rng.uniform(0.75, 0.95)
    x1, x2, top = cx - vw / 2, cx + vw / 2, bottom - vh
    colour = np.array(CAR_COLOURS[rng.integers(len(CAR_COLOURS))], np.float32)[::-1]
    # Shadow, wheels, then the body with a vertical shade.
    cv2.ellipse(
        img, (int(cx), int(bottom)), (int(vw * 0.58), int(vh * 0.07)), 0, 0, 360, (25, 25, 25), -1
    )
    for wx in (x1 + vw * 0.06, x2 - vw * 0.2):
        cv2.rectangle(
            img,
            (int(wx), int(bottom - vh * 0.16)),
            (int(wx + vw * 0.14), int(bottom)),
            (18, 18, 18),
            -1,
        )
    body_top = top + vh * 0.42
    body = np.array(
        [
            [x1, bottom - vh * 0.1],
            [x1 + vw * 0.02, body_top],
            [x2 - vw * 0.02, body_top],
            [x2, bottom - vh * 0.1],
        ],
        np.int32,
    )
    cv2.fillPoly(img, [body], colour.tolist())
    y_a, y_b = int(body_top), int(bottom - vh * 0.1)
    xa, xb = max(0, int(x1)), min(img.shape[1], int(x2))
    if y_b > y_a and xb > xa:
        shade = np.linspace(1.1, 0.75, y_b - y_a, dtype=np.float32)[:, None, None]
        img[y_a:y_b, xa:xb] = np.where(
            img[y_a:y_b, xa:xb] == colour, img[y_a:y_b, xa:xb] * shade, img[y_a:y_b, xa:xb]
        )
    cabin = np.array(
        [
            [x1 + vw * 0.12, body_top],
            [x1 + vw * 0.22, top],
            [x2 - vw * 0.22, top],
            [x2 - vw * 0.12, body_top],
        ],
        np.int32,
    )
    cv2.fillPoly(img, [cabin], (colour * 0.9).tolist())
    glass = np.array(
        [
            [x1 + vw * 0.16, body_top - vh * 0.02],
            [x1 + vw * 0.25, top + vh * 0.05],
            [x2 - vw * 0.25, top + vh * 0.05],
            [x2 - vw * 0.16, body_top - vh * 0.02],
        ],
        np.int32,
    )
    cv2.fillPoly(img, [glass], (rng.uniform(30, 70), rng.uniform(35, 70), rng.uniform(40, 80)))
    light_y = body_top + vh * 0.1
    light = (
        (rng.uniform(180, 255), rng.uniform(180, 255), 255) if rng.random() < 0.5 else (40, 40, 200)
    )
    for lx in (x1 + vw * 0.05, x2 - vw * 0.23):
        cv2.rectangle(
            img, (int(lx), int(light_y)), (int(lx + vw * 0.18), int(light_y + vh * 0.09)), light, -1
        )
    grille_y = light_y + vh * 0.02
    cv2.rectangle(
        img,
        (int(cx - vw * 0.2), int(grille_y)),
        (int(cx + vw * 0.2), int(grille_y + vh * 0.1)),
        (35, 35, 35),
        -1,
    )
    for gy in np.linspace(grille_y + 3, grille_y + vh * 0.1 - 3, 4):
        cv2.line(
            img, (int(cx - vw * 0.19), int(gy)), (int(cx + vw * 0.19), int(gy)), (90, 90, 90), 1
        )
    bumper_y = bottom - vh * 0.2
    cv2.rectangle(
        img,
        (int(x1), int(bumper_y)),
        (int(x2), int(bottom - vh * 0.1)),
        (colour * 0.6).tolist(),
        -1,
    )
    return cx, bumper_y - vh * 0.06


def _perspective(
    plate: Array, yaw: float, pitch: float, roll: float, width: float
) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]:
    """Warp ``plate`` to ``width`` pixels under the given angles; returns image, corners.

    The image is float RGBA (alpha = plate mask); corners are the plate's four corners
    in the returned image's coordinates.
    """
    h, w = plate.shape[:2]
    s = width / w
    pw, ph = w * s, h * s
    corners = np.array(
        [[-pw / 2, -ph / 2, 0], [pw / 2, -ph / 2, 0], [pw / 2, ph / 2, 0], [-pw / 2, ph / 2, 0]],
        np.float64,
    )
    ry, rp, rr = np.radians([yaw, pitch, roll])
    rot_y = np.array([[np.cos(ry), 0, np.sin(ry)], [0, 1, 0], [-np.sin(ry), 0, np.cos(ry)]])
    rot_x = np.array([[1, 0, 0], [0, np.cos(rp), -np.sin(rp)], [0, np.sin(rp), np.cos(rp)]])
    rot_z = np.array([[np.cos(rr), -np.sin(rr), 0], [np.sin(rr), np.cos(rr), 0], [0, 0, 1]])
    pts = corners @ (rot_z @ rot_x @ rot_y).T
    focal = pw * 4.0
    proj = pts[:, :2] * (focal / (focal + pts[:, 2:3]))
    proj -= proj.min(axis=0)
    proj += 2
    out_w, out_h = int(np.ceil(proj[:, 0].max())) + 3, int(np.ceil(proj[:, 1].max())) + 3
    src = np.array([[0, 0], [w, 0], [w, h], [0, h]], np.float32)
    matrix = cv2.getPerspectiveTransform(src, proj.astype(np.float32))
    rgba = np.dstack([plate, np.full((h, w), 255, np.uint8)])
    warped = cv2.warpPerspective(
        rgba, matrix, (out_w, out_h), flags=cv2.INTER_AREA, borderValue=(0, 0, 0, 0)
    )
    return warped.astype(np.float32), proj.astype(np.float32)


def _night(
    img: npt.NDArray[np.float32],
    rng: np.random.Generator,
    plate_box: tuple[float, float, float, float],
) -> npt.NDArray[np.float32]:
    h, w = img.shape[:2]
    ambient = rng.uniform(0.18, 0.35)
    # Plates are lit at night (plate lamp / IR): a soft pool of light around the plate,
    # not a hard rectangle, so a detector is not rewarded for finding the lit area.
    x1, y1, x2, y2 = plate_box
    cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
    sx, sy = max(4.0, (x2 - x1) * 0.75), max(4.0, (y2 - y1) * 1.2)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    pool = np.exp(-(((xx - cx) / sx) ** 2 + ((yy - cy) / sy) ** 2) / 2)
    gain = ambient + (rng.uniform(0.5, 0.8) - ambient) * pool
    dark = img * gain[..., None]
    dark = cv2.GaussianBlur(dark, (0, 0), 0.6)
    return np.asarray(dark, np.float32)


def make_sample(
    rng: np.random.Generator,
    size: tuple[int, int] = (1280, 720),
    *,
    style: PlateStyle | None = None,
    layout: Layout = "car",
    night_fraction: float = 0.2,
    hard: bool = True,
) -> Sample:
    """One random labelled frame of ``size`` (width, height)."""
    w, h = size
    style = style or ("mercosul" if rng.random() < 0.6 else "old")
    text = random_plate_text(rng, style)
    fonts = available_fonts()
    font = fonts[rng.integers(len(fonts))]
    dirt = float(rng.uniform(0, 0.6)) if hard and rng.random() < 0.3 else 0.0
    plate = render_plate(
        text,
        style,
        font=font,
        layout=layout,
        dirt=dirt,
        rng=rng,
        city=CITIES[rng.integers(len(CITIES))],
    )
    img = _background(rng, w, h)
    vw = rng.uniform(0.38, 0.62) * w
    cx = rng.uniform(vw * 0.45, w - vw * 0.45)
    bottom = rng.uniform(0.86, 0.99) * h
    px, py = _vehicle(img, rng, cx, bottom, vw)
    scale = 1.0 if hard else 0.5
    yaw = float(rng.uniform(-25, 25) * scale)
    pitch = float(rng.uniform(-15, 15) * scale)
    roll = float(rng.uniform(-8, 8) * scale)
    plate_width = vw * rng.uniform(0.2, 0.27) * (0.55 if layout == "moto" else 1.0)
    warped, corners = _perspective(plate, yaw, pitch, roll, plate_width)
    ph, pw = warped.shape[:2]
    ox, oy = int(px - pw / 2), int(py - ph / 2)
    # Paste with the alpha mask, clipped to the frame.
    xa, ya = max(0, ox), max(0, oy)
    xb, yb = min(w, ox + pw), min(h, oy + ph)
    patch = warped[ya - oy : yb - oy, xa - ox : xb - ox]
    alpha = patch[..., 3:4] / 255.0
    img[ya:yb, xa:xb] = img[ya:yb, xa:xb] * (1 - alpha) + patch[..., :3][..., ::-1] * alpha
    frame_corners = corners + np.array([ox, oy], np.float32)
    x1, y1 = frame_corners.min(axis=0)
    x2, y2 = frame_corners.max(axis=0)
    bbox = (float(max(0, x1)), float(max(0, y1)), float(min(w, x2)), float(min(h, y2)))

    night = bool(rng.random() < night_fraction)
    if night:
        img = _night(img, rng, bbox)
    blur_kind, blur_amount = "none", 0.0
    r = rng.random()
    if hard and r < 0.3:
        blur_kind, blur_amount = "gaussian", float(rng.uniform(0.5, 1.6))
        img = cv2.GaussianBlur(img, (0, 0), blur_amount)
    elif hard and r < 0.5:
        blur_kind, blur_amount = "motion", float(rng.integers(3, 9))
        k = np.zeros((int(blur_amount), int(blur_amount)), np.float32)
        k[int(blur_amount) // 2, :] = 1.0 / blur_amount
        img = cv2.filter2D(img, -1, k)
    noise = float(rng.uniform(0, 10 if hard else 4))
    img = img + rng.normal(0, noise, img.shape).astype(np.float32)
    out = img.clip(0, 255).astype(np.uint8)
    quality = int(rng.integers(35 if hard else 70, 96))
    ok, buf = cv2.imencode(".jpg", out, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise RuntimeError("JPEG encoding failed")
    decoded = cv2.imdecode(buf, cv2.IMREAD_COLOR)
    conditions = Conditions(
        font=font,
        yaw_deg=round(yaw, 1),
        pitch_deg=round(pitch, 1),
        roll_deg=round(roll, 1),
        blur=blur_kind,
        blur_amount=round(blur_amount, 2),
        noise_sigma=round(noise, 1),
        night=night,
        jpeg_quality=quality,
        dirt=round(dirt, 2),
    )
    return Sample(np.asarray(decoded, np.uint8), text, style, layout, bbox, conditions)
