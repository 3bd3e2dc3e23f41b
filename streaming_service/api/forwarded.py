"""The client's address and scheme as our proxies saw them, for every HTTP and WebSocket
request of the streaming service.

uvicorn runs with ``--no-proxy-headers``: its own handling would believe whatever
``--forwarded-allow-ips`` says (``*`` takes the leftmost, client-chosen
``X-Forwarded-For``). This middleware applies the one rule of
``shared_kernel.proxies`` (``GTV_TRUSTED_PROXIES``, shared with the admin service)
instead: when the TCP peer is a trusted proxy, ``scope["client"]`` becomes the nearest
untrusted ``X-Forwarded-For`` hop and ``scope["scheme"]`` follows ``X-Forwarded-Proto``
(so redirects behind TLS stay https); from anyone else both headers are ignored. Audit
entries, logs and anything else reading ``request.client`` then agree.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from shared_kernel.proxies import TrustedProxies

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

_SCHEMES = {"http": {"http": "http", "https": "https"},
            "websocket": {"http": "ws", "https": "wss", "ws": "ws", "wss": "wss"}}


class ForwardedHeadersMiddleware:
    def __init__(self, app: ASGIApp, proxies: TrustedProxies) -> None:
        self.app = app
        self.proxies = proxies

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in _SCHEMES and self.proxies.networks:
            client = scope.get("client")
            peer = client[0] if client else None
            if self.proxies.trusts(peer):
                scope = self._rewrite(scope, str(peer), client[1] if client else 0)
        await self.app(scope, receive, send)

    def _rewrite(self, scope: Scope, peer: str, port: int) -> Scope:
        forwarded: list[str] = []
        proto: str | None = None
        for name, value in scope.get("headers", ()):
            if name == b"x-forwarded-for":
                forwarded.append(value.decode("latin-1"))
            elif name == b"x-forwarded-proto" and proto is None:
                # The edge proxy sets (never appends) this header: its first value is the
                # scheme the client used.
                proto = value.decode("latin-1").split(",")[0].strip().lower()
        scope = dict(scope)
        ip = self.proxies.client_ip(peer, ", ".join(forwarded))
        if ip is not None and ip != peer:
            scope["client"] = (ip, 0)
        scheme = _SCHEMES[scope["type"]].get(proto or "")
        if scheme is not None:
            scope["scheme"] = scheme
        return scope
