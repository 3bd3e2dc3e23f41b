"""Login, refresh, logout, JWKS and every way a token can be bad (SPEC §2 flow 1)."""

from __future__ import annotations

import base64
import json
import time
import uuid
from typing import Any

import jwt
import pytest
from audit.models import AuditEntry
from config.redis import get_redis
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.conf import settings
from rest_framework.test import APIClient

from shared_kernel.auth import JWTVerifier, RedisDenylist, Role, denylist_key
from tests.factories import DEFAULT_PASSWORD

pytestmark = pytest.mark.django_db


def _login(api: APIClient, username: str, password: str = DEFAULT_PASSWORD) -> Any:
    return api.post("/api/admin/auth/token", {"username": username, "password": password},
                    format="json")


def _bearer(token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


def _claims(user: Any, **overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    claims: dict[str, Any] = {
        "token_type": "access", "exp": now + 300, "iat": now, "jti": uuid.uuid4().hex,
        "sub": str(user.pk), "user_id": str(user.pk), "username": user.username,
        "tenant_id": str(user.tenant_id) if user.tenant_id else None,
        "roles": user.roles, "iss": settings.JWT_ISSUER, "aud": settings.JWT_AUDIENCE,
    }
    claims.update(overrides)
    return claims


def _sign(claims: dict[str, Any], key: str | None = None, algorithm: str = "RS256") -> str:
    return jwt.encode(claims, key or settings.JWT_PRIVATE_KEY, algorithm=algorithm)


def _assert_401(response: Any) -> None:
    assert response.status_code == 401, response.content
    body = response.json()
    assert set(body["error"]) == {"code", "message", "details"}
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_login_issues_rs256_tokens_with_tenant_and_roles(api: APIClient, tenant_a: Any) -> None:
    response = _login(api, "alpha-operator")
    assert response.status_code == 200
    pair = response.json()
    assert set(pair) == {"access", "refresh"}
    header = jwt.get_unverified_header(pair["access"])
    assert header["alg"] == "RS256"
    verifier = JWTVerifier(settings.JWT_PUBLIC_KEY)  # the streaming service's verifier
    claims = verifier.verify(pair["access"], RedisDenylist(get_redis()))
    assert claims.user_id == tenant_a.operator.pk
    assert claims.tenant_id == tenant_a.tenant.pk
    assert claims.roles == (Role.OPERATOR,)
    assert claims.username == "alpha-operator"
    me = _bearer(pair["access"]).get("/api/admin/me").json()
    assert me["username"] == "alpha-operator"
    assert me["tenant_timezone"] == tenant_a.tenant.timezone, "clients show times in it"


def test_jwks_publishes_the_key_that_verifies_tokens(api: APIClient, tenant_a: Any) -> None:
    jwks = api.get("/api/admin/auth/jwks.json")
    assert jwks.status_code == 200
    (key,) = jwks.json()["keys"]
    assert key["kty"] == "RSA" and key["alg"] == "RS256" and key["kid"]
    assert "d" not in key  # public part only
    access = _login(api, "alpha-viewer").json()["access"]
    assert jwt.get_unverified_header(access)["kid"] == key["kid"]
    public = jwt.PyJWK(key).key
    decoded = jwt.decode(access, public, algorithms=["RS256"], audience=settings.JWT_AUDIENCE)
    assert decoded["roles"] == ["viewer"]


def test_superadmin_token_has_superadmin_role_and_no_tenant(api: APIClient,
                                                            superadmin: Any) -> None:
    access = _login(api, "root").json()["access"]
    payload = jwt.decode(access, options={"verify_signature": False})
    assert payload["roles"] == ["superadmin"]
    assert payload["tenant_id"] is None


def test_wrong_password_is_401_and_audited(api: APIClient, tenant_a: Any) -> None:
    response = _login(api, "alpha-viewer", "wrong-password")
    _assert_401_shape = response.json()["error"]
    assert response.status_code == 401
    assert _assert_401_shape["code"] == "authentication_failed"
    entry = AuditEntry.objects.get(action="login.failure")
    assert entry.username == "alpha-viewer"
    assert entry.object_id == str(tenant_a.viewer.pk)
    assert entry.ip == "127.0.0.1"
    assert "wrong-password" not in json.dumps([entry.before, entry.after])


def test_unknown_user_login_is_401_and_audited(api: APIClient, db: None) -> None:
    assert _login(api, "nobody", "whatever").status_code == 401
    entry = AuditEntry.objects.get(action="login.failure")
    assert entry.username == "nobody" and entry.object_id is None


def test_successful_login_is_audited_with_correlation_id(api: APIClient, tenant_a: Any) -> None:
    response = api.post("/api/admin/auth/token",
                        {"username": "alpha-viewer", "password": DEFAULT_PASSWORD},
                        format="json", HTTP_X_CORRELATION_ID="login-corr-1")
    assert response.status_code == 200
    assert response["X-Correlation-ID"] == "login-corr-1"
    entry = AuditEntry.objects.get(action="login.success")
    assert entry.actor_id == tenant_a.viewer.pk
    assert entry.tenant_id == tenant_a.tenant.pk
    assert entry.correlation_id == "login-corr-1"


def test_inactive_user_cannot_log_in(api: APIClient, tenant_a: Any) -> None:
    tenant_a.viewer.is_active = False
    tenant_a.viewer.save()
    assert _login(api, "alpha-viewer").status_code == 401


def test_login_is_throttled(api: APIClient, tenant_a: Any, settings: Any) -> None:
    settings.LOGIN_THROTTLE_RATE = "3/min"
    codes = [_login(api, "alpha-viewer", "bad").status_code for _ in range(4)]
    assert codes == [401, 401, 401, 429]
    response = _login(api, "alpha-viewer", "bad")
    assert response.json()["error"]["code"] == "throttled"
    assert response.json()["error"]["details"]["retry_after_seconds"] > 0


def test_expired_token_is_401(tenant_a: Any) -> None:
    past = int(time.time()) - 3600
    token = _sign(_claims(tenant_a.viewer, exp=past, iat=past - 60))
    _assert_401(_bearer(token).get("/api/cidades/cameras/"))


def test_token_signed_by_another_key_is_401(tenant_a: Any) -> None:
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = other.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                              serialization.NoEncryption()).decode()
    _assert_401(_bearer(_sign(_claims(tenant_a.viewer), key=pem)).get("/api/admin/me"))


def test_alg_none_is_401(tenant_a: Any) -> None:
    token = jwt.encode(_claims(tenant_a.viewer, roles=["superadmin"]), None, algorithm="none")
    _assert_401(_bearer(token).get("/api/admin/me"))


def test_hs256_with_the_public_key_as_secret_is_401(tenant_a: Any) -> None:
    header = base64.urlsafe_b64encode(b'{"alg":"HS256","typ":"JWT"}').rstrip(b"=")
    body = base64.urlsafe_b64encode(json.dumps(_claims(tenant_a.viewer)).encode()).rstrip(b"=")
    import hashlib
    import hmac

    signing_input = header + b"." + body
    signature = hmac.new(settings.JWT_PUBLIC_KEY.encode(), signing_input, hashlib.sha256)
    token = (signing_input + b"." + base64.urlsafe_b64encode(signature.digest()).rstrip(b"="))
    _assert_401(_bearer(token.decode()).get("/api/admin/me"))


def test_tampered_claims_are_401(api: APIClient, tenant_a: Any) -> None:
    access = _login(api, "alpha-viewer").json()["access"]
    header, payload, signature = access.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["roles"] = ["superadmin"]
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    _assert_401(_bearer(f"{header}.{forged}.{signature}").get("/api/cidades/prefeituras/"))


@pytest.mark.parametrize("claim,value", [("iss", "someone-else"), ("aud", "other-audience")])
def test_wrong_issuer_or_audience_is_401(tenant_a: Any, claim: str, value: str) -> None:
    _assert_401(_bearer(_sign(_claims(tenant_a.viewer, **{claim: value}))).get("/api/admin/me"))


def test_refresh_token_is_not_an_access_token(api: APIClient, tenant_a: Any) -> None:
    refresh = _login(api, "alpha-viewer").json()["refresh"]
    _assert_401(_bearer(refresh).get("/api/admin/me"))


@pytest.mark.parametrize("header", ["Bearer", "Bearer a b", "Bearer not.a.jwt", "Bearer ÿ"])
def test_malformed_authorization_header_is_401(db: None, header: str) -> None:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=header)
    _assert_401(client.get("/api/admin/me"))


