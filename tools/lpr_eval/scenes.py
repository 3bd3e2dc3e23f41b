"""Evaluation scenes: a plate on a vehicle in a cluttered 1280x720 frame, per condition.

Independent of ``tools/lpr_dataset`` and ``tools/lpr_train`` (no shared code): its own
backgrounds (smooth colour fields, facades, poles, parked-car blocks), its own plate
projection (a pinhole camera looking at the rotated plate plane) and its own
degradations. Three conditions, each an explicit recipe:

* ``clean``: near-frontal (yaw <= 12 deg, roll <= 4 deg), mild noise, JPEG 80-95;
* ``perspective``: yaw up to +-35 deg, roll up to +-15 deg, pitch up to +-12 deg;
* ``degraded``: moderate angles plus one or two of motion blur, defocus, sensor noise,
  low light, IR greyscale, JPEG quality 30, glare, dirt.

Plate widths (in frame pixels, measured along the plate's top edge before rotation)
run from 80 px up; motorcycle plates (two rows) are a quarter of the set.
"""

from __future__ import annotations

import string
from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from tools.lpr_eval.plates import (
    MERCOSUL_INKS,
    OLD_COLOURS,
    TOWNS,
    PlateSpec,
    draw_plate,
    eval_fonts,
)

Array = npt.NDArray[np.uint8]
CONDITIONS = ("clean", "perspective", "degraded")
DEGRADATIONS = (
    "motion_blur",
    "defocus",
    "noise",
    "low_light",
    "ir_grey",
    "jpeg30",
    "glare",
    "dirt",
)


@dataclass
class EvalSample:
    """One labelled evaluation frame (BGR ``uint8``)."""

    image: Array = field(repr=False)
    text: str
    style: str
    layout: str
    condition: str
    bbox: tuple[float, float, float, float]
    plate_width: float
    details: dict[str, Any]

    def label(self, file: str) -> dict[str, Any]:
        return {
            "file": file,
            "text": self.text,
            "style": self.style,
            "layout": self.layout,
            "condition": self.condition,
            "bbox": [round(v, 1) for v in self.bbox],
            "plate_width": round(self.plate_width, 1),
            "details": self.details,
        }


def _plate_text(rng: np.random.Generator, style: str) -> str:
    letters, digits = string.ascii_uppercase, string.digits
    out = [letters[i] for i in rng.integers(0, 26, 3)] + [digits[rng.integers(10)]]
    out.append(letters[rng.integers(26)] if style == "mercosul" else digits[rng.integers(10)])
    out += [digits[i] for i in rng.integers(0, 10, 2)]
    return "".join(out)


def _backdrop(rng: np.random.Generator, w: int, h: int) -> npt.NDArray[np.float32]:
    low = rng.uniform(40, 200, (4, 6, 3)).astype(np.float32)
    img = cv2.resize(low, (w, h), interpolation=cv2.INTER_CUBIC)
    for _ in range(int(rng.integers(6, 16))):  # facades, signs, poles
        x, y = int(rng.integers(0, w)), int(rng.integers(0, h))
        bw, bh = int(rng.integers(10, 300)), int(rng.integers(10, 300))
        colour = rng.uniform(0, 255, 3).tolist()
        if rng.random() < 0.3:
            cv2.line(
                img, (x, 0), (x + int(rng.integers(-40, 40)), h), colour, int(rng.integers(3, 14))
            )
        else:
            cv2.rectangle(img, (x, y), (x + bw, y + bh), colour, -1)
    signs = np.clip(img, 0, 255).astype(np.uint8)
    for _ in range(int(rng.integers(0, 4))):  # stray text-like strokes (shop signs)
        org = (int(rng.integers(0, w - 200)), int(rng.integers(20, h)))
        word = "".join(rng.choice(list(string.ascii_uppercase + string.digits), 6))
        cv2.putText(
            signs,
            word,
            org,
            cv2.FONT_HERSHEY_DUPLEX,
            float(rng.uniform(0.6, 1.6)),
            rng.uniform(0, 255, 3).tolist(),
            2,
        )
    img = signs.astype(np.float32) + rng.normal(0, 4, signs.shape).astype(np.float32)
    return img


