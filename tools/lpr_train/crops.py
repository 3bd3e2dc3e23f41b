"""Training crops for the plate reader: rendered Brazilian plates, as the detector crops them.

Plates are drawn character cell by character cell in 25 faces (DejaVu, Noto, DIN and 14
more from Debian's fonts-* packages; never the evaluation set's Liberation, URW or
FreeFont faces: tools/lpr_eval, nor the held-out ones of ``face_check``), in both layouts
(Mercosul ``ABC1D23``, old ``ABC1234``), one row (cars) and two rows (motorcycles), in
the colours of private, commercial, official and special plates. Each plate is then
seen as a camera would see it: a random homography (yaw, pitch, roll), a plate width
of 60-320 px, a random surrounding, a box as loose or tight as the detector's plus the
pipeline's crop margin, and random degradations (motion blur, defocus, noise, low light,
IR greyscale, JPEG down to quality 20, glare, dirt). Deterministic for a seed.
"""

from __future__ import annotations

import functools
import string
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt
from PIL import Image, ImageDraw, ImageFont

from streaming_service.infrastructure.plate_line import LINE_H, LINE_W, plate_line

Array = npt.NDArray[np.uint8]
INPUT_H, INPUT_W = LINE_H, LINE_W
"""Crops are stored as the reader's input line (``plate_line``: two-row plates cut into
rows laid side by side), made from the crop exactly as the service makes it."""
ALPHABET = string.ascii_uppercase + string.digits
STYLES = ("mercosul", "old")

_DEJAVU = Path("/usr/share/fonts/truetype/dejavu")
_NOTO = Path("/usr/share/fonts/truetype/noto")
_TTF = Path("/usr/share/fonts/truetype")
_OTF = Path("/usr/share/fonts/opentype")
TRAIN_FONTS: dict[str, Path] = {
    "dejavu-sans-condensed-bold": _DEJAVU / "DejaVuSansCondensed-Bold.ttf",
    "dejavu-sans-bold": _DEJAVU / "DejaVuSans-Bold.ttf",
    "dejavu-sans-mono-bold": _DEJAVU / "DejaVuSansMono-Bold.ttf",
    "dejavu-serif-condensed-bold": _DEJAVU / "DejaVuSerifCondensed-Bold.ttf",
    "dejavu-sans-condensed": _DEJAVU / "DejaVuSansCondensed.ttf",
    "dejavu-sans-mono": _DEJAVU / "DejaVuSansMono.ttf",
    "noto-sans-bold": _NOTO / "NotoSans-Bold.ttf",
    "noto-sans-display-bold": _NOTO / "NotoSansDisplay-Bold.ttf",
    "noto-sans-regular": _NOTO / "NotoSans-Regular.ttf",
    "noto-serif-bold": _NOTO / "NotoSerif-Bold.ttf",
    # More faces (Debian fonts-*, tools/scripts/install_system.sh): DIN (the family of
    # the real plates' typefaces), condensed, geometric, humanist and monospaced ones.
    "open-din": _TTF / "opendin/OSP-DIN.ttf",
    "roboto-condensed-bold": _TTF / "roboto/unhinted/RobotoCondensed-Bold.ttf",
    "roboto-medium": _TTF / "roboto/unhinted/RobotoTTF/Roboto-Medium.ttf",
    "open-sans-condensed-bold": _TTF / "open-sans/OpenSans-CondBold.ttf",
    "open-sans-semibold": _TTF / "open-sans/OpenSans-Semibold.ttf",
    "bebas-neue-bold": _OTF / "bebas-neue/BebasNeue-Bold.otf",
    "league-spartan-bold": _OTF / "league-spartan/LeagueSpartan-Bold.otf",
    "inter-semibold": _OTF / "inter/Inter-SemiBold.otf",
    "manrope-bold": _TTF / "manrope/Manrope-Bold.ttf",
    "carlito-bold": _TTF / "crosextra/Carlito-Bold.ttf",
    "hack-bold": _TTF / "hack/Hack-Bold.ttf",
    "jetbrains-mono-bold": _TTF / "jetbrains-mono/JetBrainsMono-Bold.ttf",
    "fira-code-bold": _TTF / "firacode/FiraCode-Bold.ttf",
    "anonymous-pro-bold": _TTF / "anonymous-pro/Anonymous Pro B.ttf",
    "inconsolata": _TTF / "inconsolata/Inconsolata.otf",
}
#: Faces no reader is trained on, nor the evaluation set uses: a check of how a trained
#: reader does on faces it never saw (``tools.lpr_train.face_check``).
HELD_OUT_FONTS: dict[str, Path] = {
    "lato-bold": _TTF / "lato/Lato-Bold.ttf",
    "lato-heavy": _TTF / "lato/Lato-Heavy.ttf",
    "cantarell-bold": _OTF / "cantarell/Cantarell-Bold.otf",
    "b612-bold": _OTF / "b612/B612-Bold.otf",
    "b612-mono-bold": _OTF / "b612/B612Mono-Bold.otf",
}
_ALL_FONTS = {**TRAIN_FONTS, **HELD_OUT_FONTS}
MERCOSUL_INK = [(0, 0, 0), (190, 10, 10), (10, 30, 160), (0, 110, 40), (150, 120, 40)]
OLD_COLOURS = [  # (background, ink), RGB
    ((185, 188, 190), (10, 10, 10)),
    ((200, 200, 200), (20, 20, 20)),
    ((180, 20, 20), (240, 240, 240)),
    ((235, 235, 235), (10, 10, 10)),
    ((20, 20, 20), (210, 210, 210)),
    ((20, 90, 40), (240, 240, 240)),
]


