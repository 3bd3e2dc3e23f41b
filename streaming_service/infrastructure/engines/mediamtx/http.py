"""Endpoints MediaMTX calls: the HTTP auth check of a viewer reading a path, and the
recording segment-complete hook. Both are for MediaMTX only: the gateways refuse
``/api/streaming/mediamtx/*``, and every call must present the shared hook token
(``GTV_MEDIAMTX_HOOK_TOKEN``), compared in constant time. MediaMTX sends it as the
``X-GTV-Hook-Token`` header from the segment hook command, and as HTTP Basic auth
credentials in ``authHTTPAddress`` (MediaMTX cannot add headers to its auth calls)."""

from __future__ import annotations

import base64
import binascii
import logging

from fastapi import Depends, Request
from fastapi.responses import JSONResponse, Response

from shared_kernel.auth import InvalidToken, TokenClaims
from shared_kernel.signing import constant_time_equals
from streaming_service.api.deps import ServicesDep
from streaming_service.api.errors import ApiError, error_response
from streaming_service.api.routing import PrefixRouter
from streaming_service.application.audit import Actor
from streaming_service.application.media_access import MediaAction
from streaming_service.domain.errors import MediaAccessDenied
from streaming_service.infrastructure.engines.mediamtx.engine import MediaMtxEngine
from streaming_service.infrastructure.engines.mediamtx.hooks import (
    MediaMtxAuthAction,
    MediaMtxAuthRequest,
    SegmentCompleteHook,
)
from streaming_service.infrastructure.engines.mediamtx.paths import camera_id_from_path_name
from streaming_service.settings import StreamingSettings

log = logging.getLogger(__name__)

HOOK_TOKEN_HEADER = "X-GTV-Hook-Token"  # noqa: S105 - a header name, not a secret


def _presented_hook_token(request: Request) -> str | None:
    header = request.headers.get(HOOK_TOKEN_HEADER)
    if header:
        return header
    scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "basic" and credentials:
        try:
            decoded = base64.b64decode(credentials, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return None
        return decoded.partition(":")[2] or None
    return None


async def require_hook_token(request: Request, services: ServicesDep) -> None:
    """Only MediaMTX knows the hook token; anything else gets 403 before any lookup."""
    expected = services.settings.mediamtx_hook_token.get_secret_value()
    presented = _presented_hook_token(request) or ""
    if not expected or not constant_time_equals(presented, expected):
        log.warning("mediamtx hook call refused", extra={"path": request.url.path})
        raise ApiError(403, "permission_denied", "this endpoint is for the media engine only")


router = PrefixRouter(prefix="/api/streaming/mediamtx", tags=["mediamtx"],
                      include_in_schema=False, dependencies=[Depends(require_hook_token)])


_ACTIONS = {
    MediaMtxAuthAction.READ: MediaAction.READ,
    MediaMtxAuthAction.PLAYBACK: MediaAction.PLAYBACK,
    MediaMtxAuthAction.PUBLISH: MediaAction.PUBLISH,
}


@router.post("/auth")
async def mediamtx_auth(body: MediaMtxAuthRequest, services: ServicesDep) -> Response:
    """MediaMTX asks before a player reads a path: the media-access policy decides. This
    service's own playback client (event clips) presents the configured playback user
    with the hook token (or the configured playback password) and may play back any
    camera path."""
    if _is_clip_client(body, services.settings):
        return Response(status_code=200)
    token = body.bearer_token()
    claims: TokenClaims | None = None
    if token:
        try:
            claims = await services.verifier.averify(token, services.denylist)
        except InvalidToken:
            claims = None  # maybe a media token: the policy tries that first
    try:
        await services.media_access.allow_engine_read(
            action=_ACTIONS.get(body.action, MediaAction.OTHER),
            camera_id=camera_id_from_path_name(body.path), media_token=token, claims=claims,
            actor=Actor.from_claims(claims, ip=body.ip[:64] or None) if claims else None,
        )
    except MediaAccessDenied as denied:
        return error_response(401 if denied.needs_credentials else 403, denied.code,
                              denied.message)
    return Response(status_code=200)


def _is_clip_client(body: MediaMtxAuthRequest, settings: StreamingSettings) -> bool:
    if body.action != MediaMtxAuthAction.PLAYBACK or not settings.mediamtx_playback_user:
        return False
    if body.user != settings.mediamtx_playback_user or camera_id_from_path_name(body.path) is None:
        return False
    expected = (settings.mediamtx_playback_password
                or settings.mediamtx_hook_token).get_secret_value()
    return bool(expected) and constant_time_equals(body.password, expected)


@router.post("/segment-complete", status_code=202)
async def segment_complete(body: SegmentCompleteHook, services: ServicesDep) -> JSONResponse:
    engine = services.engine
    if not isinstance(engine, MediaMtxEngine):  # mounted only with it; a guard for tests
        raise ApiError(409, "wrong_engine", "this instance does not run the MediaMTX engine")
    try:
        segment = await engine.handle_segment_complete(
            body, services.settings.mediamtx_record_local_root)
    except ValueError as exc:
        raise ApiError(400, "invalid_segment", str(exc)) from exc
    return JSONResponse({"camera_id": str(segment.camera_id),
                         "started_at": segment.started_at.isoformat()}, status_code=202)
