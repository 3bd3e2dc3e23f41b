"""The JWTs this service issues: RS256, a ``kid`` header, the claims every service reads.

Access tokens carry ``sub``/``user_id``, ``username``, ``tenant_id``, ``roles`` and ``sv``
(the user's session version); the streaming service and Kong verify them with the public
key only (see ``jwks()``). Both tokens of a pair carry ``auth_time``, when the user last
typed a password: refreshing rotates the pair but never extends a session past
``SESSION_MAX_AGE`` from it.
"""

from __future__ import annotations

import base64
import hashlib
import json
import time
import uuid
from functools import lru_cache
from typing import Any

import jwt
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from django.conf import settings
from jwt.algorithms import RSAAlgorithm
from rest_framework_simplejwt.backends import TokenBackend
from rest_framework_simplejwt.settings import api_settings
from rest_framework_simplejwt.tokens import AccessToken, RefreshToken

from accounts.models import User


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@lru_cache(maxsize=4)
def _public_jwk(public_key_pem: str) -> dict[str, str]:
    key = load_pem_public_key(public_key_pem.encode())
    jwk: dict[str, str] = RSAAlgorithm.to_jwk(key, as_dict=True)  # type: ignore[arg-type]
    # RFC 7638 thumbprint: a stable key id that changes when the key does.
    canonical = json.dumps(
        {"e": jwk["e"], "kty": jwk["kty"], "n": jwk["n"]}, separators=(",", ":"), sort_keys=True
    )
    kid = _b64url(hashlib.sha256(canonical.encode()).digest())
    return {"kty": jwk["kty"], "n": jwk["n"], "e": jwk["e"], "kid": kid, "alg": "RS256",
            "use": "sig"}


def key_id() -> str:
    return _public_jwk(settings.JWT_PUBLIC_KEY)["kid"]


def jwks() -> dict[str, list[dict[str, str]]]:
    """The JSON Web Key Set other components use to verify our tokens."""
    return {"keys": [_public_jwk(settings.JWT_PUBLIC_KEY)]}


class KidTokenBackend(TokenBackend):
    def encode(self, payload: dict[str, Any]) -> str:
        jwt_payload = payload.copy()
        if self.audience is not None:
            jwt_payload["aud"] = self.audience
        if self.issuer is not None:
            jwt_payload["iss"] = self.issuer
        return jwt.encode(
            jwt_payload,
            self.prepared_signing_key,
            algorithm=self.algorithm,
            headers={"kid": key_id()},
            json_encoder=self.json_encoder,
        )


@lru_cache(maxsize=1)
def _backend() -> KidTokenBackend:
    return KidTokenBackend(
        api_settings.ALGORITHM,
        api_settings.SIGNING_KEY,
        api_settings.VERIFYING_KEY,
        api_settings.AUDIENCE,
        api_settings.ISSUER,
        api_settings.JWK_URL,
        api_settings.LEEWAY,
        api_settings.JSON_ENCODER,
    )


def add_user_claims(token: Any, user: User) -> None:
    """Claims from the user's *current* state (a refresh picks up role changes)."""
    token["sub"] = str(user.id)
    token["username"] = user.get_username()
    token["tenant_id"] = str(user.tenant_id) if user.tenant_id else None
    token["roles"] = user.roles
    token["sv"] = user.session_version


class GTAccessToken(AccessToken):
    @property
    def token_backend(self) -> TokenBackend:
        return _backend()


class GTRefreshToken(RefreshToken):
    access_token_class = GTAccessToken

    @property
    def token_backend(self) -> TokenBackend:
        return _backend()

    @classmethod
    def for_user(cls, user: User) -> GTRefreshToken:  # type: ignore[override]
        token = super().for_user(user)
        add_user_claims(token, user)
        return token


def session_deadline(auth_time: int) -> int:
    """When a session that began at ``auth_time`` ends, whatever the refreshes."""
    return auth_time + int(settings.SESSION_MAX_AGE.total_seconds())


def issue_pair(user: User, *, auth_time: int | None = None,
               session_id: str | None = None) -> dict[str, str]:
    """A new access/refresh pair; ``auth_time`` and ``session_id`` carry a session over
    from a refresh (None: a password login, a new session starts now). Both tokens name
    the session (``sid``), so a logout ends it whichever refresh token the client kept."""
    started = int(time.time()) if auth_time is None else auth_time
    deadline = session_deadline(started)
    refresh = GTRefreshToken.for_user(user)
    refresh["auth_time"] = started
    refresh["sid"] = session_id or uuid.uuid4().hex
    refresh["exp"] = min(int(refresh["exp"]), deadline)
    access = refresh.access_token
    access["exp"] = min(int(access["exp"]), deadline)
    return {"access": str(access), "refresh": str(refresh)}
