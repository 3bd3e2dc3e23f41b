"""JWT claims, RS256 verification with the public key only, and the Redis denylist.

The admin service signs access tokens with its private key; every other component
verifies them here. Two revocations, both in Redis and honoured by both services:

* one token (logout): its ``jti`` is listed until the token's natural expiry;
* every token of a user (password, role or status change): the user's *session version*
  is raised; a token carries the version it was minted under (claim ``sv``) and one
  minted under an older version is refused — the user's "tokens valid after" mark.
"""

from __future__ import annotations

import asyncio
import enum
import functools
import time
import uuid
from collections.abc import Iterable, Sequence
from typing import Any, Protocol

import jwt
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from pydantic import BaseModel, ConfigDict, Field, ValidationError

JWT_ALGORITHM = "RS256"
DEFAULT_ISSUER = "gt-vision-admin"
DEFAULT_AUDIENCE = "gt-vision"
# Every key that can revoke a token starts with REVOCATION_PREFIX.
REVOCATION_PREFIX = "gtv:jwt:"
DENYLIST_PREFIX = f"{REVOCATION_PREFIX}denylist:"
SESSION_VERSION_PREFIX = f"{REVOCATION_PREFIX}session-version:"
ENDED_SESSION_PREFIX = f"{REVOCATION_PREFIX}ended-session:"
# Verified access tokens each process remembers (JWTVerifier): a few MB at most.
VERIFIED_TOKENS_CACHED = 4096


class Role(enum.StrEnum):
    VIEWER = "viewer"
    OPERATOR = "operator"
    TENANT_ADMIN = "tenant_admin"
    SUPERADMIN = "superadmin"


# Each tenant role includes the powers of the ones before it (SPEC §3).
_RANK = {Role.VIEWER: 1, Role.OPERATOR: 2, Role.TENANT_ADMIN: 3, Role.SUPERADMIN: 4}


class InvalidToken(Exception):
    """The token is missing, malformed, expired, wrongly signed or revoked."""


class TokenClaims(BaseModel):
    """What a verified access token says about its bearer."""

    model_config = ConfigDict(frozen=True)

    user_id: uuid.UUID
    username: str = ""
    tenant_id: uuid.UUID | None = None
    roles: tuple[Role, ...] = ()
    jti: str = Field(min_length=1)
    exp: int
    # The user's session version when the token was minted (claim ``sv``).
    session_version: int = Field(default=0, ge=0)
    # The login session both tokens of a pair belong to, kept across refreshes (``sid``).
    session_id: str | None = Field(default=None, max_length=64, pattern=r"^[0-9A-Za-z_-]+$")

    @property
    def is_superadmin(self) -> bool:
        return Role.SUPERADMIN in self.roles

    def has_at_least(self, role: Role) -> bool:
        """True when the bearer's highest role is ``role`` or above."""
        return any(_RANK[r] >= _RANK[role] for r in self.roles)


class Denylist(Protocol):
    def is_revoked(self, claims: TokenClaims) -> bool: ...


class AsyncDenylist(Protocol):
    async def is_revoked(self, claims: TokenClaims) -> bool: ...


def denylist_key(jti: str) -> str:
    return f"{DENYLIST_PREFIX}{jti}"


def session_version_key(user_id: uuid.UUID | str) -> str:
    return f"{SESSION_VERSION_PREFIX}{user_id}"


def ended_session_key(session_id: str) -> str:
    return f"{ENDED_SESSION_PREFIX}{session_id}"


def _refused(listed: Any, current_version: Any, token_version: int) -> bool:
    if listed is not None:
        return True
    return current_version is not None and token_version < int(current_version)


def revoke_seconds(exp: int, now: float | None = None) -> int:
    """How long a revoked jti must stay listed: until the token would expire anyway."""
    return max(1, int(exp - (now if now is not None else time.time())) + 1)


