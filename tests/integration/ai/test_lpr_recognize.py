"""POST /api/ai/lpr/recognize: upload checks (401/400/413/415 in the error shape) and a
real recognition (shipped ONNX detector + PP-OCR) of synthetic frames."""

from __future__ import annotations

import io
from typing import Any

import cv2
import httpx
import numpy as np
import pytest
from PIL import Image

from tools.lpr_dataset.scene import make_sample

URL = "/api/ai/lpr/recognize"


def _jpeg(image: np.ndarray) -> bytes:
    ok, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 92])
    assert ok
    return data.tobytes()


def _error(response: httpx.Response, status: int) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body["error"]) == {"code", "message", "details"}
    return str(body["error"]["code"])


async def test_anonymous_upload_is_401(http: httpx.AsyncClient) -> None:
    response = await http.post(URL, files={"image": ("a.jpg", b"x", "image/jpeg")})
    _error(response, 401)


async def test_wrong_content_types_are_415(http: httpx.AsyncClient, make_caller: Any) -> None:
    caller = make_caller("viewer")
    as_json = await http.post(URL, headers=caller.headers, json={"image": "..."})
    assert _error(as_json, 415) == "unsupported_media_type"
    as_text = await http.post(URL, headers=caller.headers,
                              files={"image": ("a.txt", b"hello", "text/plain")})
    assert _error(as_text, 415) == "unsupported_media_type"


async def test_an_image_part_without_a_type_is_judged_by_its_bytes(
    http: httpx.AsyncClient, make_caller: Any,
) -> None:
    caller = make_caller("viewer")
    png, gif = io.BytesIO(), io.BytesIO()
    Image.new("RGB", (320, 240)).save(png, "PNG")
    Image.new("RGB", (320, 240)).save(gif, "GIF")
    for content_type in (None, "application/octet-stream"):
        part = ("photo", png.getvalue()) if content_type is None else (
            "photo", png.getvalue(), content_type)
        read = await http.post(URL, headers=caller.headers, files={"image": part})
        assert read.status_code == 200, read.text
        assert read.json()["width"] == 320
    refused = await http.post(URL, headers=caller.headers,
                              files={"image": ("photo", gif.getvalue())})
    assert _error(refused, 415) == "unsupported_media_type"
    # A named type does not let other bytes through: a GIF called a PNG is still a GIF.
    mislabelled = await http.post(URL, headers=caller.headers,
                                  files={"image": ("a.png", gif.getvalue(), "image/png")})
    assert _error(mislabelled, 415) == "unsupported_media_type"


async def test_missing_field_and_undecodable_images_are_400(http: httpx.AsyncClient,
                                                            make_caller: Any) -> None:
    caller = make_caller("viewer")
    missing = await http.post(URL, headers=caller.headers,
                              files={"photo": ("a.jpg", b"\xff\xd8", "image/jpeg")})
    assert _error(missing, 400) == "validation_error"
    junk = await http.post(URL, headers=caller.headers,
                           files={"image": ("a.jpg", b"not an image at all", "image/jpeg")})
    assert _error(junk, 400) == "invalid_image"
    empty = await http.post(URL, headers=caller.headers,
                            files={"image": ("a.jpg", b"", "image/jpeg")})
    assert _error(empty, 400) == "invalid_image"
    tiny = io.BytesIO()
    Image.new("RGB", (8, 8)).save(tiny, "PNG")
    small = await http.post(URL, headers=caller.headers,
                            files={"image": ("a.png", tiny.getvalue(), "image/png")})
    assert _error(small, 400) == "invalid_image"


async def test_huge_uploads_and_pixel_bombs_are_413(http: httpx.AsyncClient,
                                                    make_caller: Any) -> None:
    caller = make_caller("viewer")
    big = b"\xff\xd8" + b"\0" * (9 * 1024 * 1024)
    response = await http.post(URL, headers=caller.headers,
                               files={"image": ("big.jpg", big, "image/jpeg")})
    assert _error(response, 413) == "payload_too_large"
    bomb = io.BytesIO()
    Image.new("1", (9000, 5000)).save(bomb, "PNG")  # 45 Mpx in a few kB
    assert len(bomb.getvalue()) < 1024 * 1024
    response = await http.post(URL, headers=caller.headers,
                               files={"image": ("bomb.png", bomb.getvalue(), "image/png")})
    assert _error(response, 413) == "image_too_large"


@pytest.mark.parametrize("seed", [0, 2])
async def test_recognises_the_plate_on_a_synthetic_frame(http: httpx.AsyncClient, make_caller: Any,
                                                         seed: int) -> None:
    caller = make_caller("viewer")
    sample = make_sample(np.random.default_rng(seed), (960, 540), hard=False,
                         night_fraction=0.0)
    response = await http.post(URL, headers=caller.headers, timeout=60,
                               files={"image": ("frame.jpg", _jpeg(sample.image), "image/jpeg")})
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["width"], body["height"]) == (960, 540)
    found = {p["plate"]: p for p in body["plates"]}
    assert sample.text in found, (sample.text, body["plates"])
    plate = found[sample.text]
    assert plate["plate_style"] == sample.style and 0 < plate["confidence"] <= 1
    x1, y1, x2, y2 = plate["bbox"]
    bx1, by1, bx2, by2 = sample.bbox
    # The detected box overlaps the plate's true box.
    assert x1 < bx2 and bx1 < x2 and y1 < by2 and by1 < y2