def _car_body(
    img: npt.NDArray[np.float32], rng: np.random.Generator, cx: float, cy: float, pw: float
) -> None:
    """A vehicle rear/front around the plate centre (cx, cy), scaled to the plate width."""
    bw = pw * rng.uniform(3.6, 4.6)
    colour = rng.uniform(10, 245, 3)
    top, bottom = cy - pw * rng.uniform(1.4, 2.0), cy + pw * rng.uniform(0.4, 0.6)
    pts = np.array(
        [[cx - bw / 2, bottom], [cx - bw / 2.2, top], [cx + bw / 2.2, top], [cx + bw / 2, bottom]],
        np.int32,
    )
    cv2.fillConvexPoly(img, pts, colour.tolist())
    cv2.rectangle(
        img,
        (int(cx - bw * 0.35), int(top + pw * 0.1)),
        (int(cx + bw * 0.35), int(top + pw * 0.6)),
        (colour * 0.35).tolist(),
        -1,
    )
    for side in (-1, 1):
        lx = int(cx + side * bw * 0.38)
        cv2.ellipse(
            img,
            (lx, int(cy - pw * 0.35)),
            (int(bw * 0.07), int(pw * 0.12)),
            0,
            0,
            360,
            rng.choice([(30, 30, 200), (230, 230, 230)], axis=0).tolist(),
            -1,
        )
    cv2.rectangle(
        img,
        (int(cx - bw / 2), int(cy + pw * 0.25)),
        (int(cx + bw / 2), int(bottom)),
        (colour * 0.5).tolist(),
        -1,
    )


def _rotation(yaw: float, pitch: float, roll: float) -> npt.NDArray[np.float64]:
    y, p, r = np.radians([yaw, pitch, roll])
    ry = np.array([[np.cos(y), 0, np.sin(y)], [0, 1, 0], [-np.sin(y), 0, np.cos(y)]])
    rx = np.array([[1, 0, 0], [0, np.cos(p), -np.sin(p)], [0, np.sin(p), np.cos(p)]])
    rz = np.array([[np.cos(r), -np.sin(r), 0], [np.sin(r), np.cos(r), 0], [0, 0, 1]])
    return rz @ rx @ ry


def _project(
    plate_w: int,
    plate_h: int,
    width_px: float,
    centre: tuple[float, float],
    yaw: float,
    pitch: float,
    roll: float,
) -> npt.NDArray[np.float32]:
    """Frame positions of the plate's four corners seen by a pinhole camera."""
    focal = 1400.0
    depth = focal * 0.4 / width_px  # a 0.4 m-wide plate appears width_px wide, frontal
    half_w, half_h = 0.2, 0.2 * plate_h / plate_w
    corners = np.array(
        [[-half_w, -half_h, 0], [half_w, -half_h, 0], [half_w, half_h, 0], [-half_w, half_h, 0]]
    )
    cam = corners @ _rotation(yaw, pitch, roll).T + np.array([0, 0, depth])
    xy = focal * cam[:, :2] / cam[:, 2:3]
    return (xy + np.asarray(centre)).astype(np.float32)


def _degrade(
    img: npt.NDArray[np.float32], kind: str, rng: np.random.Generator, quad: npt.NDArray[np.float32]
) -> tuple[npt.NDArray[np.float32], int | None]:
    """Apply one degradation; returns the image and a JPEG quality it imposes (or None)."""
    h, w = img.shape[:2]
    if kind == "motion_blur":
        length = int(rng.integers(5, 12))
        kernel = np.zeros((length, length), np.float32)
        kernel[length // 2] = 1.0
        rot = cv2.getRotationMatrix2D(
            (length / 2 - 0.5, length / 2 - 0.5), float(rng.uniform(-30, 30)), 1
        )
        kernel = cv2.warpAffine(kernel, rot, (length, length))
        return cv2.filter2D(img, -1, kernel / max(kernel.sum(), 1e-6)), None
    if kind == "defocus":
        radius = int(rng.integers(2, 4))
        disk = np.zeros((2 * radius + 1, 2 * radius + 1), np.float32)
        cv2.circle(disk, (radius, radius), radius, 1.0, -1)
        return cv2.filter2D(img, -1, disk / disk.sum()), None
    if kind == "noise":
        return img + rng.normal(0, rng.uniform(10, 20), img.shape).astype(np.float32), None
    if kind == "low_light":
        dark = img * rng.uniform(0.2, 0.35)
        return dark + rng.normal(0, rng.uniform(3, 7), img.shape).astype(np.float32), None
    if kind == "ir_grey":
        grey = cv2.cvtColor(np.clip(img, 0, 255).astype(np.uint8), cv2.COLOR_BGR2GRAY)
        grey = grey.astype(np.float32) * rng.uniform(0.5, 0.8)
        mask = np.zeros((h, w), np.uint8)
        cv2.fillConvexPoly(mask, quad.astype(np.int32), 1)
        grey = np.where(mask > 0, np.clip(grey * 1.5 + 30, 0, 255), grey)  # retroreflective plate
        return np.repeat(grey[..., None], 3, axis=2), None
    if kind == "jpeg30":
        return img, 30
    if kind == "glare":
        cx, cy = quad[:, 0].mean() + rng.uniform(-0.3, 0.3) * np.ptp(quad[:, 0]), quad[:, 1].mean()
        yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
        sigma = np.ptp(quad[:, 0]) * rng.uniform(0.12, 0.25)
        blob = np.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / (2 * sigma * sigma))
        return img + (blob * rng.uniform(90, 160))[..., None], None
    if kind == "dirt":
        x0, y0 = quad.min(axis=0)
        x1, y1 = quad.max(axis=0)
        for _ in range(int(rng.integers(4, 10))):
            c = (int(rng.uniform(x0, x1)), int(rng.uniform(y0, y1)))
            axes = (
                max(1, int(rng.uniform(0.02, 0.1) * (x1 - x0))),
                max(1, int(rng.uniform(0.05, 0.2) * (y1 - y0))),
            )
            overlay = img.copy()
            cv2.ellipse(overlay, c, axes, float(rng.uniform(0, 180)), 0, 360, (40, 60, 80), -1)
            a = rng.uniform(0.25, 0.5)
            img = img * (1 - a) + overlay * a
        return img, None
    raise ValueError(kind)


