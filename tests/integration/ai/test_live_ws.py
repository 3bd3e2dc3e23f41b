"""WS /ws/alerts against the real uvicorn server and Redis: tenant isolation, catch-up
after a reconnect, subprotocol auth, refusal of bad/revoked tokens, heartbeats."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
import websockets
from websockets.asyncio.client import ClientConnection

from shared_kernel.auth import AsyncRedisDenylist
from shared_kernel.plates import PlateNumber
from streaming_service.application.ai.detections import NewDetection
from streaming_service.domain.errors import AuditUnavailable

from .conftest import Server, audit_records


async def _connect(server: Server, token: str, **params: str) -> ClientConnection:
    query = "&".join(f"{k}={v}" for k, v in {"token": token, **params}.items())
    ws = await websockets.connect(f"{server.ws_url}/ws/alerts?{query}", open_timeout=5)
    welcome = json.loads(await asyncio.wait_for(ws.recv(), 5))
    assert welcome["type"] == "welcome"
    return ws


async def _next_event(ws: ClientConnection, timeout: float = 3.0) -> dict[str, Any]:
    """The next non-heartbeat message."""
    deadline = time.monotonic() + timeout
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("no event")
        message = json.loads(await asyncio.wait_for(ws.recv(), remaining))
        if message.get("type") != "ping":
            return message


async def _record(server: Server, tenant_id: uuid.UUID, plate: str) -> Any:
    return await server.app.state.services.recorder.record(NewDetection(
        tenant_id=tenant_id, camera_id=uuid.uuid4(), plate=PlateNumber(plate),
        confidence=0.9, detected_at=datetime.now(UTC)))


async def test_each_tenant_receives_only_its_own_events_within_a_second(
    server: Server, make_caller: Any
) -> None:
    alice, bob = make_caller("viewer"), make_caller("viewer")
    ws_a = await _connect(server, alice.token)
    ws_b = await _connect(server, bob.token)
    try:
        started = time.monotonic()
        recorded = await _record(server, alice.tenant_id, "AAA1A11")
        event = await _next_event(ws_a, timeout=1.0)
        assert time.monotonic() - started < 1.0
        assert event["type"] == "PlateDetected"
        assert event["payload"]["detection_id"] == str(recorded.detection.id)
        assert event["tenant_id"] == str(alice.tenant_id) and event["id"]
        with pytest.raises(TimeoutError):
            await _next_event(ws_b, timeout=0.8)
    finally:
        await ws_a.close()
        await ws_b.close()


async def test_alert_raised_arrives_live(server: Server, make_caller: Any, http: Any) -> None:
    operator = make_caller("operator")
    wl = (await http.post("/api/ai/watchlists/", headers=operator.headers,
                          json={"name": "Live"})).json()
    await http.post(f"/api/ai/watchlists/{wl['id']}/entries/", headers=operator.headers,
                    json={"plate": "LIV3E45", "severity": "critical", "reason": "wanted"})
    ws = await _connect(server, operator.token)
    try:
        started = time.monotonic()
        recorded = await _record(server, operator.tenant_id, "LIV3E45")
        events = [await _next_event(ws, timeout=1.0) for _ in range(2)]
        assert time.monotonic() - started < 1.0
        assert [e["type"] for e in events] == ["PlateDetected", "AlertRaised"]
        assert [e["event_id"] for e in events] == [str(e.event_id) for e in recorded.events]
    finally:
        await ws.close()


async def test_a_provisional_alert_and_its_correction_arrive_live(
    server: Server, make_caller: Any, http: Any
) -> None:
    operator = make_caller("operator")
    wl = (await http.post("/api/ai/watchlists/", headers=operator.headers,
                          json={"name": "Provisional"})).json()
    await http.post(f"/api/ai/watchlists/{wl['id']}/entries/", headers=operator.headers,
                    json={"plate": "UPD1*", "severity": "high", "reason": "wanted"})
    recorder = server.app.state.services.recorder
    first = NewDetection(tenant_id=operator.tenant_id, camera_id=uuid.uuid4(),
                         plate=PlateNumber("UPD1A28"), confidence=0.8,
                         detected_at=datetime.now(UTC))
    ws = await _connect(server, operator.token)
    try:
        early = await recorder.record_provisional(first)
        raised = await _next_event(ws)
        assert raised["type"] == "AlertRaised" and raised["payload"]["plate"] == "UPD1A28"
        await recorder.record(NewDetection(
            tenant_id=first.tenant_id, camera_id=first.camera_id,
            plate=PlateNumber("UPD1A23"), confidence=0.9, detected_at=first.detected_at,
            detection_id=first.detection_id))
        events = [await _next_event(ws) for _ in range(2)]
        assert [e["type"] for e in events] == ["AlertUpdated", "PlateDetected"]
        update = events[0]["payload"]
        assert update["alert_id"] == str(early.alerts[0].id)
        assert (update["change"], update["plate"], update["previous_plate"]) == \
            ("corrected", "UPD1A23", "UPD1A28")
        with pytest.raises(TimeoutError):
            await _next_event(ws, timeout=0.8)  # no second AlertRaised
    finally:
        await ws.close()


async def test_reconnecting_with_last_event_id_catches_up(server: Server,
                                                          make_caller: Any) -> None:
    caller = make_caller("viewer")
    ws = await _connect(server, caller.token)
    await _record(server, caller.tenant_id, "CAT1A01")
    seen = await _next_event(ws)
    await ws.close()
    # Missed while disconnected:
    missed = [await _record(server, caller.tenant_id, p) for p in ("CAT1A02", "CAT1A03")]
    ws = await _connect(server, caller.token, last_event_id=seen["id"])
    try:
        got = [await _next_event(ws) for _ in range(2)]
        assert [e["payload"]["plate"] for e in got] == ["CAT1A02", "CAT1A03"]
        assert [e["payload"]["detection_id"] for e in got] == [
            str(m.detection.id) for m in missed]
    finally:
        await ws.close()


async def _replays(sessions: Any, user_id: uuid.UUID) -> list[dict[str, Any]]:
    return await audit_records(sessions, user_id=str(user_id), action="live_feed.replay")


async def _missed_one(server: Server, caller: Any, plates: tuple[str, str]) -> str:
    """Read the first plate, disconnect, and record the second while a witness socket of
    the tenant stays open until it has it: the feed then holds an event the reconnecting
    socket missed (the outbox relay's delivery to the feed is not instant). Returns the
    id of the last event seen."""
    ws = await _connect(server, caller.token)
    await _record(server, caller.tenant_id, plates[0])
    seen = await _next_event(ws)
    await ws.close()
    witness = await _connect(server, caller.token)
    try:
        await _record(server, caller.tenant_id, plates[1])
        assert (await _next_event(witness))["payload"]["plate"] == plates[1]
    finally:
        await witness.close()
    return str(seen["id"])


async def test_a_replay_of_missed_reads_is_audited_before_it_is_sent(
    server: Server, make_caller: Any, sessions: Any
) -> None:
    """A replay hands out past plate reads, as a search does: who replayed what is on
    record. A connection without anything to replay records nothing."""
    caller = make_caller("viewer")
    seen = await _missed_one(server, caller, ("AUD1A01", "AUD1A02"))
    assert await _replays(sessions, caller.user_id) == []
    ws = await _connect(server, caller.token, last_event_id=seen)
    try:
        replayed = await _next_event(ws)
        assert replayed["payload"]["plate"] == "AUD1A02"
    finally:
        await ws.close()
    (replay,) = await _replays(sessions, caller.user_id)
    assert replay["tenant_id"] == str(caller.tenant_id)
    assert replay["object_type"] == "live_feed"
    assert replay["after"]["requested_from"] == seen
    assert replay["after"]["first"] == replayed["id"]
    # Reconnecting from the newest event seen replays nothing, and records nothing.
    ws = await _connect(server, caller.token, last_event_id=replayed["id"])
    await ws.close()
    assert len(await _replays(sessions, caller.user_id)) == 1


async def test_a_replay_that_cannot_be_audited_is_refused_before_the_welcome(
    server: Server, make_caller: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    caller = make_caller("viewer")
    seen = await _missed_one(server, caller, ("AUD2A01", "AUD2A02"))

    async def unavailable(*args: Any, **kwargs: Any) -> None:
        raise AuditUnavailable("the audit store is down", {})

    monkeypatch.setattr(server.app.state.services.audit, "record", unavailable)
    url = f"{server.ws_url}/ws/alerts?token={caller.token}&last_event_id={seen}"
    ws = await websockets.connect(url, open_timeout=5)
    with pytest.raises(websockets.ConnectionClosed):
        message = json.loads(await asyncio.wait_for(ws.recv(), 5))
        pytest.fail(f"sent {message} before refusing")
    assert ws.close_code == 1013
    assert ws.close_reason and "audited" in ws.close_reason


async def test_token_in_subprotocol_is_accepted_and_echoed(server: Server,
                                                           make_caller: Any) -> None:
    caller = make_caller("viewer")
    ws = await websockets.connect(f"{server.ws_url}/ws/alerts",
                                  subprotocols=["bearer", caller.token],  # type: ignore[list-item]
                                  open_timeout=5)
    try:
        assert ws.subprotocol == "bearer"
        assert json.loads(await ws.recv())["type"] == "welcome"
    finally:
        await ws.close()


async def _closed_with(server: Server, url: str, **kwargs: Any) -> int | None:
    ws = await websockets.connect(url, open_timeout=5, **kwargs)
    with pytest.raises(websockets.ConnectionClosed):
        while True:
            message = json.loads(await asyncio.wait_for(ws.recv(), 5))
            assert message.get("type") not in {"welcome", "PlateDetected"}
    return ws.close_code


async def test_missing_bad_expired_and_revoked_tokens_are_refused(
    server: Server, make_caller: Any, redis_client: Any
) -> None:
    base = f"{server.ws_url}/ws/alerts"
    assert await _closed_with(server, base) == 4401
    assert await _closed_with(server, f"{base}?token=not-a-jwt") == 4401
    expired = make_caller("viewer", ttl=-60)
    assert await _closed_with(server, f"{base}?token={expired.token}") == 4401
    revoked = make_caller("viewer")
    await AsyncRedisDenylist(redis_client).revoke(revoked.jti, revoked.exp)
    assert await _closed_with(server, f"{base}?token={revoked.token}") == 4401
    assert await _closed_with(server, base, subprotocols=["bearer", "garbage"]) == 4401


async def test_revoking_a_connected_token_closes_the_socket(
    server: Server, make_caller: Any, redis_client: Any
) -> None:
    caller = make_caller("viewer")
    ws = await _connect(server, caller.token)
    ping = json.loads(await asyncio.wait_for(ws.recv(), 3))
    assert ping["type"] == "ping"  # heartbeats every 0.5 s in tests
    await AsyncRedisDenylist(redis_client).revoke(caller.jti, caller.exp)
    with pytest.raises(websockets.ConnectionClosed):
        while True:
            await asyncio.wait_for(ws.recv(), 3)
    assert ws.close_code == 4401


async def test_a_user_whose_sessions_are_revoked_is_cut_off_within_seconds(
    server: Server, make_caller: Any, redis_client: Any
) -> None:
    caller = make_caller("viewer")
    ws = await _connect(server, caller.token)
    await AsyncRedisDenylist(redis_client).revoke_sessions(caller.user_id, 1, ttl_seconds=60)
    started = time.monotonic()
    with pytest.raises(websockets.ConnectionClosed):
        while True:
            await asyncio.wait_for(ws.recv(), 5)
    assert ws.close_code == 4401
    assert time.monotonic() - started < 3


async def test_events_reach_clients_of_another_replica(
    server: Server, make_caller: Any, streaming_settings: Any, redis_client: Any, object_store: Any
) -> None:
    from .conftest import build_app, serve

    caller = make_caller("viewer")
    async with serve(build_app(streaming_settings, redis_client, object_store)) as replica:
        ws = await _connect(replica, caller.token)
        try:
            # Recorded by the first replica (as a worker would), pushed by the second.
            recorded = await _record(server, caller.tenant_id, "REP1C22")
            event = await _next_event(ws, timeout=1.0)
            assert event["payload"]["detection_id"] == str(recorded.detection.id)
        finally:
            await ws.close()


async def test_three_hundred_sockets_of_one_tenant_share_one_feed_reader(
    server: Server, make_caller: Any
) -> None:
    """Each socket used to hold its own blocking XREAD: the 101st exhausted the Redis pool.
    (Six users of the tenant, fifty sockets each: a user's own limit.)"""
    caller = make_caller("viewer")
    users = [caller] + [make_caller("viewer", tenant_id=caller.tenant_id) for _ in range(5)]
    sockets = await asyncio.gather(*(_connect(server, user.token)
                                     for user in users for _ in range(50)))
    try:
        hub = server.app.state.services.live_hub
        assert hub.readers == 1 and hub.subscribers >= 300
        recorded = await _record(server, caller.tenant_id, "FAN0U71")
        events = await asyncio.gather(*(_next_event(ws, timeout=10) for ws in sockets))
        assert {e["payload"]["detection_id"] for e in events} == {str(recorded.detection.id)}
    finally:
        await asyncio.gather(*(ws.close() for ws in sockets))


async def test_a_replica_at_its_socket_limit_answers_try_again_later(
    make_caller: Any, streaming_settings: Any, redis_client: Any, object_store: Any
) -> None:
    from .conftest import build_app, serve

    caller = make_caller("viewer")
    limited = streaming_settings.model_copy(update={"ws_max_connections": 2})
    async with serve(build_app(limited, redis_client, object_store)) as replica:
        kept = [await _connect(replica, caller.token) for _ in range(2)]
        assert await _close_code(replica, caller.token) == 1013
        await kept[0].close()
        await asyncio.sleep(0.2)
        admitted = await _connect(replica, caller.token)  # a place freed: admitted again
        await asyncio.gather(admitted.close(), kept[1].close())


async def test_one_user_cannot_take_every_place_of_a_replica(
    make_caller: Any, streaming_settings: Any, redis_client: Any, object_store: Any
) -> None:
    from .conftest import build_app, serve

    caller = make_caller("viewer")
    colleague = make_caller("viewer", tenant_id=caller.tenant_id)
    limited = streaming_settings.model_copy(update={"ws_max_connections_per_user": 2})
    async with serve(build_app(limited, redis_client, object_store)) as replica:
        kept = [await _connect(replica, caller.token) for _ in range(2)]
        assert await _close_code(replica, caller.token) == 4429
        other = await _connect(replica, colleague.token)
        await asyncio.gather(other.close(), *(ws.close() for ws in kept))


async def test_a_token_without_a_known_role_is_refused(server: Server, make_caller: Any) -> None:
    caller = make_caller("janitor")  # no role GT-Vision knows
    assert await _close_code(server, caller.token) == 4403


async def _close_code(server: Any, token: str) -> int | None:
    """The close code of a socket the server refuses (accepted, then closed at once)."""
    refused = await websockets.connect(f"{server.ws_url}/ws/alerts?token={token}",
                                       open_timeout=5)
    with pytest.raises(websockets.ConnectionClosed):
        await asyncio.wait_for(refused.recv(), 5)
    return refused.close_code
