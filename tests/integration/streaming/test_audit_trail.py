"""What users do and see in the streaming service reaches the audit log (issue 9, item 4),
a superadmin must choose a tenant explicitly (item 12), and media tokens die with their
user's sessions (item 9). Through the app, events captured from ``domain.events``."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from shared_kernel.auth import AsyncRedisDenylist, ended_session_key
from shared_kernel.events import EventEnvelope
from tests.integration.streaming.conftest import bearer, write_file
from tests.integration.streaming.test_api_auth import assert_error


def _activity(action: str, object_id: Any) -> Any:
    def match(e: EventEnvelope) -> bool:
        return (e.type == "UserActivityRecorded" and e.payload["action"] == action
                and e.payload["object_id"] == str(object_id))
    return match


def _count(event_tap: Any, action: str, object_id: Any) -> int:
    return sum(1 for e in event_tap.seen if _activity(action, object_id)(e))


async def test_live_view_and_stream_control_are_audited_with_actor_and_address(
    client: httpx.AsyncClient, make_token: Any, seed_camera: Any, event_tap: Any,
) -> None:
    camera = await seed_camera()
    user_id = uuid.uuid4()
    token = make_token(roles=("operator",), tenant_id=camera.tenant_id, user_id=user_id)
    base = f"/api/streaming/streams/{camera.camera_id}"
    headers = {**bearer(token), "User-Agent": "gtv-dashboard-test"}
    assert (await client.post(f"{base}/start", headers=headers)).status_code == 200
    view = await event_tap.wait_for(_activity("live.view", camera.camera_id))
    assert view.payload["user_id"] == str(user_id)
    assert view.payload["tenant_id"] == str(camera.tenant_id)
    assert view.payload["ip"] == "127.0.0.1"
    assert view.payload["user_agent"] == "gtv-dashboard-test"
    await event_tap.wait_for(_activity("stream.start", camera.camera_id))

    # A wall re-requesting the stream is one live view per audit window, not one per call.
    assert (await client.post(f"{base}/start", headers=headers)).status_code == 200
    assert (await client.post(f"{base}/recording/start", headers=headers)).status_code == 200
    assert (await client.post(f"{base}/recording/stop", headers=headers)).status_code == 200
    assert (await client.post(f"{base}/stop", headers=headers)).status_code == 204
    for action in ("recording.start", "recording.stop", "stream.stop"):
        await event_tap.wait_for(_activity(action, camera.camera_id))
    assert _count(event_tap, "live.view", camera.camera_id) == 1
    assert _count(event_tap, "stream.start", camera.camera_id) == 1


async def test_viewer_live_playlist_is_audited_and_tokens_die_with_the_session(
    ffmpeg_client: httpx.AsyncClient, make_token: Any, seed_camera: Any, event_tap: Any,
    app_services: Any, redis_client: Any,
) -> None:
    client = ffmpeg_client
    camera = await seed_camera()
    live = app_services.settings.media_root / "live" / str(camera.camera_id)
    write_file(live / "index.m3u8", b"#EXTM3U\n#EXTINF:2.0,\nseg_1.ts\n")
    write_file(live / "seg_1.ts", b"\x47" * 188)
    user_id = uuid.uuid4()
    token = make_token(roles=("viewer",), tenant_id=camera.tenant_id, user_id=user_id)
    base = f"/api/streaming/live/{camera.camera_id}"

    playlist = await client.get(f"{base}/index.m3u8", headers=bearer(token))
    assert playlist.status_code == 200, playlist.text
    view = await event_tap.wait_for(_activity("live.view", camera.camera_id))
    assert view.payload["user_id"] == str(user_id)
    media_token = parse_qs(urlsplit(playlist.text.split("\n")[2]).query)["token"][0]
    assert (await client.get(f"{base}/seg_1.ts", params={"token": media_token})).status_code \
        == 200

    # The user is deactivated (the admin service raises their session version).
    await AsyncRedisDenylist(redis_client).revoke_sessions(user_id, 1, ttl_seconds=60)
    segment = await client.get(f"{base}/seg_1.ts", params={"token": media_token})
    assert_error(segment, 401, "invalid_media_token")
    assert_error(await client.get(f"{base}/index.m3u8", headers=bearer(token)), 401,
                 "not_authenticated")


async def test_a_logout_ends_the_media_tokens_of_its_login_session(
    ffmpeg_client: httpx.AsyncClient, make_token: Any, seed_camera: Any,
    app_services: Any, redis_client: Any,
) -> None:
    """A media token carries the login session (``sid``) of the JWT it was issued for:
    once that session is logged out, the player's URLs stop, while the user's other
    login sessions (another device) keep playing."""
    camera = await seed_camera()
    live = app_services.settings.media_root / "live" / str(camera.camera_id)
    write_file(live / "index.m3u8", b"#EXTM3U\n#EXTINF:2.0,\nseg_1.ts\n")
    write_file(live / "seg_1.ts", b"\x47" * 188)
    user_id = uuid.uuid4()
    base = f"/api/streaming/live/{camera.camera_id}"
    laptop, phone = uuid.uuid4().hex, uuid.uuid4().hex
    media_tokens = {}
    for sid in (laptop, phone):
        jwt = make_token(roles=("viewer",), tenant_id=camera.tenant_id, user_id=user_id,
                         session_id=sid)
        playlist = await ffmpeg_client.get(f"{base}/index.m3u8", headers=bearer(jwt))
        assert playlist.status_code == 200, playlist.text
        media_tokens[sid] = parse_qs(urlsplit(playlist.text.split("\n")[2]).query)["token"][0]

    await redis_client.set(ended_session_key(laptop), "1", ex=60)  # the laptop logs out
    ended = await ffmpeg_client.get(f"{base}/seg_1.ts", params={"token": media_tokens[laptop]})
    assert_error(ended, 401, "invalid_media_token")
    kept = await ffmpeg_client.get(f"{base}/seg_1.ts", params={"token": media_tokens[phone]})
    assert kept.status_code == 200


async def test_export_download_urls_are_operator_only_and_audited(
    client: httpx.AsyncClient, make_token: Any, seed_camera: Any, event_tap: Any,
    app_services: Any,
) -> None:
    from datetime import UTC, datetime, timedelta

    from streaming_service.infrastructure.db.models import Export

    camera = await seed_camera()
    export_id = uuid.uuid4()
    now = datetime.now(UTC)
    async with app_services.sessions() as session, session.begin():
        session.add(Export(id=export_id, tenant_id=camera.tenant_id, camera_id=camera.camera_id,
                           range_start=now - timedelta(minutes=5), range_end=now,
                           status="done", object_key=f"{camera.tenant_id}/x/{export_id}.mp4",
                           size_bytes=10, requested_by=uuid.uuid4(), completed_at=now))
    viewer = make_token(roles=("viewer",), tenant_id=camera.tenant_id)
    assert_error(await client.get(f"/api/streaming/exports/{export_id}", headers=bearer(viewer)),
                 403, "permission_denied")
    user_id = uuid.uuid4()
    operator = make_token(roles=("operator",), tenant_id=camera.tenant_id, user_id=user_id)
    for _ in range(2):
        response = await client.get(f"/api/streaming/exports/{export_id}",
                                    headers=bearer(operator))
        assert response.status_code == 200, response.text
        assert response.json()["download_url"]
    await event_tap.wait_for(_activity("export.download", export_id))
    await asyncio.sleep(0.5)
    assert _count(event_tap, "export.download", export_id) == 2, "each URL issued is audited"


async def test_an_access_that_cannot_be_audited_is_refused(
    client: httpx.AsyncClient, make_token: Any, seed_camera: Any, app_services: Any,
    mediamtx_standin: Any, monkeypatch: pytest.MonkeyPatch,
) -> None:
    camera = await seed_camera()
    token = make_token(roles=("operator",), tenant_id=camera.tenant_id)

    async def broken(*_: Any, **__: Any) -> None:
        raise ConnectionError("database gone")

    monkeypatch.setattr(app_services.audit._outbox, "add", broken)
    response = await client.post(f"/api/streaming/streams/{camera.camera_id}/start",
                                 headers=bearer(token))
    assert_error(response, 503, "audit_unavailable")
    assert "hls_url" not in response.text
    assert f"cam-{camera.camera_id}" not in mediamtx_standin.state.confs, "nothing started"


async def test_superadmin_must_choose_a_tenant_and_the_choice_is_audited(
    client: httpx.AsyncClient, make_token: Any, seed_camera: Any, event_tap: Any,
) -> None:
    camera = await seed_camera()
    other = await seed_camera()
    root = make_token(roles=("superadmin",), tenant_id=None)
    response = await client.get("/api/streaming/streams/", headers=bearer(root))
    assert_error(response, 403, "tenant_required")
    assert_error(await client.post(f"/api/streaming/streams/{camera.camera_id}/start",
                                   headers=bearer(root)), 403, "tenant_required")
    bad = await client.get("/api/streaming/streams/",
                           headers={**bearer(root), "X-GTV-Tenant-ID": "not-a-uuid"})
    assert_error(bad, 400, "invalid_tenant")

    chosen = {**bearer(root), "X-GTV-Tenant-ID": str(camera.tenant_id)}
    started = await client.post(f"/api/streaming/streams/{camera.camera_id}/start",
                                headers=chosen)
    assert started.status_code == 200, started.text
    access = await event_tap.wait_for(_activity("tenant.access", camera.tenant_id))
    assert access.payload["tenant_id"] == str(camera.tenant_id)
    # Scoped to the chosen tenant: another tenant's camera is not there.
    assert_error(await client.post(f"/api/streaming/streams/{other.camera_id}/start",
                                   headers=chosen), 404)
    assert_error(await client.get("/api/ai/detections/", headers=bearer(root)), 403,
                 "tenant_required")
    await client.post(f"/api/streaming/streams/{camera.camera_id}/stop", headers=chosen)
