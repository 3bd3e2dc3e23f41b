"""``POST /api/ai/lpr/recognize``: find and read the plates on one uploaded image.

Checked before any decoding: the body's size (413, by ``api.middleware.BodySizeLimit``
with :func:`upload_body_limit`, before the route runs), the part's content type (415),
the image's real size while reading (413), then the image header's dimensions (a
decompression bomb is refused, 413) and that it decodes at all (400). Recognition runs in a worker
thread so the event loop keeps serving.
"""

from __future__ import annotations

import asyncio
import io
import time
from typing import Any

import cv2
import numpy as np
from fastapi import Request
from PIL import Image as PilImage
from starlette.datastructures import UploadFile

from streaming_service.api.ai.schemas import PlateFoundOut, RecognizeOut
from streaming_service.api.deps import ServicesDep, ViewerDep, actor_of
from streaming_service.api.errors import ApiError
from streaming_service.api.routing import PrefixRouter
from streaming_service.domain.ai.ports import Image, PlateRecogniser

router = PrefixRouter(prefix="/api/ai/lpr", tags=["lpr"])

ACCEPTED_TYPES = frozenset({"image/jpeg", "image/jpg", "image/png", "image/webp", "image/bmp"})
#: A part without a type of its own (curl's ``-F image=@file`` on an unknown extension,
#: some clients always): the image's own bytes say what it is.
UNTYPED = frozenset({"", "application/octet-stream"})
#: The decoder's names of the accepted types (a phone's JPEG with a multi-picture header
#: is "MPO").
ACCEPTED_FORMATS = frozenset({"JPEG", "MPO", "PNG", "WEBP", "BMP"})
RECOGNIZE_PATH = "/api/ai/lpr/recognize"
# Multipart framing around the file: boundaries and part headers.
MULTIPART_OVERHEAD = 64 * 1024
_CHUNK = 256 * 1024

_UPLOAD_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["image"],
                    "properties": {"image": {
                        "type": "string", "format": "binary",
                        "description": "JPEG, PNG, WebP or BMP (a part without a type of "
                                       "its own is judged by its bytes)"}},
                },
                "encoding": {"image": {"contentType": ", ".join(sorted(ACCEPTED_TYPES))}},
            }
        },
    }
}


def upload_body_limit(image_limit: int) -> int:
    """The body size limit of the upload route: the image plus its multipart framing."""
    return image_limit + MULTIPART_OVERHEAD


def _too_large(limit: int) -> ApiError:
    return ApiError(413, "payload_too_large", f"the image is larger than {limit} bytes",
                    {"max_bytes": limit})


async def _read_capped(upload: UploadFile, limit: int) -> bytes:
    buffer = bytearray()
    while chunk := await upload.read(_CHUNK):
        buffer.extend(chunk)
        if len(buffer) > limit:
            raise _too_large(limit)
    return bytes(buffer)


def decode_image(data: bytes, max_pixels: int) -> Image:
    """BGR array of an uploaded image; ApiError 400/413 when it is not a sane image, 415
    when its bytes are not one of the accepted kinds (whatever type the upload named)."""
    try:
        with PilImage.open(io.BytesIO(data)) as probe:
            width, height = probe.size
            found = probe.format
    except Exception as exc:
        raise ApiError(400, "invalid_image", "the upload is not a decodable image") from exc
    if found not in ACCEPTED_FORMATS:
        raise ApiError(415, "unsupported_media_type", "the image must be JPEG, PNG, WebP or "
                       "BMP", {"format": found, "accepted": sorted(ACCEPTED_TYPES)})
    if width * height > max_pixels:
        raise ApiError(413, "image_too_large", "the image has too many pixels",
                       {"width": width, "height": height, "max_pixels": max_pixels})
    frame = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    if frame is None or frame.size == 0:
        raise ApiError(400, "invalid_image", "the upload is not a decodable image")
    return frame.astype(np.uint8, copy=False)


def _recognise(recogniser: PlateRecogniser, data: bytes, max_pixels: int) -> RecognizeOut:
    started = time.perf_counter()
    frame = decode_image(data, max_pixels)
    try:
        reads = recogniser.recognise(frame)
    except ValueError as exc:  # e.g. an image too small to hold a plate
        raise ApiError(400, "invalid_image", str(exc)[:200]) from exc
    return RecognizeOut(
        width=int(frame.shape[1]),
        height=int(frame.shape[0]),
        plates=[
            PlateFoundOut(plate=r.plate.value, plate_style=r.plate.style,
                          confidence=round(r.confidence, 4), bbox=r.bbox.as_list(),
                          raw_text=r.raw_text)
            for r in reads
        ],
        elapsed_ms=round((time.perf_counter() - started) * 1000, 1),
    )


@router.post("/recognize", response_model=RecognizeOut, openapi_extra=_UPLOAD_BODY,
             summary="Plates on an uploaded image (multipart field 'image')")
async def recognize(request: Request, claims: ViewerDep, services: ServicesDep) -> RecognizeOut:
    limit = services.settings.lpr_upload_max_bytes
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        raise ApiError(415, "unsupported_media_type",
                       "send the image as multipart/form-data in the field 'image'")
    async with request.form(max_files=1, max_fields=4) as form:
        upload = form.get("image")
        if not isinstance(upload, UploadFile):
            raise ApiError(400, "validation_error", "the multipart field 'image' is missing",
                           {"field": "image"})
        content_type = (upload.content_type or "").split(";")[0].strip().lower()
        if content_type not in ACCEPTED_TYPES | UNTYPED:
            raise ApiError(415, "unsupported_media_type", "the image must be JPEG, PNG, "
                           "WebP or BMP", {"content_type": content_type,
                                           "accepted": sorted(ACCEPTED_TYPES)})
        data = await _read_capped(upload, limit)
    if not data:
        raise ApiError(400, "invalid_image", "the image is empty")
    if services.recogniser is None:
        raise ApiError(503, "lpr_unavailable", "plate recognition is not configured")
    result = await asyncio.to_thread(_recognise, services.recogniser, data,
                                     services.settings.lpr_upload_max_pixels)
    # The plates read are personal data: who read which is audited before they leave.
    await services.audit.record(
        actor_of(claims, request), "lpr.recognize", object_type="image", object_id=None,
        tenant_id=claims.tenant_id,
        after={"plates": [p.plate for p in result.plates][:20], "bytes": len(data)})
    return result
