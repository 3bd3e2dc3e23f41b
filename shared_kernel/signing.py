"""Comparing what a client presents (a URL signature, a media token's MAC, a hook token)
with what the server expects, in constant time.

``hmac.compare_digest`` on two ``str`` raises ``TypeError`` as soon as one of them holds a
non-ASCII character, which a client controls: ``?sig=é`` became a 500 instead of a 403.
Both sides are compared as UTF-8 bytes here (a lone surrogate is encoded too, so no input
can raise), and anything but an exact match is simply unequal.
"""

from __future__ import annotations

import hmac


def _as_bytes(value: str | bytes) -> bytes:
    if isinstance(value, bytes):
        return value
    return value.encode("utf-8", errors="surrogatepass")


def constant_time_equals(presented: str | bytes, expected: str | bytes) -> bool:
    """Whether ``presented`` equals ``expected``, in time independent of where they differ."""
    return hmac.compare_digest(_as_bytes(presented), _as_bytes(expected))
