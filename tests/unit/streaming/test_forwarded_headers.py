"""The streaming service's client address: the shared trusted-proxy rule, not the leftmost
(client-chosen) X-Forwarded-For."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from shared_kernel.proxies import TrustedProxies
from streaming_service.api.deps import client_ip
from streaming_service.api.forwarded import ForwardedHeadersMiddleware


async def whoami(request: Request) -> JSONResponse:
    return JSONResponse({"ip": client_ip(request), "scheme": request.url.scheme,
                         "redirect": str(request.url_for("whoami"))})


def app_behind(trusted: list[str]) -> Any:
    app = Starlette(routes=[Route("/whoami", whoami, name="whoami")])
    app.add_middleware(ForwardedHeadersMiddleware, proxies=TrustedProxies.from_strings(trusted))
    return app


async def ask(app: Any, peer: str, headers: dict[str, str]) -> dict[str, Any]:
    transport = httpx.ASGITransport(app=app, client=(peer, 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://gtv.test") as client:
        response = await client.get("/whoami", headers=headers)
    return dict(response.json())


def test_client_ip_ignores_a_forged_forwarded_for_from_an_untrusted_peer() -> None:
    """Without the middleware's blessing the header means nothing: the TCP peer is the
    client (today's code took the leftmost X-Forwarded-For)."""
    request = Request({"type": "http", "method": "GET", "path": "/", "headers": [
        (b"x-forwarded-for", b"6.6.6.6, 203.0.113.9")], "client": ("198.51.100.7", 5000)})
    assert client_ip(request) == "198.51.100.7"


async def test_an_untrusted_peer_cannot_choose_its_address_or_scheme() -> None:
    seen = await ask(app_behind(["10.0.0.0/8"]), "198.51.100.7",
                     {"X-Forwarded-For": "6.6.6.6", "X-Forwarded-Proto": "https"})
    assert seen["ip"] == "198.51.100.7"
    assert seen["scheme"] == "http"


async def test_behind_trusted_proxies_the_real_client_and_scheme_are_used() -> None:
    # HAProxy replaced the client's header with what it saw; Kong appended HAProxy.
    seen = await ask(app_behind(["10.0.0.0/8"]), "10.0.0.11",
                     {"X-Forwarded-For": "203.0.113.9, 10.0.0.10", "X-Forwarded-Proto": "https"})
    assert seen["ip"] == "203.0.113.9"
    assert seen["scheme"] == "https"
    assert seen["redirect"].startswith("https://gtv.test/")


async def test_a_forged_leftmost_hop_behind_a_trusted_proxy_is_skipped() -> None:
    seen = await ask(app_behind(["10.0.0.0/8"]), "10.0.0.10",
                     {"X-Forwarded-For": "6.6.6.6, 203.0.113.9"})
    assert seen["ip"] == "203.0.113.9"


async def test_with_no_trusted_proxies_the_headers_are_ignored() -> None:
    seen = await ask(app_behind([]), "10.0.0.10",
                     {"X-Forwarded-For": "203.0.113.9", "X-Forwarded-Proto": "https"})
    assert seen == {"ip": "10.0.0.10", "scheme": "http", "redirect": "http://gtv.test/whoami"}


@pytest.mark.parametrize(("proto", "scheme"), [("https", "wss"), ("http", "ws")])
async def test_websocket_scopes_get_the_client_and_a_ws_scheme(proto: str, scheme: str) -> None:
    seen: dict[str, Any] = {}

    async def inner(scope: Any, receive: Any, send: Any) -> None:
        seen.update(client=scope["client"], scheme=scope["scheme"])

    middleware = ForwardedHeadersMiddleware(inner, TrustedProxies.from_strings(["10.0.0.0/8"]))
    await middleware({"type": "websocket", "scheme": "ws", "client": ("10.0.0.10", 1),
                      "headers": [(b"x-forwarded-for", b"203.0.113.9"),
                                  (b"x-forwarded-proto", proto.encode())]}, None, None)
    assert seen == {"client": ("203.0.113.9", 0), "scheme": scheme}


def test_create_app_installs_the_middleware_with_the_shared_setting(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from streaming_service.main import create_app
    from streaming_service.settings import StreamingSettings

    monkeypatch.setenv("GTV_TRUSTED_PROXIES", "172.28.0.10,172.28.0.11")
    app = create_app(StreamingSettings())
    (installed,) = [m for m in app.user_middleware if m.cls is ForwardedHeadersMiddleware]
    assert [str(n) for n in installed.kwargs["proxies"].networks] == [
        "172.28.0.10/32", "172.28.0.11/32"]


def test_create_app_scrubs_tokens_from_uvicorns_own_log_lines() -> None:
    """uvicorn logs every WebSocket handshake with its ?token= at INFO, access log or not."""
    import logging

    from shared_kernel.logging import RedactSecretsFilter
    from streaming_service.main import create_app
    from streaming_service.settings import StreamingSettings

    logger = logging.getLogger("uvicorn.error")
    logger.filters = [f for f in logger.filters if not isinstance(f, RedactSecretsFilter)]
    create_app(StreamingSettings())
    assert any(isinstance(f, RedactSecretsFilter) for f in logger.filters)
