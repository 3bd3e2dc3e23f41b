"""DRF authentication with the same verifier the streaming service uses.

Signature, expiry, issuer, audience and algorithm (RS256 only) are checked by
``shared_kernel.auth.JWTVerifier``; the Redis denylist refuses tokens revoked at logout.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import redis
from config.exceptions import ServiceUnavailable
from config.redis import get_redis
from django.conf import settings
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.request import Request

from accounts.models import User
from shared_kernel.auth import InvalidToken, JWTVerifier, RedisDenylist, TokenClaims


@lru_cache(maxsize=1)
def get_verifier() -> JWTVerifier:
    return JWTVerifier(
        settings.JWT_PUBLIC_KEY, issuer=settings.JWT_ISSUER, audience=settings.JWT_AUDIENCE
    )


def get_denylist() -> RedisDenylist:
    return RedisDenylist(get_redis())


def user_may_act(user: User) -> bool:
    """Active, and (unless superadmin) member of an active tenant."""
    if not user.is_active:
        return False
    if user.is_superadmin:
        return True
    return user.tenant is not None and user.tenant.is_active


class BearerTokenAuthentication(BaseAuthentication):
    keyword = b"bearer"

    def authenticate(self, request: Request) -> tuple[User, TokenClaims] | None:
        header = get_authorization_header(request).split()
        if not header:
            return None
        if header[0].lower() != self.keyword:
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed("Malformed Authorization header.")
        try:
            token = header[1].decode("ascii")
        except UnicodeDecodeError as exc:
            raise exceptions.AuthenticationFailed("Malformed token.") from exc
        try:
            claims = get_verifier().verify(token, get_denylist())
        except InvalidToken as exc:
            raise exceptions.AuthenticationFailed("Token is invalid or expired.") from exc
        except redis.RedisError as exc:
            # Fail closed: a token we cannot check against the denylist is not accepted.
            raise ServiceUnavailable("Token revocation list is unavailable.") from exc
        user = (
            User.objects.select_related("tenant").filter(pk=claims.user_id).first()
        )
        if user is None or not user_may_act(user):
            raise exceptions.AuthenticationFailed("User is inactive or unknown.")
        if claims.session_version < user.session_version:
            # Redis forgot a revocation (restart): the database still knows.
            raise exceptions.AuthenticationFailed("The session has been revoked.")
        return user, claims

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="gt-vision"'


def claims_of(request: Any) -> TokenClaims | None:
    auth = getattr(request, "auth", None)
    return auth if isinstance(auth, TokenClaims) else None
