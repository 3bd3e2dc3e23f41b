"""Who the client is behind our reverse proxies, for the admin service.

The rule itself lives in ``shared_kernel.proxies`` so that both services apply the same
one: ``settings.TRUSTED_PROXIES`` (env ``GTV_TRUSTED_PROXIES``, read by the shared
settings) lists the proxies in front of Django (HAProxy, Kong); ``X-Forwarded-For`` is
believed only when ``REMOTE_ADDR`` is one of them, right to left up to the first
untrusted hop. Audit entries and the login throttle both call ``client_ip``, so the
address that is throttled is the address that is audited.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings

from shared_kernel.proxies import TrustedProxies


def trusted_proxies() -> TrustedProxies:
    # Read on every call (cached by value in shared_kernel): tests override the setting.
    return TrustedProxies.from_strings(tuple(getattr(settings, "TRUSTED_PROXIES", ()) or ()))


def client_ip(request: Any) -> str | None:
    """The client's address: ``REMOTE_ADDR``, or the nearest untrusted hop of
    ``X-Forwarded-For`` when (and only when) ``REMOTE_ADDR`` is a trusted proxy."""
    meta = getattr(request, "META", {}) or {}
    return trusted_proxies().client_ip(
        meta.get("REMOTE_ADDR"), str(meta.get("HTTP_X_FORWARDED_FOR", "") or "")
    )
