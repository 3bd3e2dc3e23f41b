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

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response

from shared_kernel.auth import InvalidToken, TokenClaims
from shared_kernel.signing import constant_time_equals
from streaming_service.api.deps import ServicesDep
from streaming_service.api.errors import ApiError, error_response
from streaming_service.application.audit import Actor
from streaming_service.domain.errors import CameraNotFound
from streaming_service.infrastructure.db.repository import get_camera
from streaming_service.infrastructure.media_token import InvalidMediaToken
from streaming_service.infrastructure.mediamtx import (
    MediaMtxAuthAction,
    MediaMtxAuthRequest,
    SegmentCompleteHook,
    camera_id_from_path_name,
    decide_auth,
)

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


router = APIRouter(prefix="/api/streaming/mediamtx", tags=["mediamtx"], include_in_schema=False,
                   dependencies=[Depends(require_hook_token)])


@router.post("/auth")
async def mediamtx_auth(body: MediaMtxAuthRequest, services: ServicesDep) -> Response:
    camera_id = camera_id_from_path_name(body.path)
    camera_tenant = None
    if camera_id is not None:
        async with services.sessions() as session:
            try:
                camera_tenant = (await get_camera(session, camera_id, None)).tenant_id
            except CameraNotFound:
                camera_tenant = None
    token = body.bearer_token()
    # The URLs this service hands out carry a media token, not a JWT.
    if (token and camera_id is not None and camera_tenant is not None
            and body.action in (MediaMtxAuthAction.READ, MediaMtxAuthAction.PLAYBACK)):
        try:
            grant = services.signer.verify(token, camera_id)
        except InvalidMediaToken:
            pass
        else:
            if grant.tenant_id == camera_tenant and not await services.denylist.sessions_revoked(
                    grant.user_id, grant.session_version):
                return Response(status_code=200)
    claims: TokenClaims | None = None
    if token:
        try:
            claims = await services.verifier.averify(token, services.denylist)
        except InvalidToken:
            claims = None
    decision = decide_auth(body, claims, camera_tenant)
    if decision.allowed and claims is not None and camera_id is not None:
        # A player reading with its JWT (not a media token from an audited start).
        await services.audit.record_view(
            Actor.from_claims(claims, ip=body.ip[:64] or None), "live.view", object_type="camera",
            object_id=camera_id, tenant_id=camera_tenant)
        return Response(status_code=200)
    return error_response(decision.status_code, "mediamtx_auth_denied", decision.reason)


@router.post("/segment-complete", status_code=202)
async def segment_complete(body: SegmentCompleteHook, services: ServicesDep) -> JSONResponse:
    engine = services.engine
    handle = getattr(engine, "handle_segment_complete", None)
    if handle is None:
        raise ApiError(409, "wrong_engine", "this instance does not run the MediaMTX engine")
    try:
        segment = await handle(body, services.settings.mediamtx_record_local_root)
    except ValueError as exc:
        raise ApiError(400, "invalid_segment", str(exc)) from exc
    return JSONResponse({"camera_id": str(segment.camera_id),
                         "started_at": segment.started_at.isoformat()}, status_code=202)