def make_eval_sample(
    rng: np.random.Generator,
    condition: str,
    size: tuple[int, int] = (1280, 720),
    *,
    moto_fraction: float = 0.25,
    min_width: float = 80.0,
) -> EvalSample:
    w, h = size
    style = "mercosul" if rng.random() < 0.5 else "old"
    layout = "moto" if rng.random() < moto_fraction else "car"
    categories = list(MERCOSUL_INKS if style == "mercosul" else OLD_COLOURS)
    category = (
        categories[0] if rng.random() < 0.6 else categories[int(rng.integers(len(categories)))]
    )
    fonts = eval_fonts()
    spec = PlateSpec(
        _plate_text(rng, style),
        style,
        layout,
        category,
        fonts[int(rng.integers(len(fonts)))],
        TOWNS[int(rng.integers(len(TOWNS)))],
    )
    plate = draw_plate(spec)[..., ::-1]  # RGB -> BGR
    ph, pw = plate.shape[:2]
    max_width = 260.0 if layout == "car" else 160.0
    width_px = float(np.exp(rng.uniform(np.log(min_width), np.log(max(min_width + 1, max_width)))))
    if condition == "clean":
        yaw, pitch, roll = rng.uniform(-12, 12), rng.uniform(-5, 5), rng.uniform(-4, 4)
    elif condition == "perspective":
        yaw, pitch, roll = rng.uniform(-35, 35), rng.uniform(-12, 12), rng.uniform(-15, 15)
    else:
        yaw, pitch, roll = rng.uniform(-20, 20), rng.uniform(-8, 8), rng.uniform(-6, 6)
    centre = (rng.uniform(0.15, 0.85) * w, rng.uniform(0.3, 0.85) * h)
    img = _backdrop(rng, w, h)
    _car_body(img, rng, centre[0], centre[1], width_px)
    quad = _project(pw, ph, width_px, centre, float(yaw), float(pitch), float(roll))
    src = np.array([[0, 0], [pw, 0], [pw, ph], [0, ph]], np.float32)
    homography = cv2.getPerspectiveTransform(src, quad)
    warped = cv2.warpPerspective(plate.astype(np.float32), homography, (w, h), flags=cv2.INTER_AREA)
    alpha = cv2.warpPerspective(
        np.ones((ph, pw), np.float32), homography, (w, h), flags=cv2.INTER_LINEAR
    )
    img = img * (1 - alpha[..., None]) + warped * alpha[..., None]
    # Every condition: a little sensor noise and some camera softness.
    img = cv2.GaussianBlur(img, (0, 0), float(rng.uniform(0.3, 0.7)))
    quality = int(rng.integers(80, 96))
    applied: list[str] = []
    if condition == "degraded":
        count = 1 if rng.random() < 0.6 else 2
        applied = [str(k) for k in rng.choice(DEGRADATIONS, size=count, replace=False)]
        for kind in applied:
            img, q = _degrade(img, kind, rng, quad)
            quality = q or quality
    img = img + rng.normal(0, 2.0, img.shape).astype(np.float32)
    frame = np.clip(img, 0, 255).astype(np.uint8)
    _ok, buf = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, quality])
    frame = cv2.imdecode(buf, cv2.IMREAD_COLOR)
    x0, y0 = quad.min(axis=0)
    x1, y1 = quad.max(axis=0)
    bbox = (
        max(0.0, float(x0)),
        max(0.0, float(y0)),
        min(float(w), float(x1)),
        min(float(h), float(y1)),
    )
    details = {
        "font": spec.font,
        "category": category,
        "yaw": round(float(yaw), 1),
        "pitch": round(float(pitch), 1),
        "roll": round(float(roll), 1),
        "degradations": applied,
        "jpeg_quality": quality,
    }
    return EvalSample(frame, spec.text, style, layout, condition, bbox, width_px, details)