def test_token_of_a_deactivated_user_is_401(api: APIClient, tenant_a: Any) -> None:
    access = _login(api, "alpha-viewer").json()["access"]
    tenant_a.viewer.is_active = False
    tenant_a.viewer.save()
    _assert_401(_bearer(access).get("/api/admin/me"))


def test_logout_revokes_access_and_refresh(api: APIClient, tenant_a: Any) -> None:
    pair = _login(api, "alpha-viewer").json()
    client = _bearer(pair["access"])
    response = client.post("/api/admin/auth/logout", {"refresh": pair["refresh"]},
                           format="json")
    assert response.status_code == 204
    _assert_401(client.get("/api/admin/me"))
    _assert_401(api.post("/api/admin/auth/refresh", {"refresh": pair["refresh"]},
                         format="json"))
    jti = jwt.decode(pair["access"], options={"verify_signature": False})["jti"]
    ttl = get_redis().ttl(denylist_key(jti))
    assert 0 < ttl <= settings.SIMPLE_JWT["ACCESS_TOKEN_LIFETIME"].total_seconds() + 1
    assert AuditEntry.objects.filter(action="logout", actor=tenant_a.viewer).count() == 1


def test_logout_without_the_refresh_token_still_ends_the_session(
    api: APIClient, tenant_a: Any
) -> None:
    """A client (or a thief) holding any refresh token of the session, rotated or not,
    cannot renew it after the logout; another login of the same user is unaffected."""
    first = _login(api, "alpha-viewer").json()
    rotated = api.post("/api/admin/auth/refresh", {"refresh": first["refresh"]},
                       format="json")
    assert rotated.status_code == 200, rotated.content
    pair = rotated.json()
    claims = [jwt.decode(t, options={"verify_signature": False})
              for t in (first["access"], pair["access"], pair["refresh"])]
    assert claims[0]["sid"] == claims[1]["sid"] == claims[2]["sid"]
    elsewhere = _login(api, "alpha-viewer").json()

    assert _bearer(pair["access"]).post("/api/admin/auth/logout", {},
                                        format="json").status_code == 204
    _assert_401(api.post("/api/admin/auth/refresh", {"refresh": pair["refresh"]},
                         format="json"))
    # The session's access tokens issued before its last refresh are refused too.
    _assert_401(_bearer(first["access"]).get("/api/admin/me"))
    assert _bearer(elsewhere["access"]).get("/api/admin/me").status_code == 200
    other = api.post("/api/admin/auth/refresh", {"refresh": elsewhere["refresh"]},
                     format="json")
    assert other.status_code == 200, other.content


