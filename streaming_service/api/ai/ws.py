"""``WS /ws/alerts``: the tenant's live ``PlateDetected``, ``AlertRaised`` and
``AlertAcknowledged`` events as JSON.

Authentication: an access token as ``?token=`` or in ``Sec-WebSocket-Protocol`` as the
pair ``["bearer", "<jwt>"]`` (browsers cannot set headers on a WebSocket; the server
echoes ``bearer``). A missing, bad, expired or revoked token closes the socket with code
4401 before any event is sent; so does the token expiring or being revoked later.

Messages: ``{"type": "welcome", "last_event_id": ...}`` first, then each event as its
envelope plus ``id`` (the live-feed position), and ``{"type": "ping"}`` heartbeats. A
client that reconnects with ``?last_event_id=<id>`` first receives what it missed (at
most ``GTV_LIVE_REPLAY_SECONDS`` back): a replay hands out past plate reads, so one that
has events to send is audited (``live_feed.replay``) before the handshake completes, and
a replay that cannot be audited is refused with 1013 before the welcome.
Events come from the tenant's Redis Stream, so every API replica serves every client;
inside a replica one reader per tenant fans them out to its sockets
(``application.ai.live_hub``). A replica at its ``GTV_WS_MAX_CONNECTIONS`` closes a new
socket with 1013 ("try again later"), and so it does a client that stopped reading and fell
``GTV_WS_QUEUE_SIZE`` events behind: reconnecting with ``last_event_id`` loses nothing.
A user past ``GTV_WS_MAX_CONNECTIONS_PER_USER`` sockets on the replica is closed with 4429,
a token that grants no known role with 4403, and a handshake that could not check the
token (Redis or the database unreachable) with 1013.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

from fastapi import WebSocket, WebSocketDisconnect
from starlette.websockets import WebSocketState

from shared_kernel.auth import InvalidToken, Role, TokenClaims
from streaming_service.api.deps import client_ip
from streaming_service.api.routing import PrefixRouter
from streaming_service.application.ai.live_hub import (
    HubFull,
    LiveMessage,
    SubscriberLagged,
    Subscription,
    UserLimitReached,
    position,
)
from streaming_service.application.audit import Actor
from streaming_service.bootstrap import Services
from streaming_service.domain.errors import AuditUnavailable

log = logging.getLogger(__name__)

router = PrefixRouter(tags=["live"])

CLOSE_UNAUTHORIZED = 4401
CLOSE_FORBIDDEN = 4403
CLOSE_BAD_REQUEST = 4400
CLOSE_TRY_AGAIN_LATER = 1013
CLOSE_TOO_MANY = 4429
SUBPROTOCOL = "bearer"
_STREAM_ID = re.compile(r"^\d{1,20}-\d{1,20}$")


def _token_from(websocket: WebSocket) -> tuple[str | None, str | None]:
    """The token and the subprotocol to answer with (when it came in the header)."""
    query_token = websocket.query_params.get("token")
    if query_token:
        return query_token, None
    offered = [p.strip() for p in websocket.scope.get("subprotocols", [])]
    if len(offered) >= 2 and offered[0].lower() == SUBPROTOCOL:
        return offered[1], offered[0]
    return None, None


async def _refuse(websocket: WebSocket, subprotocol: str | None, code: int, reason: str) -> None:
    # Accept then close: a browser sees the close code (a refused handshake is opaque).
    await websocket.accept(subprotocol=subprotocol)
    await websocket.close(code=code, reason=reason)


@router.websocket("/ws/alerts")
async def live_alerts(websocket: WebSocket) -> None:
    services: Services = websocket.app.state.services
    token, subprotocol = _token_from(websocket)
    if not token:
        await _refuse(websocket, subprotocol, CLOSE_UNAUTHORIZED, "token required")
        return
    try:
        claims = await services.verifier.averify(token, services.denylist)
    except InvalidToken:
        await _refuse(websocket, subprotocol, CLOSE_UNAUTHORIZED, "invalid or revoked token")
        return
    if claims.tenant_id is None:
        await _refuse(websocket, subprotocol, CLOSE_FORBIDDEN, "token names no tenant")
        return
    if not claims.has_at_least(Role.VIEWER):
        await _refuse(websocket, subprotocol, CLOSE_FORBIDDEN, "token grants no role")
        return
    resume = websocket.query_params.get("last_event_id")
    if resume is not None and not _STREAM_ID.match(resume):
        await _refuse(websocket, subprotocol, CLOSE_BAD_REQUEST, "bad last_event_id")
        return

    tenant_id = claims.tenant_id
    try:
        subscription = await services.live_hub.subscribe(tenant_id, claims.user_id)
    except UserLimitReached:
        await _refuse(websocket, subprotocol, CLOSE_TOO_MANY,
                      "too many live connections of this user on this server")
        return
    except HubFull:
        await _refuse(websocket, subprotocol, CLOSE_TRY_AGAIN_LATER,
                      "too many live connections on this server")
        return
    try:
        start = resume or subscription.since
        missed = services.live_hub.catch_up(tenant_id, start, subscription.since)
        first = await anext(missed, None)
        if first is not None and not await _audit_replay(websocket, services, claims, start,
                                                         first, subscription.since):
            await _refuse(websocket, subprotocol, CLOSE_TRY_AGAIN_LATER,
                          "the replay of missed events could not be audited; reconnect later")
            return
        await websocket.accept(subprotocol=subprotocol)
        await websocket.send_json({"type": "welcome", "tenant_id": str(tenant_id),
                                   "last_event_id": start})
        session = _LiveSession(websocket, services, claims, subscription, start,
                               _replay(first, missed))
        await session.run()
    finally:
        subscription.close()


async def _audit_replay(websocket: WebSocket, services: Services, claims: TokenClaims,
                        requested: str, first: LiveMessage, until: str) -> bool:
    """Audit a replay of missed events before the socket is even accepted: it hands out
    past plate reads, as a search does. False when that cannot be done; the handshake is
    then refused (1013, before the welcome, so the client's backoff keeps growing)."""
    actor = Actor.from_claims(claims, ip=client_ip(websocket),
                              user_agent=websocket.headers.get("user-agent", ""))
    try:
        await services.audit.record(
            actor, "live_feed.replay", object_type="live_feed", object_id=None,
            tenant_id=claims.tenant_id,
            after={"requested_from": requested, "first": first.id, "until": until})
    except AuditUnavailable:
        return False
    return True


async def _replay(first: LiveMessage | None,
                  rest: AsyncIterator[LiveMessage]) -> AsyncIterator[LiveMessage]:
    if first is None:
        return
    yield first
    async for message in rest:
        yield message


class _LiveSession:
    def __init__(self, websocket: WebSocket, services: Services, claims: TokenClaims,
                 subscription: Subscription, start: str,
                 missed: AsyncIterator[LiveMessage]) -> None:
        self._ws = websocket
        self._services = services
        self._missed = missed
        self._claims = claims
        self._subscription = subscription
        self._tenant_id: uuid.UUID = subscription.tenant_id
        self._last = start
        self._send_lock = asyncio.Lock()

    async def _send(self, message: dict[str, Any]) -> None:
        async with self._send_lock:
            await self._ws.send_json(message)

    async def run(self) -> None:
        tasks = [
            asyncio.create_task(self._pump(), name="ws-pump"),
            asyncio.create_task(self._heartbeat(), name="ws-heartbeat"),
            asyncio.create_task(self._receive(), name="ws-receive"),
        ]
        try:
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                exc = task.exception()
                if exc is not None and not isinstance(exc, WebSocketDisconnect):
                    log.warning("live socket ended on an error", extra={"error": repr(exc)[:300]})
        finally:
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(BaseException):
                    await task
            if self._ws.application_state == WebSocketState.CONNECTED:
                with contextlib.suppress(Exception):
                    await self._ws.close()

    async def _pump(self) -> None:
        # What a resuming client missed comes from the feed itself (already audited), up
        # to the point from which the hub's queue is complete; then the queue, skipping
        # what was sent.
        async for event in self._missed:
            await self._deliver(event)
        while True:
            try:
                event = await self._subscription.next()
            except SubscriberLagged:
                await self._ws.close(code=CLOSE_TRY_AGAIN_LATER,
                                     reason="fell behind; reconnect with last_event_id")
                return
            if position(event.id) > position(self._last):
                await self._deliver(event)

    async def _deliver(self, message: LiveMessage) -> None:
        async with self._send_lock:
            await self._ws.send_text(message.text)
        self._last = message.id

    async def _heartbeat(self) -> None:
        """Close the socket within a revocation check of the token expiring or being
        revoked (logout, or the user deactivated, demoted or their password changed);
        ping the client every heartbeat interval."""
        interval = self._services.settings.ws_heartbeat_seconds
        check = min(interval, self._services.settings.ws_revocation_check_seconds)
        next_ping = time.monotonic() + interval
        while True:
            # Every socket of the replica checks on the same ticks (multiples of ``check``
            # on the clock), so their checks share one Redis round trip (live_denylist).
            until_tick = check - time.time() % check
            await asyncio.sleep(min(until_tick, max(0.05, self._claims.exp - time.time())))
            if time.time() >= self._claims.exp:
                await self._ws.close(code=CLOSE_UNAUTHORIZED, reason="token expired")
                return
            if await self._services.live_denylist.is_revoked(self._claims):
                await self._ws.close(code=CLOSE_UNAUTHORIZED, reason="token revoked")
                return
            if time.monotonic() >= next_ping:
                next_ping = time.monotonic() + interval
                await self._send({"type": "ping", "at": time.time(),
                                  "last_event_id": self._last})

    async def _receive(self) -> None:
        # Clients may send {"type": "pong"}; anything else is ignored. Returning ends the
        # session (the client went away).
        while True:
            message = await self._ws.receive()
            if message["type"] == "websocket.disconnect":
                return
