"""Live HLS of the embedded FFmpeg engine, served from ``<media_root>/live/<camera_id>/``.

Players cannot send headers, so the playlist URL carries a short-lived media token
(``?token=``); the playlist is rewritten so every segment (and init segment) URI carries
the same token. A viewer's JWT in the Authorization header is accepted too. Who may watch
is decided by the application's media-access policy, as for every engine.
"""

from __future__ import annotations

import re
import uuid
from typing import Annotated
from urllib.parse import quote

from fastapi import Query, Request
from fastapi.responses import FileResponse, Response

from shared_kernel.auth import Role
from streaming_service.api.deps import ServicesDep, actor_of, scoped_claims, verify_token
from streaming_service.api.errors import ApiError
from streaming_service.api.routing import PrefixRouter
from streaming_service.infrastructure.engines.ffmpeg.engine import live_dir

router = PrefixRouter(prefix="/api/streaming/live", tags=["live"])

_FILE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}\.(m3u8|ts|m4s|mp4)$")
_URI_ATTR = re.compile(r'URI="([^"]+)"')
CONTENT_TYPES = {
    "m3u8": "application/vnd.apple.mpegurl",
    "ts": "video/mp2t",
    "m4s": "video/iso.segment",
    "mp4": "video/mp4",
}


def rewrite_playlist(text: str, token: str) -> str:
    """Append ``token`` to every relative URI of an HLS playlist."""
    suffix = f"token={quote(token, safe='')}"

    def with_token(uri: str) -> str:
        if "://" in uri or uri.startswith("/"):
            return uri
        return f"{uri}{'&' if '?' in uri else '?'}{suffix}"

    lines = []
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped:
            lines.append(line)
        elif stripped.startswith("#"):
            lines.append(_URI_ATTR.sub(lambda m: f'URI="{with_token(m.group(1))}"', line))
        else:
            lines.append(with_token(stripped))
    return "\n".join(lines) + "\n"


async def _authorise(
    services: ServicesDep, request: Request, camera_id: uuid.UUID, token: str | None
) -> str:
    """The media token to put in rewritten URIs, after checking the caller may watch."""
    if token:
        await services.media_access.with_media_token(token, camera_id)
        return token
    authorization = request.headers.get("authorization", "")
    if not authorization.lower().startswith("bearer "):
        raise ApiError(401, "not_authenticated", "a media token or a bearer token is required")
    claims = await verify_token(services, authorization.split(" ", 1)[1].strip())
    if not claims.has_at_least(Role.VIEWER):
        raise ApiError(403, "permission_denied", "this action needs the viewer role")
    claims = await scoped_claims(services, claims, request)
    watch = await services.media_access.with_claims(claims, camera_id,
                                                    actor_of(claims, request))
    return watch.media_token


@router.get("/{camera_id}/{file_name}", summary="Live HLS playlist or segment",
            responses={200: {"content": {"application/vnd.apple.mpegurl": {}}}})
async def live_file(
    camera_id: uuid.UUID,
    file_name: str,
    request: Request,
    services: ServicesDep,
    token: Annotated[str | None, Query(max_length=256)] = None,
) -> Response:
    media_token = await _authorise(services, request, camera_id, token)
    match = _FILE.match(file_name)
    if match is None or ".." in file_name:
        raise ApiError(404, "not_found", "no such live file")
    path = live_dir(services.settings.media_root, camera_id) / file_name
    if not path.is_file():
        raise ApiError(404, "not_found", "the stream has no such file (not started yet?)")
    kind = match.group(1)
    if kind == "m3u8":
        body = rewrite_playlist(path.read_text(errors="replace"), media_token)
        return Response(body, media_type=CONTENT_TYPES[kind],
                        headers={"Cache-Control": "no-cache, no-store"})
    return FileResponse(path, media_type=CONTENT_TYPES[kind],
                        headers={"Cache-Control": "private, max-age=60"})