def test_logout_requires_a_token(api: APIClient, db: None) -> None:
    _assert_401(api.post("/api/admin/auth/logout", {}, format="json"))


def test_logout_refuses_someone_elses_refresh_token(api: APIClient, tenant_a: Any) -> None:
    mine = _login(api, "alpha-viewer").json()
    theirs = _login(api, "alpha-operator").json()
    response = _bearer(mine["access"]).post("/api/admin/auth/logout",
                                            {"refresh": theirs["refresh"]}, format="json")
    assert response.status_code == 400
    assert api.post("/api/admin/auth/refresh", {"refresh": theirs["refresh"]},
                    format="json").status_code == 200


def test_refresh_rotates_and_the_old_refresh_token_is_spent(api: APIClient,
                                                            tenant_a: Any) -> None:
    first = _login(api, "alpha-viewer").json()
    response = api.post("/api/admin/auth/refresh", {"refresh": first["refresh"]},
                        format="json")
    assert response.status_code == 200
    second = response.json()
    assert set(second) == {"access", "refresh"}
    assert second["refresh"] != first["refresh"]
    assert _bearer(second["access"]).get("/api/admin/me").status_code == 200
    _assert_401(api.post("/api/admin/auth/refresh", {"refresh": first["refresh"]},
                         format="json"))
    assert api.post("/api/admin/auth/refresh", {"refresh": second["refresh"]},
                    format="json").status_code == 200


def test_refresh_picks_up_a_role_change(api: APIClient, tenant_a: Any) -> None:
    refresh = _login(api, "alpha-viewer").json()["refresh"]
    tenant_a.viewer.role = "operator"
    tenant_a.viewer.save()
    access = api.post("/api/admin/auth/refresh", {"refresh": refresh},
                      format="json").json()["access"]
    assert jwt.decode(access, options={"verify_signature": False})["roles"] == ["operator"]


def test_refresh_with_garbage_is_401(api: APIClient, db: None) -> None:
    _assert_401_body = api.post("/api/admin/auth/refresh", {"refresh": "garbage"},
                                format="json")
    assert _assert_401_body.status_code == 401


def test_forged_forwarded_for_does_not_dodge_the_login_throttle(
    api: APIClient, tenant_a: Any, settings: Any
) -> None:
    settings.LOGIN_THROTTLE_RATE = "2/min"
    codes = [
        api.post("/api/admin/auth/token", {"username": "alpha-viewer", "password": "bad"},
                 format="json", HTTP_X_FORWARDED_FOR=f"10.0.0.{i}").status_code
        for i in range(3)
    ]
    assert codes == [401, 401, 429]