class RedisDenylist:
    """Denylist over a synchronous ``redis.Redis`` client."""

    def __init__(self, client: Any) -> None:
        self._redis = client

    def revoke(self, jti: str, exp: int) -> None:
        self._redis.set(denylist_key(jti), "1", ex=revoke_seconds(exp))

    def revoke_sessions(self, user_id: uuid.UUID, version: int, ttl_seconds: int) -> None:
        """Refuse every token of ``user_id`` minted under a version below ``version``.
        ``ttl_seconds`` must outlive the longest-lived token the services accept."""
        self._redis.set(session_version_key(user_id), str(version), ex=max(1, ttl_seconds))

    def end_session(self, session_id: str, ttl_seconds: int) -> None:
        """Refuse every token of one login session (a logout), refresh and access,
        whichever the client kept. ``ttl_seconds``: at least the session's rest."""
        self._redis.set(ended_session_key(session_id), "1", ex=max(1, ttl_seconds))

    @staticmethod
    def keys(claims: TokenClaims) -> list[str]:
        """The keys that say whether ``claims`` are revoked (the token's jti, its user's
        session version, its login session ended by a logout), for a caller that reads
        them with other keys in one round trip (then asks :meth:`refuses`)."""
        keys = [denylist_key(claims.jti), session_version_key(claims.user_id)]
        if claims.session_id:
            keys.append(ended_session_key(claims.session_id))
        return keys

    @staticmethod
    def refuses(values: Sequence[Any], claims: TokenClaims) -> bool:
        """Whether the values read at :meth:`keys` revoke ``claims``."""
        listed, version, *ended = values
        return _refused(listed, version, claims.session_version) or any(
            value is not None for value in ended)

    def is_revoked(self, claims: TokenClaims) -> bool:
        return self.refuses(self._redis.mget(self.keys(claims)), claims)

    def sessions_revoked(self, user_id: uuid.UUID, session_version: int,
                         session_id: str | None = None) -> bool:
        """For a refresh token: its user's sessions revoked, or its own login session
        (``session_id``) ended by a logout. One round trip."""
        keys = [session_version_key(user_id)]
        if session_id:
            keys.append(ended_session_key(session_id))
        version, *ended = self._redis.mget(keys)
        return _refused(None, version, session_version) or any(
            value is not None for value in ended)


class AsyncRedisDenylist:
    """Denylist over a ``redis.asyncio.Redis`` client. Its checks read through ``reads``
    when given (anything with the client's ``mget``: a
    :class:`shared_kernel.tracked_reads.TrackedReads` over :data:`REVOCATION_PREFIX`)."""

    def __init__(self, client: Any, reads: Any | None = None) -> None:
        self._redis = client
        self._reads = reads if reads is not None else client

    async def revoke(self, jti: str, exp: int) -> None:
        await self._redis.set(denylist_key(jti), "1", ex=revoke_seconds(exp))

    async def revoke_sessions(self, user_id: uuid.UUID, version: int, ttl_seconds: int) -> None:
        await self._redis.set(session_version_key(user_id), str(version), ex=max(1, ttl_seconds))

    async def is_revoked(self, claims: TokenClaims) -> bool:
        """One round trip: the token's jti listed, its user's sessions revoked, or its
        login session ended."""
        return RedisDenylist.refuses(await self._reads.mget(RedisDenylist.keys(claims)),
                                     claims)

    async def revoked_among(self, claims: Sequence[TokenClaims]) -> list[bool]:
        """``is_revoked`` for many tokens in one round trip (one MGET)."""
        if not claims:
            return []
        keys = [RedisDenylist.keys(c) for c in claims]
        values = await self._reads.mget([key for own in keys for key in own])
        refused, start = [], 0
        for c, own in zip(claims, keys, strict=True):
            refused.append(RedisDenylist.refuses(values[start:start + len(own)], c))
            start += len(own)
        return refused

    async def sessions_revoked(self, user_id: uuid.UUID, session_version: int,
                               session_id: str | None = None) -> bool:
        """For grants derived from a token (media tokens): are their user's sessions
        revoked, or their login session (``session_id``) ended? One round trip."""
        keys = [session_version_key(user_id)]
        if session_id:
            keys.append(ended_session_key(session_id))
        version, *ended = await self._reads.mget(keys)
        return _refused(None, version, session_version) or any(
            value is not None for value in ended)


