"""Cookies and HTTPS behind the proxy (issue 9, item 12): secure, HttpOnly session and
CSRF cookies outside development, and request.is_secure() from HAProxy's
X-Forwarded-Proto only when a trusted proxy is configured."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from shared_kernel.settings import PROJECT_ROOT

_PRINT = (
    "import json; from django.conf import settings as s; import django; django.setup(); "
    "print(json.dumps({k: getattr(s, k) for k in ('SESSION_COOKIE_SECURE', "
    "'CSRF_COOKIE_SECURE', 'SESSION_COOKIE_HTTPONLY', 'SECURE_PROXY_SSL_HEADER', "
    "'SESSION_COOKIE_SAMESITE')}))"
)


def _settings(**env: str) -> dict[str, object]:
    clean = {k: v for k, v in os.environ.items()
             if k not in ("GTV_ENVIRONMENT", "GTV_SECURE_COOKIES", "GTV_TRUSTED_PROXIES")}
    result = subprocess.run(
        [sys.executable, "-c", _PRINT], capture_output=True, text=True, timeout=60,
        cwd=PROJECT_ROOT, check=True,
        env={**clean, "DJANGO_SETTINGS_MODULE": "config.settings",
             "PYTHONPATH": f"{PROJECT_ROOT}:{PROJECT_ROOT / 'admin_service'}", **env},
    )
    return dict(json.loads(result.stdout.strip().splitlines()[-1]))


def test_production_cookies_are_secure_and_https_comes_from_the_trusted_proxy() -> None:
    values = _settings(GTV_ENVIRONMENT="production", GTV_TRUSTED_PROXIES="172.16.0.0/12")
    assert values["SESSION_COOKIE_SECURE"] is True and values["CSRF_COOKIE_SECURE"] is True
    assert values["SESSION_COOKIE_HTTPONLY"] is True
    assert values["SESSION_COOKIE_SAMESITE"] == "Lax"
    assert values["SECURE_PROXY_SSL_HEADER"] == ["HTTP_X_FORWARDED_PROTO", "https"]


def test_without_a_trusted_proxy_the_forwarded_proto_is_not_believed() -> None:
    values = _settings(GTV_ENVIRONMENT="production")
    assert values["SECURE_PROXY_SSL_HEADER"] is None


def test_the_plain_http_demo_may_turn_secure_cookies_off() -> None:
    assert _settings(GTV_ENVIRONMENT="development")["SESSION_COOKIE_SECURE"] is False
    assert _settings(GTV_ENVIRONMENT="production", GTV_SECURE_COOKIES="false")[
        "SESSION_COOKIE_SECURE"] is False
