"""DRF authentication with the same verifier the streaming service uses.

Signature, expiry, issuer, audience and algorithm (RS256 only) are checked by
``shared_kernel.auth.JWTVerifier``. Then one Redis round trip answers the rest: the
denylist (the token's ``jti``, its user's session version), the user's and the tenant's
state (``accounts.auth_state``: active, role, tenant, session version; read from
PostgreSQL when Redis does not have it) and whatever the view asks to read along
(:class:`PrefetchingView`: the camera list's cached bytes). That round trip is answered
in the process while Redis tracks those keys for it (:func:`get_tracked_reads`).
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import Any, Protocol

import redis
from config.exceptions import ServiceUnavailable
from config.redis import get_redis
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.request import Request

from accounts import auth_state
from accounts.auth_state import UserState
from accounts.models import User
from shared_kernel.auth import (
    REVOCATION_PREFIX,
    InvalidToken,
    JWTVerifier,
    RedisDenylist,
    TokenClaims,
)
from shared_kernel.tracked_reads import ThreadTrackedReads

PREFETCHED_ATTRIBUTE = "gtv_prefetched"


@lru_cache(maxsize=1)
def get_verifier() -> JWTVerifier:
    return JWTVerifier(
        settings.JWT_PUBLIC_KEY, issuer=settings.JWT_ISSUER, audience=settings.JWT_AUDIENCE
    )


def get_denylist() -> RedisDenylist:
    return RedisDenylist(get_redis())


@lru_cache(maxsize=1)
def get_tracked_reads() -> ThreadTrackedReads:
    """Authentication's reads, kept in each worker process and dropped the moment Redis
    says a key changed (``shared_kernel.tracked_reads``): token revocations, users' and
    tenants' auth state, and what views read along (the camera list cache)."""
    from cameras import cache as camera_cache  # a PrefetchingView's keys

    return ThreadTrackedReads(get_redis(), [REVOCATION_PREFIX, auth_state.STATE_PREFIX,
                                            camera_cache.key_prefix()])


def user_may_act(user: User) -> bool:
    """Active, and (unless superadmin) member of an active tenant."""
    if not user.is_active:
        return False
    if user.is_superadmin:
        return True
    return user.tenant is not None and user.tenant.is_active


class PrefetchingView(Protocol):
    def auth_prefetch_keys(self, request: Request, claims: TokenClaims) -> list[str]:
        """Redis keys to read in authentication's round trip, from the verified claims
        (the user's state is not known yet: the view checks the scope it keyed them by)."""
        ...


def prefetched(request: Any) -> Mapping[str, bytes | None]:
    """What authentication read for the view (:class:`PrefetchingView`), by key."""
    raw = getattr(request, "_request", request)
    found: Mapping[str, bytes | None] = getattr(raw, PREFETCHED_ATTRIBUTE, {})
    return found


_STATE_FIELDS = ("id", "username", "is_active", "is_superadmin", "tenant_id", "role",
                 "session_version")


def _user_from_state(state: UserState) -> User:
    """A user instance from the cached state: the fields authentication and RBAC read are
    loaded, every other one is deferred (read from the database if something asks)."""
    values = {"id": state.user_id, "username": state.username, "is_active": state.is_active,
              "is_superadmin": state.is_superadmin, "tenant_id": state.tenant_id,
              "role": state.role, "session_version": state.session_version}
    ordered = [values[f.attname] for f in User._meta.concrete_fields if f.attname in values]
    return User.from_db(DEFAULT_DB_ALIAS, _STATE_FIELDS, ordered)


def _check_session_version(claims: TokenClaims, current: int) -> None:
    if claims.session_version < current:
        # Redis forgot a revocation (restart): the database still knows.
        raise exceptions.AuthenticationFailed("The session has been revoked.")


def _inactive() -> exceptions.AuthenticationFailed:
    return exceptions.AuthenticationFailed("User is inactive or unknown.")


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
            claims = get_verifier().decode(token)
        except InvalidToken as exc:
            raise exceptions.AuthenticationFailed("Token is invalid or expired.") from exc
        revocation = RedisDenylist.keys(claims)
        keys = [*revocation, auth_state.user_key(claims.user_id)]
        if claims.tenant_id is not None:
            keys.append(auth_state.tenant_key(claims.tenant_id))
        view = request.parser_context.get("view") if request.parser_context else None
        extra = view.auth_prefetch_keys(request, claims) if hasattr(
            view, "auth_prefetch_keys") else []
        try:
            values = get_tracked_reads().mget([*keys, *extra])
        except redis.RedisError as exc:
            # Fail closed: a token we cannot check against the denylist is not accepted.
            raise ServiceUnavailable("Token revocation list is unavailable.") from exc
        checked = len(revocation)
        if RedisDenylist.refuses(values[:checked], claims):
            raise exceptions.AuthenticationFailed("Token is invalid or expired.")
        user = self._user(claims, values[checked],
                          values[checked + 1] if claims.tenant_id else None)
        setattr(request._request, PREFETCHED_ATTRIBUTE, dict(zip(extra, values[len(keys):],
                                                                 strict=True)))
        return user, claims

    @staticmethod
    def _user(claims: TokenClaims, raw_user: bytes | None, raw_tenant: bytes | None) -> User:
        state = UserState.decode(claims.user_id, raw_user)
        tenant_active = auth_state.decode_tenant(raw_tenant)
        if state is not None and (state.is_superadmin or (
                state.tenant_id == claims.tenant_id and tenant_active is not None)):
            if not state.is_active or not (state.is_superadmin or tenant_active):
                raise _inactive()
            _check_session_version(claims, state.session_version)
            return _user_from_state(state)
        # Not in Redis (or the token names another tenant than the user's): the database.
        user = User.objects.select_related("tenant").filter(pk=claims.user_id).first()
        if user is None or not user_may_act(user):
            raise _inactive()
        _check_session_version(claims, user.session_version)
        auth_state.remember(user)
        return user

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="gt-vision"'


def claims_of(request: Any) -> TokenClaims | None:
    auth = getattr(request, "auth", None)
    return auth if isinstance(auth, TokenClaims) else None
