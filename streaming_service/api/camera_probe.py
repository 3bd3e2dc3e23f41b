"""``POST /api/streaming/cameras/probe``: “Testar conexão” for the admin console's camera
form (tenant admins and superadmins; the URL is never stored, returned or logged)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import Depends, Request
from pydantic import BaseModel, Field, field_validator

from shared_kernel.auth import Role, TokenClaims
from streaming_service.api.deps import ClaimsDep, ServicesDep, actor_of
from streaming_service.api.errors import ApiError
from streaming_service.api.routing import PrefixRouter
from streaming_service.api.validation import OneLine, RequestModel

router = PrefixRouter(prefix="/api/streaming/cameras", tags=["cameras"])

MAX_URL_LENGTH = 2048


class ProbeIn(RequestModel):
    rtsp_url: OneLine = Field(max_length=MAX_URL_LENGTH,
                              description="rtsp:// or rtsps:// URL, credentials allowed")

    @field_validator("rtsp_url")
    @classmethod
    def _rtsp(cls, value: str) -> str:
        if not value.lower().startswith(("rtsp://", "rtsps://")) or len(value) < 9:
            raise ValueError("must be an rtsp:// or rtsps:// URL with a host")
        return value


class ProbeOut(BaseModel):
    ok: bool
    reason: Literal["unreachable", "auth_failed", "not_a_stream", "timeout",
                    "address_not_allowed", "stream_error"] | None = None
    video_codec: str | None = None
    width: int | None = None
    height: int | None = None
    fps: float | None = None
    format_name: str | None = None


async def _prober(claims: ClaimsDep) -> TokenClaims:
    """A tenant admin or a superadmin (who needs no tenant here: the probe touches no
    tenant's data). A dependency, so that the role is refused before the body is validated
    (a lower role learns nothing of its schema)."""
    if not claims.has_at_least(Role.TENANT_ADMIN):
        raise ApiError(403, "permission_denied", "this action needs the tenant_admin role",
                       {"required_role": Role.TENANT_ADMIN.value})
    return claims


@router.post("/probe", response_model=ProbeOut,
             summary="Test a camera URL: codec, size and frame rate, or why it failed")
async def probe_camera(body: ProbeIn, claims: Annotated[TokenClaims, Depends(_prober)],
                       services: ServicesDep, request: Request) -> ProbeOut:
    outcome = await services.camera_probe.run(body.rtsp_url, tenant_id=claims.tenant_id,
                                              actor=actor_of(claims, request))
    if not outcome.ok or outcome.stream is None:
        return ProbeOut(ok=False, reason=outcome.reason.value if outcome.reason else None)
    s = outcome.stream
    return ProbeOut(ok=True, video_codec=s.video_codec, width=s.width, height=s.height,
                    fps=s.fps, format_name=s.format_name)