def train_fonts(table: dict[str, Path] | None = None) -> list[str]:
    """The faces of ``table`` (the training faces); all must be installed, or a seed
    would draw other crops on another machine."""
    faces = TRAIN_FONTS if table is None else table
    missing = [str(path) for path in faces.values() if not path.exists()]
    if missing:
        raise RuntimeError(f"fonts missing: {missing}; run tools/scripts/install_system.sh")
    return list(faces)


@functools.lru_cache(maxsize=2048)
def _glyph(char: str, font: str, bold: int) -> Array:
    face = ImageFont.truetype(str(_ALL_FONTS[font]), 64)
    canvas = Image.new("L", (110, 110), 0)
    ImageDraw.Draw(canvas).text(
        (14, 8), char, font=face, fill=255, stroke_width=bold, stroke_fill=255
    )
    box = canvas.getbbox()
    return np.asarray(canvas.crop(box) if box else canvas, np.uint8)


def _cells(
    img: npt.NDArray[np.float32],
    text: str,
    font: str,
    ink: tuple[int, int, int],
    x0: float,
    x1: float,
    y: int,
    h: int,
    rng: np.random.Generator,
    bold: int,
) -> None:
    """Draw ``text`` in equal cells across [x0, x1] (``-``: a hyphen bar)."""
    n = len(text)
    pitch = (x1 - x0) / n
    cell_w = pitch * rng.uniform(0.72, 0.9)
    for i, ch in enumerate(text):
        cx = x0 + pitch * (i + 0.5)
        if ch == "-":
            bw, bh = cell_w * 0.5, max(1.0, h * 0.1)
            cv2.rectangle(
                img,
                (int(cx - bw / 2), int(y + h / 2 - bh / 2)),
                (int(cx + bw / 2), int(y + h / 2 + bh / 2)),
                ink,
                -1,
            )
            continue
        g = _glyph(ch, font, bold)
        natural = g.shape[1] * h / g.shape[0]
        gw = round(cell_w if natural > 0.55 * cell_w else natural)
        gw = max(1, gw)
        mask = cv2.resize(g, (gw, h), interpolation=cv2.INTER_AREA).astype(np.float32) / 255
        xs = round(cx - gw / 2)
        region = img[y : y + h, xs : xs + gw]
        a = mask[: region.shape[0], : region.shape[1], None]
        region[:] = region * (1 - a) + np.asarray(ink, np.float32) * a


