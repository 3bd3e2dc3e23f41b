"""HTTP Digest authentication (RFC 7616, MD5, ``qop=auth``) for a simulated camera that
wants it on every ONVIF request, as some firmwares do (older Hikvision, Intelbras and
Dahua OEM builds), on top of WS-Security.

The server issues a fresh nonce with each 401 challenge and accepts it for
``NONCE_LIFETIME`` seconds.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from urllib.request import parse_http_list, parse_keqv_list

REALM = "gtv-camera-sim"
NONCE_LIFETIME = 300.0
MAX_NONCES = 1024


def _md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()  # noqa: S324 (the protocol's hash)


class HttpDigestChecker:
    def __init__(self, user: str, password: str) -> None:
        self.user, self.password = user, password
        self._nonces: dict[str, float] = {}
        self._lock = threading.Lock()

    def challenge(self) -> str:
        """A ``WWW-Authenticate`` value with a new nonce."""
        nonce = secrets.token_hex(16)
        now = time.monotonic()
        with self._lock:
            self._nonces = {n: t for n, t in self._nonces.items()
                            if now - t < NONCE_LIFETIME}
            if len(self._nonces) >= MAX_NONCES:
                self._nonces.pop(next(iter(self._nonces)))
            self._nonces[nonce] = now
        return f'Digest realm="{REALM}", qop="auth", nonce="{nonce}", algorithm=MD5'

    def check(self, method: str, header: str | None) -> bool:
        """Whether ``header`` (an ``Authorization`` value) answers one of our fresh
        nonces with the right user and password."""
        if not header or header[:7].lower() != "digest ":
            return False
        fields = parse_keqv_list(parse_http_list(header[7:]))
        nonce = fields.get("nonce", "")
        with self._lock:
            issued = self._nonces.get(nonce)
        if issued is None or time.monotonic() - issued > NONCE_LIFETIME:
            return False
        if fields.get("username") != self.user or fields.get("realm") != REALM:
            return False
        if fields.get("algorithm", "MD5").upper() != "MD5" or fields.get("qop") != "auth":
            return False
        ha1 = _md5(f"{self.user}:{REALM}:{self.password}")
        ha2 = _md5(f"{method}:{fields.get('uri', '')}")
        expected = _md5(f"{ha1}:{nonce}:{fields.get('nc', '')}:{fields.get('cnonce', '')}:"
                        f"auth:{ha2}")
        return hmac.compare_digest(expected, fields.get("response", ""))
