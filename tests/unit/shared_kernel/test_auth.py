import time
import uuid
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from shared_kernel.auth import InvalidToken, JWTVerifier, Role, TokenClaims, revoke_seconds


def _keypair() -> tuple[str, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()
    return private, public


PRIVATE, PUBLIC = _keypair()
OTHER_PRIVATE, _ = _keypair()


def _claims(**overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    claims = {
        "sub": str(uuid.uuid4()), "user_id": str(uuid.uuid4()), "username": "ana",
        "tenant_id": str(uuid.uuid4()), "roles": ["operator"], "jti": uuid.uuid4().hex,
        "iat": now, "exp": now + 300, "iss": "gt-vision-admin", "aud": "gt-vision",
        "token_type": "access",
    }
    claims.update(overrides)
    return claims


class SetDenylist:
    def __init__(self, revoked: set[str]) -> None:
        self.revoked = revoked

    def is_revoked(self, claims: TokenClaims) -> bool:
        return claims.jti in self.revoked


verifier = JWTVerifier(PUBLIC)


def test_valid_token_gives_claims() -> None:
    raw = _claims()
    claims = verifier.verify(jwt.encode(raw, PRIVATE, algorithm="RS256"))
    assert str(claims.user_id) == raw["user_id"]
    assert claims.roles == (Role.OPERATOR,)
    assert claims.has_at_least(Role.VIEWER) and not claims.has_at_least(Role.TENANT_ADMIN)


def test_expired_token_is_rejected() -> None:
    token = jwt.encode(_claims(exp=int(time.time()) - 60), PRIVATE, algorithm="RS256")
    with pytest.raises(InvalidToken, match="expired"):
        verifier.verify(token)


def test_a_token_verified_before_is_rejected_once_it_expires(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Verified tokens are remembered by their text; their expiry is checked every time."""
    now = int(time.time())
    token = jwt.encode(_claims(exp=now + 30), PRIVATE, algorithm="RS256")
    assert verifier.decode(token).exp == now + 30
    monkeypatch.setattr(time, "time", lambda: now + 60)
    with pytest.raises(InvalidToken, match="expired"):
        verifier.decode(token)


def test_a_tampered_copy_of_a_verified_token_is_rejected() -> None:
    token = jwt.encode(_claims(), PRIVATE, algorithm="RS256")
    verifier.decode(token)
    header, payload, signature = token.split(".")
    forged = jwt.utils.base64url_encode(  # type: ignore[attr-defined]
        jwt.utils.base64url_decode(payload).replace(b'"operator"', b'"tenant_admin"')).decode()
    with pytest.raises(InvalidToken):
        verifier.decode(f"{header}.{forged}.{signature}")


def test_wrong_signature_is_rejected() -> None:
    token = jwt.encode(_claims(), OTHER_PRIVATE, algorithm="RS256")
    with pytest.raises(InvalidToken):
        verifier.verify(token)


def test_alg_none_is_rejected() -> None:
    token = jwt.encode(_claims(), None, algorithm="none")  # type: ignore[arg-type]
    with pytest.raises(InvalidToken):
        verifier.verify(token)


def test_hs256_signed_with_public_key_is_rejected() -> None:
    """The classic key-confusion attack: HMAC keyed with the public PEM."""
    import base64
    import hashlib
    import hmac
    import json

    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    header = b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    body = b64(json.dumps(_claims(roles=["superadmin"])).encode())
    sig = hmac.new(PUBLIC.encode(), f"{header}.{body}".encode(), hashlib.sha256).digest()
    with pytest.raises(InvalidToken):
        verifier.verify(f"{header}.{body}.{b64(sig)}")


def test_tampered_claims_are_rejected() -> None:
    token = jwt.encode(_claims(), PRIVATE, algorithm="RS256")
    header, _body, sig = token.split(".")
    forged = jwt.encode(_claims(roles=["superadmin"]), OTHER_PRIVATE, algorithm="RS256")
    with pytest.raises(InvalidToken):
        verifier.verify(f"{header}.{forged.split('.')[1]}.{sig}")


def test_wrong_audience_or_issuer_is_rejected() -> None:
    for override in ({"aud": "someone-else"}, {"iss": "evil"}):
        with pytest.raises(InvalidToken):
            verifier.verify(jwt.encode(_claims(**override), PRIVATE, algorithm="RS256"))


def test_refresh_token_is_not_an_access_token() -> None:
    token = jwt.encode(_claims(token_type="refresh"), PRIVATE, algorithm="RS256")
    with pytest.raises(InvalidToken, match="not an access token"):
        verifier.verify(token)


def test_revoked_token_is_rejected() -> None:
    raw = _claims()
    token = jwt.encode(raw, PRIVATE, algorithm="RS256")
    with pytest.raises(InvalidToken, match="revoked"):
        verifier.verify(token, SetDenylist({raw["jti"]}))
    assert verifier.verify(token, SetDenylist(set())).jti == raw["jti"]


@pytest.mark.parametrize("token", ["", "abc", "a.b.c"])
def test_garbage_is_rejected(token: str) -> None:
    with pytest.raises(InvalidToken):
        verifier.verify(token)


def test_unknown_roles_are_dropped() -> None:
    token = jwt.encode(_claims(roles=["operator", "god"]), PRIVATE, algorithm="RS256")
    assert verifier.verify(token).roles == (Role.OPERATOR,)


def test_revocation_lasts_until_expiry() -> None:
    assert revoke_seconds(exp=1_000, now=900) == 101
    assert revoke_seconds(exp=1_000, now=2_000) == 1


def test_session_version_claim_is_read_and_defaults_to_zero() -> None:
    assert verifier.verify(jwt.encode(_claims(sv=3), PRIVATE, algorithm="RS256")) \
        .session_version == 3
    assert verifier.verify(jwt.encode(_claims(), PRIVATE, algorithm="RS256")) \
        .session_version == 0


class _FakeRedis:
    def __init__(self) -> None:
        self.data: dict[str, str] = {}

    def set(self, key: str, value: str, ex: int | None = None) -> None:
        self.data[key] = value

    def mget(self, keys: list[str]) -> list[str | None]:
        return [self.data.get(k) for k in keys]


def test_tokens_minted_before_a_session_revocation_are_refused() -> None:
    from shared_kernel.auth import RedisDenylist

    denylist = RedisDenylist(_FakeRedis())
    raw = _claims(sv=1)
    old = jwt.encode(raw, PRIVATE, algorithm="RS256")
    assert verifier.verify(old, denylist).session_version == 1
    denylist.revoke_sessions(uuid.UUID(raw["user_id"]), 2, ttl_seconds=60)
    with pytest.raises(InvalidToken):
        verifier.verify(old, denylist)
    fresh = jwt.encode({**raw, "sv": 2, "jti": uuid.uuid4().hex}, PRIVATE, algorithm="RS256")
    assert verifier.verify(fresh, denylist).session_version == 2


@pytest.mark.parametrize("token", ["\ud800", "a.\udcff.b", "\x00"])
def test_tokens_that_are_not_even_utf8_are_rejected_not_raised(token: str) -> None:
    with pytest.raises(InvalidToken):
        verifier.verify(token)
