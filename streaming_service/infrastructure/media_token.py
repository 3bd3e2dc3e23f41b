"""Short-lived tokens for live HLS: players cannot send an Authorization header, so the
playlist URL carries ``?token=`` — an HMAC-SHA256 over camera, tenant, user, the user's
session version, the login session (the JWT's ``sid``) and expiry with
``GTV_MEDIA_TOKEN_SECRET``. A token grants one camera only, until it expires, its user's
sessions are revoked or its login session is ended by a logout (the API checks both
against the revocation list on every use)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import time
import uuid
from dataclasses import dataclass

from shared_kernel.signing import constant_time_equals

#: A login session id inside a token: base64url (an ASCII id of up to 64 characters, as
#: the admin service's JWTs carry, encodes to at most 86).
_SESSION_FIELD = re.compile(r"[0-9A-Za-z_-]{0,86}")


def _encode_session(session_id: str) -> str:
    return base64.urlsafe_b64encode(session_id.encode()).rstrip(b"=").decode()


def _decode_session(field: str) -> str:
    return base64.urlsafe_b64decode(field + "=" * (-len(field) % 4)).decode()


class InvalidMediaToken(Exception):
    pass


@dataclass(frozen=True)
class MediaGrant:
    camera_id: uuid.UUID
    tenant_id: uuid.UUID
    expires_at: int
    user_id: uuid.UUID
    session_version: int
    session_id: str | None = None


class MediaTokenSigner:
    def __init__(self, secret: str, ttl_seconds: int = 300) -> None:
        if len(secret) < 16:
            raise ValueError("GTV_MEDIA_TOKEN_SECRET must be set (at least 16 characters)")
        self._key = secret.encode()
        self.ttl_seconds = ttl_seconds

    def _mac(self, camera_id: uuid.UUID, tenant_id: uuid.UUID, user_id: uuid.UUID,
             session_version: int, session_id: str, expires_at: int) -> str:
        message = (f"live|{camera_id}|{tenant_id}|{user_id}|{session_version}|{session_id}"
                   f"|{expires_at}")
        digest = hmac.new(self._key, message.encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()

    def issue(
        self, camera_id: uuid.UUID, tenant_id: uuid.UUID, *, user_id: uuid.UUID,
        session_version: int = 0, session_id: str | None = None, now: float | None = None,
    ) -> str:
        sid = _encode_session(session_id or "")
        if not _SESSION_FIELD.fullmatch(sid):
            raise ValueError("a login session id is at most 64 ASCII characters")
        expires_at = int((now if now is not None else time.time()) + self.ttl_seconds)
        mac = self._mac(camera_id, tenant_id, user_id, session_version, sid, expires_at)
        return f"{tenant_id.hex}.{user_id.hex}.{session_version}.{sid}.{expires_at}.{mac}"

    def verify(self, token: str, camera_id: uuid.UUID, *, now: float | None = None) -> MediaGrant:
        """The grant for ``camera_id``, or :class:`InvalidMediaToken` when the token is
        malformed, for another camera, tampered with or expired. Whether its user's
        sessions were revoked since is for the caller to check (it needs Redis)."""
        try:
            tenant_hex, user_hex, version_text, sid, expiry_text, mac = token.split(".")
            tenant_id = uuid.UUID(hex=tenant_hex)
            user_id = uuid.UUID(hex=user_hex)
            session_version = int(version_text)
            expires_at = int(expiry_text)
            if not _SESSION_FIELD.fullmatch(sid):
                raise ValueError("bad session id")
            session_id = _decode_session(sid)
        except ValueError as exc:
            raise InvalidMediaToken("malformed media token") from exc
        expected = self._mac(camera_id, tenant_id, user_id, session_version, sid, expires_at)
        if not constant_time_equals(mac, expected):
            raise InvalidMediaToken("media token signature mismatch")
        if expires_at < (now if now is not None else time.time()):
            raise InvalidMediaToken("media token expired")
        return MediaGrant(camera_id, tenant_id, expires_at, user_id, session_version,
                          session_id or None)
