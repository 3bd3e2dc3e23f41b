"""WS-Security UsernameToken checking, as an ONVIF camera does it.

A request carries ``<wsse:UsernameToken>`` with ``Username``, ``Password`` of type
``#PasswordDigest`` = Base64(SHA-1(nonce + created + password)), a Base64 ``Nonce`` and
a ``wsu:Created`` time. The camera recomputes the digest, refuses a ``Created`` too far
from its own clock, and refuses a nonce it has already seen (replay).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from datetime import UTC, datetime
from xml.etree.ElementTree import Element

WSSE = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
WSU = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"
DIGEST_TYPE = ("http://docs.oasis-open.org/wss/2004/01/"
               "oasis-200401-wss-username-token-profile-1.0#PasswordDigest")


def password_digest(nonce: bytes, created: str, password: str) -> str:
    raw = hashlib.sha1(nonce + created.encode() + password.encode()).digest()  # noqa: S324 (WS-Security)
    return base64.b64encode(raw).decode()


def _parse_created(text: str) -> datetime | None:
    try:
        value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


class UsernameTokenChecker:
    """Checks the UsernameToken of a request's SOAP header against one user."""

    def __init__(self, user: str, password: str, *, max_skew: float = 300.0,
                 now: Callable[[], float] = time.time, remembered_nonces: int = 4096) -> None:
        self.user, self.password, self.max_skew = user, password, max_skew
        self._now = now
        self._seen: OrderedDict[bytes, None] = OrderedDict()
        self._limit = remembered_nonces
        self._lock = threading.Lock()

    def check(self, header: Element | None) -> str | None:
        """None when the header authenticates the user, else why not (for the log)."""
        token = None if header is None else header.find(f".//{{{WSSE}}}UsernameToken")
        if token is None:
            return "no UsernameToken"
        username = token.findtext(f"{{{WSSE}}}Username") or ""
        password = token.find(f"{{{WSSE}}}Password")
        nonce_text = token.findtext(f"{{{WSSE}}}Nonce") or ""
        created = token.findtext(f"{{{WSU}}}Created") or ""
        if password is None or password.get("Type") != DIGEST_TYPE:
            return "password is not a digest"
        try:
            nonce = base64.b64decode(nonce_text, validate=True)
        except (binascii.Error, ValueError):
            return "nonce is not base64"
        when = _parse_created(created)
        if not nonce or when is None:
            return "nonce or created missing"
        if abs(when.timestamp() - self._now()) > self.max_skew:
            return "created too far from the camera's clock"
        expected = password_digest(nonce, created.strip(), self.password)
        user_ok = hmac.compare_digest(username.encode(), self.user.encode())
        digest_ok = hmac.compare_digest((password.text or "").strip().encode(), expected.encode())
        if not (user_ok and digest_ok):
            return "wrong user or password"
        with self._lock:
            if nonce in self._seen:
                return "nonce replayed"
            self._seen[nonce] = None
            while len(self._seen) > self._limit:
                self._seen.popitem(last=False)
        return None