def random_text(rng: np.random.Generator, style: str) -> str:
    letters, digits = string.ascii_uppercase, string.digits
    t = [letters[i] for i in rng.integers(0, 26, 3)] + [digits[rng.integers(10)]]
    t.append(letters[rng.integers(26)] if style == "mercosul" else digits[rng.integers(10)])
    t += [digits[i] for i in rng.integers(0, 10, 2)]
    return "".join(t)


def render(text: str, style: str, two_rows: bool, rng: np.random.Generator,
           faces: dict[str, Path] | None = None) -> Array:
    """A frontal plate, RGB, ~2 px per mm, in one of ``faces`` (the training faces)."""
    fonts = train_fonts(faces)
    font = fonts[int(rng.integers(len(fonts)))]
    bold = int(rng.integers(0, 3))
    w, h = (480, 156) if not two_rows else (240, 204)
    if style == "mercosul":
        img = np.full((h, w, 3), rng.uniform(225, 255), np.float32)
        band = int(h * rng.uniform(0.17, 0.24))
        img[:band] = (rng.uniform(0, 40), rng.uniform(30, 80), rng.uniform(130, 190))
        pil = Image.fromarray(img.astype(np.uint8))
        draw = ImageDraw.Draw(pil)
        face = ImageFont.truetype(str(_ALL_FONTS[fonts[0]]), max(8, int(band * 0.6)))
        draw.text((w // 2, band // 2), "BRASIL", font=face, fill=(255, 255, 255), anchor="mm")
        if rng.random() < 0.8:
            draw.rectangle(
                (w - band * 1.6, band * 0.2, w - band * 0.3, band * 0.8), fill=(0, 150, 60)
            )
            draw.ellipse(
                (band * 0.3, band * 0.2, band * 0.9, band * 0.8), outline=(255, 255, 255), width=3
            )
        img = np.asarray(pil, np.float32).copy()
        ink = MERCOSUL_INK[0 if rng.random() < 0.55 else int(rng.integers(len(MERCOSUL_INK)))]
        border = (20, 20, 20)
        top = band
    else:
        bg, ink = OLD_COLOURS[0 if rng.random() < 0.45 else int(rng.integers(len(OLD_COLOURS)))]
        img = np.full((h, w, 3), bg, np.float32) + rng.uniform(-15, 15)
        top = int(h * rng.uniform(0.17, 0.24))
        pil = Image.fromarray(np.clip(img, 0, 255).astype(np.uint8))
        face = ImageFont.truetype(
            str(_ALL_FONTS[fonts[int(rng.integers(len(fonts)))]]), max(8, int(top * 0.7))
        )
        town = (
            "".join(rng.choice(list(string.ascii_uppercase), int(rng.integers(4, 12))))
            + "-"
            + "".join(rng.choice(list(string.ascii_uppercase), 2))
        )
        ImageDraw.Draw(pil).text((w // 2, top // 2 + 2), town, font=face, fill=ink, anchor="mm")
        img = np.asarray(pil, np.float32).copy()
        border = ink
    margin = w * rng.uniform(0.03, 0.07)
    if not two_rows:
        th = int((h - top) * rng.uniform(0.62, 0.78))
        y = top + int((h - top - th) * rng.uniform(0.35, 0.65))
        shown = text if style == "mercosul" else text[:3] + "-" + text[3:]
        _cells(img, shown, font, ink, margin, w - margin, y, th, rng, bold)
    else:
        th = int((h - top) * rng.uniform(0.36, 0.44))
        gap = (h - top - 2 * th) / 3
        _cells(img, text[:3], font, ink, w * 0.2, w * 0.8, int(top + gap), th, rng, bold)
        _cells(img, text[3:], font, ink, margin, w - margin, int(top + 2 * gap + th), th, rng, bold)
    cv2.rectangle(img, (2, 2), (w - 3, h - 3), border, int(rng.integers(2, 9)))
    return np.clip(img, 0, 255).astype(np.uint8)


def _surround(rng: np.random.Generator, w: int, h: int) -> npt.NDArray[np.float32]:
    base = rng.uniform(0, 255, 3)
    img = np.empty((h, w, 3), np.float32)
    img[:] = base
    grad = np.linspace(rng.uniform(0.6, 1.0), rng.uniform(0.6, 1.2), h, dtype=np.float32)
    img *= grad[:, None, None]
    for _ in range(int(rng.integers(0, 4))):
        x, y = int(rng.integers(0, w)), int(rng.integers(0, h))
        cv2.rectangle(
            img,
            (x, y),
            (x + int(rng.integers(2, w // 2 + 3)), y + int(rng.integers(2, h // 2 + 3))),
            rng.uniform(0, 255, 3).tolist(),
            -1,
        )
    return img


def _blur_kernel(rng: np.random.Generator, width: float) -> npt.NDArray[np.float32] | None:
    kind = rng.random()
    if kind < 0.3:  # motion
        n = int(rng.integers(3, max(4, int(width * 0.035) + 4)))
        k = np.zeros((n, n), np.float32)
        k[n // 2] = 1
        rot = cv2.getRotationMatrix2D(((n - 1) / 2, (n - 1) / 2), float(rng.uniform(-90, 90)), 1)
        k = cv2.warpAffine(k, rot, (n, n))
        return k / max(float(k.sum()), 1e-6)
    if kind < 0.5:  # defocus disk
        r = int(rng.integers(1, max(2, int(width * 0.02) + 2)))
        k = np.zeros((2 * r + 1, 2 * r + 1), np.float32)
        cv2.circle(k, (r, r), r, 1.0, -1)
        return k / k.sum()
    return None


@dataclass(frozen=True)
class Crop:
    image: Array  # INPUT_H x INPUT_W x 3, BGR
    text: str
    style: str
    two_rows: bool
    crop: Array  # the crop as the detector and the pipeline's margin cut it, BGR


def make_crop(rng: np.random.Generator, faces: dict[str, Path] | None = None) -> Crop:
    style = STYLES[int(rng.integers(2))]
    two_rows = bool(rng.random() < 0.3)
    text = random_text(rng, style)
    plate = render(text, style, two_rows, rng, faces)[..., ::-1].astype(np.float32)
    ph, pw = plate.shape[:2]
    target_w = (
        float(np.exp(rng.uniform(np.log(55), np.log(320))))
        if not two_rows
        else float(np.exp(rng.uniform(np.log(50), np.log(180))))
    )
    hard = rng.random() < 0.5
    yaw = rng.uniform(-40, 40) if hard else rng.uniform(-12, 12)
    pitch = rng.uniform(-15, 15) if hard else rng.uniform(-5, 5)
    roll = rng.uniform(-18, 18) if hard else rng.uniform(-4, 4)
    # Corners after rotation (weak perspective with a random focal length).
    y_, p_, r_ = np.radians([yaw, pitch, roll])
    ry = np.array([[np.cos(y_), 0, np.sin(y_)], [0, 1, 0], [-np.sin(y_), 0, np.cos(y_)]])
    rx = np.array([[1, 0, 0], [0, np.cos(p_), -np.sin(p_)], [0, np.sin(p_), np.cos(p_)]])
    rz = np.array([[np.cos(r_), -np.sin(r_), 0], [np.sin(r_), np.cos(r_), 0], [0, 0, 1]])
    half = np.array(
        [[-pw / 2, -ph / 2, 0], [pw / 2, -ph / 2, 0], [pw / 2, ph / 2, 0], [-pw / 2, ph / 2, 0]]
    )
    cam = half @ (rz @ rx @ ry).T
    depth = pw * rng.uniform(2.0, 6.0)
    xy = cam[:, :2] * depth / (cam[:, 2:3] + depth)
    xy *= target_w / pw
    # The detector's box: the quad's bounds, jittered, plus the pipeline's margin.
    x0, y0 = xy.min(axis=0)
    x1, y1 = xy.max(axis=0)
    bw, bh = x1 - x0, y1 - y0
    jx0, jx1 = rng.uniform(-0.06, 0.1, 2) * bw
    jy0, jy1 = rng.uniform(-0.08, 0.15, 2) * bh
    bx0, bx1 = x0 - jx0 - 0.04 * bw, x1 + jx1 + 0.04 * bw
    by0, by1 = y0 - jy0 - 0.1 * bh, y1 + jy1 + 0.1 * bh
    cw, ch = max(8, int(np.ceil(bx1 - bx0))), max(6, int(np.ceil(by1 - by0)))
    quad = (xy - np.array([bx0, by0])).astype(np.float32)
    src = np.array([[0, 0], [pw, 0], [pw, ph], [0, ph]], np.float32)
    hom = cv2.getPerspectiveTransform(src, quad)
    canvas = _surround(rng, cw, ch)
    warped = cv2.warpPerspective(plate, hom, (cw, ch), flags=cv2.INTER_AREA)
    alpha = cv2.warpPerspective(np.ones((ph, pw), np.float32), hom, (cw, ch))[..., None]
    img = canvas * (1 - alpha) + warped * alpha
    # Degradations, at the crop's own resolution.
    if rng.random() < 0.25:  # dirt
        for _ in range(int(rng.integers(2, 9))):
            c = (int(rng.uniform(0, cw)), int(rng.uniform(0, ch)))
            ov = img.copy()
            cv2.ellipse(
                ov,
                c,
                (
                    max(1, int(rng.uniform(0.02, 0.12) * cw)),
                    max(1, int(rng.uniform(0.05, 0.25) * ch)),
                ),
                float(rng.uniform(0, 180)),
                0,
                360,
                rng.uniform(20, 110, 3).tolist(),
                -1,
            )
            a = rng.uniform(0.2, 0.55)
            img = img * (1 - a) + ov * a
    if rng.random() < 0.15:  # glare
        yy, xx = np.mgrid[0:ch, 0:cw].astype(np.float32)
        cx, cy, s = rng.uniform(0, cw), rng.uniform(0, ch), cw * rng.uniform(0.08, 0.3)
        img = (
            img
            + (np.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / (2 * s * s)) * rng.uniform(60, 180))[
                ..., None
            ]
        )
    k = _blur_kernel(rng, target_w)
    if k is not None:
        img = cv2.filter2D(img, -1, k)
    img = cv2.GaussianBlur(img, (0, 0), float(rng.uniform(0.2, 0.9)))
    light = rng.random()
    if light < 0.15:
        img = img * rng.uniform(0.15, 0.4)
    elif light < 0.3:
        img = img * rng.uniform(1.0, 1.5) + rng.uniform(0, 40)
    if rng.random() < 0.2:  # IR / monochrome camera
        grey = cv2.cvtColor(np.clip(img, 0, 255).astype(np.uint8), cv2.COLOR_BGR2GRAY).astype(
            np.float32
        )
        img = np.repeat(grey[..., None], 3, axis=2)
        if rng.random() < 0.5:
            img = 255 * (img / 255) ** rng.uniform(0.5, 1.5)
    img = img + rng.normal(0, rng.uniform(0, 14), img.shape).astype(np.float32)
    crop = np.clip(img, 0, 255).astype(np.uint8)
    q = int(rng.integers(20, 96)) if rng.random() < 0.7 else 100
    if q < 100:
        crop = cv2.imdecode(
            cv2.imencode(".jpg", crop, [cv2.IMWRITE_JPEG_QUALITY, q])[1], cv2.IMREAD_COLOR
        )
    return Crop(plate_line(crop), text, style, two_rows, crop)


def make_crops(
    n: int, seed: int, start: int = 0
) -> tuple[Array, npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """``n`` crops (N x H x W x 3), labels (N x 7 indices into ALPHABET), styles (N)."""
    images = np.empty((n, INPUT_H, INPUT_W, 3), np.uint8)
    labels = np.empty((n, 7), np.int64)
    styles = np.empty((n,), np.int64)
    for i in range(n):
        c = make_crop(np.random.default_rng([seed, start + i]))
        images[i] = c.image
        labels[i] = [ALPHABET.index(ch) for ch in c.text]
        styles[i] = STYLES.index(c.style) + 2 * int(c.two_rows)
    return images, labels, styles