class CoalescingDenylist:
    """``is_revoked`` for many long-lived holders of tokens (a replica's live sockets, each
    re-checking its token every few seconds): the calls made within ``window`` seconds of
    the first share one round trip (``revoked_among``), so a thousand sockets cost one
    MGET per check, not a thousand. A failed round trip raises in every call it served,
    as each call's own round trip would have."""

    def __init__(self, denylist: AsyncRedisDenylist, *, window: float = 0.02) -> None:
        self._denylist = denylist
        self._window = window
        self._waiting: list[tuple[TokenClaims, asyncio.Future[bool]]] = []
        self._flush: asyncio.TimerHandle | None = None
        self._checks: set[asyncio.Task[None]] = set()

    async def is_revoked(self, claims: TokenClaims) -> bool:
        loop = asyncio.get_running_loop()
        verdict: asyncio.Future[bool] = loop.create_future()
        self._waiting.append((claims, verdict))
        if self._flush is None:
            self._flush = loop.call_later(self._window, self._start_check)
        return await verdict

    def _start_check(self) -> None:
        self._flush = None
        batch, self._waiting = self._waiting, []
        task = asyncio.ensure_future(self._check(batch))
        self._checks.add(task)
        task.add_done_callback(self._checks.discard)

    async def _check(self, batch: list[tuple[TokenClaims, asyncio.Future[bool]]]) -> None:
        waiting = [(c, f) for c, f in batch if not f.done()]  # a caller may have gone
        try:
            verdicts = await self._denylist.revoked_among([c for c, _ in waiting])
        except Exception as exc:
            for _, verdict in waiting:
                if not verdict.done():
                    verdict.set_exception(exc)
            return
        for (_, verdict), revoked in zip(waiting, verdicts, strict=True):
            if not verdict.done():
                verdict.set_result(revoked)


class JWTVerifier:
    """Verifies RS256 access tokens. Rejects every other algorithm, ``none`` included."""

    def __init__(
        self,
        public_key_pem: str,
        *,
        issuer: str = DEFAULT_ISSUER,
        audience: str = DEFAULT_AUDIENCE,
        leeway_seconds: int = 5,
    ) -> None:
        # A key object, not the PEM: PyJWT would parse the PEM on every decode.
        key = load_pem_public_key(public_key_pem.encode())
        if not isinstance(key, RSAPublicKey):
            raise ValueError("the JWT verification key must be an RSA public key")
        self._key = key
        self._issuer = issuer
        self._audience = audience
        self._leeway = leeway_seconds
        # Tokens whose signature and claims were verified, by their exact text: a client
        # sends the same access token with every request, and checking an RS256
        # signature (and PyJWT's per-character base64 check) costs more than the rest
        # of a cached read. Only successes are kept; expiry is checked on every use.
        self._verified = functools.lru_cache(maxsize=VERIFIED_TOKENS_CACHED)(self._verify_once)

    def decode(self, token: str) -> TokenClaims:
        """Signature, expiry, issuer, audience and token type; not the denylist."""
        if not token:
            raise InvalidToken("no token")
        claims = self._verified(token)
        if claims.exp + self._leeway <= time.time():
            raise InvalidToken("Signature has expired")
        return claims

    def _verify_once(self, token: str) -> TokenClaims:
        try:
            raw = jwt.decode(
                token,
                self._key,
                algorithms=[JWT_ALGORITHM],
                audience=self._audience,
                issuer=self._issuer,
                leeway=self._leeway,
                options={"require": ["exp", "iat", "jti", "sub"]},
            )
        except (jwt.PyJWTError, ValueError) as exc:
            # ValueError: PyJWT encodes the token as UTF-8 first, and a lone surrogate
            # (from a JSON body such as MediaMTX's auth hook) cannot be.
            raise InvalidToken(str(exc)) from exc
        if raw.get("token_type", "access") != "access":
            raise InvalidToken("not an access token")
        return claims_from_payload(raw)

    def verify(self, token: str, denylist: Denylist | None = None) -> TokenClaims:
        claims = self.decode(token)
        if denylist is not None and denylist.is_revoked(claims):
            raise InvalidToken("token has been revoked")
        return claims

    async def averify(self, token: str, denylist: AsyncDenylist | None = None) -> TokenClaims:
        claims = self.decode(token)
        if denylist is not None and await denylist.is_revoked(claims):
            raise InvalidToken("token has been revoked")
        return claims


def claims_from_payload(raw: dict[str, Any]) -> TokenClaims:
    try:
        return TokenClaims(
            user_id=raw.get("user_id") or raw["sub"],
            username=raw.get("username", ""),
            tenant_id=raw.get("tenant_id"),
            roles=tuple(_known_roles(raw.get("roles", []))),
            jti=raw["jti"],
            exp=raw["exp"],
            session_version=raw.get("sv", 0),
            session_id=raw.get("sid"),
        )
    except (KeyError, ValidationError, ValueError) as exc:
        raise InvalidToken(f"bad claims: {exc}") from exc


def _known_roles(values: Iterable[Any]) -> Iterable[Role]:
    for value in values:
        try:
            yield Role(value)
        except ValueError:
            continue