def test_behind_a_trusted_proxy_each_client_is_throttled_and_audited_by_its_own_address(
    api: APIClient, tenant_a: Any, settings: Any
) -> None:
    """One notion of trusted proxies: the throttled address is the audited address."""
    from audit.models import AuditEntry

    settings.LOGIN_THROTTLE_RATE = "2/min"
    settings.TRUSTED_PROXIES = ["10.0.0.0/8"]

    def attempt(forwarded_for: str) -> int:
        return api.post("/api/admin/auth/token", {"username": "alpha-viewer", "password": "x"},
                        format="json", REMOTE_ADDR="10.0.0.2",
                        HTTP_X_FORWARDED_FOR=forwarded_for).status_code

    # A client prepending its own X-Forwarded-For entry is still the hop HAProxy saw.
    first = [attempt(f"192.0.2.{i}, 198.51.100.7") for i in range(3)]
    assert first == [401, 401, 429]
    # Another client behind the same proxy has its own budget.
    assert attempt("198.51.100.8") == 401
    ips = set(AuditEntry.objects.filter(action="login.failure").values_list("ip", flat=True))
    assert ips == {"198.51.100.7", "198.51.100.8"}



def test_a_token_used_before_its_user_is_deactivated_is_refused_on_the_next_request(
    api: APIClient, tenant_a: Any
) -> None:
    """No per-process reuse of the user row may outlive a change to it."""
    client = _bearer(_login(api, "alpha-viewer").json()["access"])
    assert client.get("/api/admin/me").status_code == 200
    tenant_a.viewer.is_active = False
    tenant_a.viewer.save()
    _assert_401(client.get("/api/admin/me"))


PASSWORD_CHANGE = "/api/admin/me/password"


def test_a_user_changes_their_own_password_and_every_other_session_ends(
    api: APIClient, tenant_a: Any
) -> None:
    here, elsewhere = _login(api, "alpha-viewer").json(), _login(api, "alpha-viewer").json()
    client = _bearer(here["access"])
    wrong = client.post(PASSWORD_CHANGE, {"current_password": "not-it",
                                          "new_password": "Fresh-Horse-Battery-9"},
                        format="json")
    assert wrong.status_code == 400
    assert "current_password" in wrong.json()["error"]["details"]
    weak = client.post(PASSWORD_CHANGE, {"current_password": DEFAULT_PASSWORD,
                                         "new_password": "123"}, format="json")
    assert weak.status_code == 400 and "new_password" in weak.json()["error"]["details"]
    assert _login(api, "alpha-viewer").status_code == 200  # nothing changed so far

    changed = client.post(PASSWORD_CHANGE, {"current_password": DEFAULT_PASSWORD,
                                            "new_password": "Fresh-Horse-Battery-9"},
                          format="json")
    assert changed.status_code == 200, changed.content
    _assert_401(client.get("/api/admin/me"))
    _assert_401(api.post("/api/admin/auth/refresh", {"refresh": elsewhere["refresh"]},
                         format="json"))
    assert _bearer(changed.json()["access"]).get("/api/admin/me").status_code == 200
    assert _login(api, "alpha-viewer").status_code == 401
    assert _login(api, "alpha-viewer", "Fresh-Horse-Battery-9").status_code == 200
    assert AuditEntry.objects.filter(object_id=str(tenant_a.viewer.id), action="login.failure",
                                     after__via="password_change").count() == 1
    assert AuditEntry.objects.filter(object_id=str(tenant_a.viewer.id),
                                     action="sessions.revoke").count() == 1
    change = AuditEntry.objects.get(object_id=str(tenant_a.viewer.id), action="update")
    assert change.after == {"changed": "password", "by": "self"}


def test_guessing_the_current_password_locks_the_account_like_logins(
    api: APIClient, tenant_a: Any
) -> None:
    """A stolen token is no faster a password oracle than the login page."""
    client = _bearer(_login(api, "alpha-viewer").json()["access"])
    attempts = [client.post(PASSWORD_CHANGE, {"current_password": f"guess-{i}",
                                              "new_password": "Fresh-Horse-Battery-9"},
                            format="json").status_code
                for i in range(settings.LOGIN_LOCKOUT_THRESHOLD + 1)]
    assert attempts[:settings.LOGIN_LOCKOUT_THRESHOLD] == [400] * settings.LOGIN_LOCKOUT_THRESHOLD
    assert attempts[-1] == 429
    right = client.post(PASSWORD_CHANGE, {"current_password": DEFAULT_PASSWORD,
                                          "new_password": "Fresh-Horse-Battery-9"},
                        format="json")
    assert right.status_code == 429  # locked, even with the right password
    assert _login(api, "alpha-viewer").status_code == 429


def test_changing_a_password_needs_a_token(api: APIClient, db: None) -> None:
    _assert_401(api.post(PASSWORD_CHANGE, {"current_password": "a", "new_password": "b"},
                         format="json"))
