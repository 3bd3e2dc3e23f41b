"""Who may watch a camera's live media: one policy for every engine.

Live media is reached two ways: the FFmpeg engine's HLS files served by this service,
and a media server (MediaMTX) asking this service, through its auth hook, whether a
player may read a path. Both ask :class:`MediaAccess`:

* a **media token** (``?token=`` on URLs this service handed out) is good for its one
  camera until it expires or its user's sessions are revoked;
* a **bearer JWT** (already verified by the caller: signature, expiry, revocation) is
  good for a viewer (or above) of the camera's tenant; the view is audited (once per
  audit window) and answered with a fresh media token of the caller's.

Nobody publishes: engines pull the cameras themselves.
"""

from __future__ import annotations

import enum
import uuid
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared_kernel.auth import Role, TokenClaims
from streaming_service.application.audit import Actor, AuditTrail
from streaming_service.domain.errors import CameraNotFound, MediaAccessDenied
from streaming_service.infrastructure.db.repository import get_camera
from streaming_service.infrastructure.media_token import (
    InvalidMediaToken,
    MediaGrant,
    MediaTokenSigner,
)

# The code of every refusal answered to a media server's auth hook.
DENIED = "mediamtx_auth_denied"


class MediaAction(enum.StrEnum):
    READ = "read"
    PLAYBACK = "playback"
    PUBLISH = "publish"
    OTHER = "other"


class SessionRevocations(Protocol):
    async def sessions_revoked(self, user_id: uuid.UUID, session_version: int,
                               session_id: str | None = None) -> bool: ...


@dataclass(frozen=True)
class MediaWatch:
    """A granted view: the camera's tenant and the media token for its URLs."""

    camera_id: uuid.UUID
    tenant_id: uuid.UUID
    media_token: str


class MediaAccess:
    def __init__(
        self,
        *,
        sessions: async_sessionmaker[AsyncSession],
        signer: MediaTokenSigner,
        revocations: SessionRevocations,
        audit: AuditTrail,
    ) -> None:
        self._sessions = sessions
        self._signer = signer
        self._revocations = revocations
        self._audit = audit

    async def with_media_token(self, token: str, camera_id: uuid.UUID) -> MediaGrant:
        """The grant a media token carries for ``camera_id``, if it still holds."""
        try:
            grant = self._signer.verify(token, camera_id)
        except InvalidMediaToken as exc:
            raise MediaAccessDenied("invalid_media_token", "invalid or expired media token",
                                    needs_credentials=True) from exc
        if await self._revocations.sessions_revoked(grant.user_id, grant.session_version,
                                                    grant.session_id):
            raise MediaAccessDenied("invalid_media_token", "the media token has been revoked",
                                    needs_credentials=True)
        return grant

    async def with_claims(self, claims: TokenClaims, camera_id: uuid.UUID,
                          actor: Actor) -> MediaWatch:
        """A viewer of the camera's tenant watches: audited, answered with a media token.
        ``claims`` are verified and scoped to one tenant by the caller; a camera of
        another tenant is unknown (404), never forbidden."""
        if not claims.has_at_least(Role.VIEWER):
            raise MediaAccessDenied("permission_denied", "this action needs the viewer role",
                                    needs_credentials=False)
        if claims.tenant_id is None:
            raise MediaAccessDenied("tenant_required", "the token names no tenant",
                                    needs_credentials=False)
        async with self._sessions() as session:
            camera = await get_camera(session, camera_id, claims.tenant_id)
        await self._audit.record_view(actor, "live.view", object_type="camera",
                                      object_id=camera.id, tenant_id=camera.tenant_id)
        token = self._signer.issue(camera.id, camera.tenant_id, user_id=actor.user_id,
                                   session_version=actor.session_version,
                                   session_id=actor.session_id)
        return MediaWatch(camera.id, camera.tenant_id, token)

    async def allow_engine_read(
        self, *, action: MediaAction, camera_id: uuid.UUID | None, media_token: str | None,
        claims: TokenClaims | None, actor: Actor | None,
    ) -> None:
        """A media server's question: may this player ``action`` this camera's path?
        Raises :class:`MediaAccessDenied` when not. ``claims`` are the verified JWT the
        player presented, if any (``actor`` describes it)."""
        if action not in (MediaAction.READ, MediaAction.PLAYBACK):
            raise MediaAccessDenied(DENIED, f"action {action.value} is not allowed",
                                    needs_credentials=False)
        if camera_id is None:
            raise MediaAccessDenied(DENIED, "unknown path", needs_credentials=False)
        if media_token:
            try:
                await self.with_media_token(media_token, camera_id)
            except MediaAccessDenied:
                pass  # maybe it is a JWT (MediaMTX cannot tell them apart)
            else:
                return
        if claims is None or actor is None:
            # 401 makes the media server ask the player for credentials.
            raise MediaAccessDenied(DENIED, "a valid token is required", needs_credentials=True)
        try:
            await self.with_claims(claims, camera_id, actor)
        except CameraNotFound as exc:
            raise MediaAccessDenied(DENIED, "camera belongs to another tenant",
                                    needs_credentials=False) from exc
        except MediaAccessDenied as exc:
            raise MediaAccessDenied(DENIED, exc.message, needs_credentials=False) from exc
