"""Objects of the filesystem object store, served through its signed, expiring URLs
(``?expires=&sig=``). The signature is the authorisation: it was handed out only after a
tenant-scoped, audited request (playback, export, snapshot)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query
from fastapi.responses import FileResponse

from streaming_service.api.deps import ServicesDep
from streaming_service.api.errors import ApiError
from streaming_service.api.routing import PrefixRouter

router = PrefixRouter(prefix="/api/streaming/media", tags=["media"])


@router.get("/{bucket}/{key:path}", summary="An object behind a signed URL")
async def media_object(
    bucket: str,
    key: str,
    services: ServicesDep,
    expires: Annotated[int, Query()],
    sig: Annotated[str, Query(max_length=128)],
) -> FileResponse:
    store = services.store
    verify = getattr(store, "verify_signature", None)
    path_for = getattr(store, "path_for", None)
    if verify is None or path_for is None:
        raise ApiError(404, "not_found", "this object store serves no local URLs")
    if not verify(bucket, key, expires, sig):
        raise ApiError(403, "invalid_signature", "the URL is invalid or has expired")
    path = path_for(bucket, key)
    if not path.is_file():
        raise ApiError(404, "not_found", "object not found")
    guess = getattr(store, "guess_content_type", None)
    media_type = guess(key) if guess else "application/octet-stream"
    return FileResponse(path, media_type=media_type,
                        headers={"Cache-Control": "private, max-age=300"})
