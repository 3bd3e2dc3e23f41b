"""Starting and stopping streams through the API (MediaMTX adapter against the spec-driven
stand-in), the Redis status cache, stream events, and the live HLS media token."""

from __future__ import annotations

import time
import uuid
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx

from streaming_service.infrastructure.engines.ffmpeg.http import rewrite_playlist
from streaming_service.infrastructure.media_token import InvalidMediaToken, MediaTokenSigner
from tests.integration.streaming.conftest import bearer, write_file


async def test_operator_starts_and_stops_a_stream_without_leaking_credentials(
    client: httpx.AsyncClient, make_token: Any, seed_camera: Any, event_tap: Any,
    mediamtx_standin: Any,
) -> None:
    camera = await seed_camera()
    token = make_token(roles=("operator",), tenant_id=camera.tenant_id)
    response = await client.post(f"/api/streaming/streams/{camera.camera_id}/start",
                                 headers=bearer(token))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["hls_url"].startswith(f"http://media.test:8888/cam-{camera.camera_id}/")
    assert body["webrtc_url"].startswith(f"http://media.test:8889/cam-{camera.camera_id}/whep")
    assert parse_qs(urlsplit(body["hls_url"]).query)["token"]
    assert body["status"] in ("starting", "live")
    for secret in ("s3cr3t-pass", "admin:", "10.0.0.5"):
        assert secret not in response.text
    # MediaMTX was asked to pull the camera's real URL.
    assert mediamtx_standin.state.confs[f"cam-{camera.camera_id}"]["source"] == camera.rtsp_url

    started = await event_tap.wait_for(
        lambda e: e.type == "StreamStarted" and e.payload["camera_id"] == str(camera.camera_id))
    assert "s3cr3t" not in started.model_dump_json()

    listing = await client.get("/api/streaming/streams/", headers=bearer(token))
    assert [s["camera_id"] for s in listing.json()["results"]] == [str(camera.camera_id)]
    other = make_token(roles=("viewer",), tenant_id=uuid.uuid4())
    assert (await client.get("/api/streaming/streams/", headers=bearer(other))).json() == {
        "count": 0, "page": 1, "page_size": 50, "next": None, "previous": None, "results": []}

    stopped = await client.post(f"/api/streaming/streams/{camera.camera_id}/stop",
                                headers=bearer(token))
    assert stopped.status_code == 204, stopped.text
    assert f"cam-{camera.camera_id}" not in mediamtx_standin.state.confs
    await event_tap.wait_for(
        lambda e: e.type == "StreamStopped" and e.payload["camera_id"] == str(camera.camera_id))
    listing = await client.get("/api/streaming/streams/", headers=bearer(token))
    assert listing.json()["count"] == 0


async def test_recording_on_demand_needs_a_running_stream(
    client: httpx.AsyncClient, make_token: Any, seed_camera: Any
) -> None:
    camera = await seed_camera()
    token = make_token(roles=("operator",), tenant_id=camera.tenant_id)
    base = f"/api/streaming/streams/{camera.camera_id}"
    response = await client.post(f"{base}/recording/start", headers=bearer(token))
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "stream_not_running"
    assert (await client.post(f"{base}/start", headers=bearer(token))).status_code == 200
    response = await client.post(f"{base}/recording/start", headers=bearer(token))
    assert response.status_code == 200, response.text
    assert response.json()["recording"] is True
    response = await client.post(f"{base}/recording/stop", headers=bearer(token))
    assert response.json()["recording"] is False
    await client.post(f"{base}/stop", headers=bearer(token))


def test_media_token_rejects_tampering_other_cameras_and_expiry() -> None:
    signer = MediaTokenSigner("x" * 32, ttl_seconds=60)
    camera, tenant, user = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    token = signer.issue(camera, tenant, user_id=user, session_version=2, session_id="s1")
    grant = signer.verify(token, camera)
    assert (grant.tenant_id, grant.user_id, grant.session_version, grant.session_id) == (
        tenant, user, 2, "s1")
    tenant_hex, user_hex, version, sid, expiry, mac = token.split(".")
    bad = [
        f"{tenant_hex}.{user_hex}.{version}.{sid}.{int(expiry) + 3600}.{mac}",  # later expiry
        f"{uuid.uuid4().hex}.{user_hex}.{version}.{sid}.{expiry}.{mac}",  # another tenant
        f"{tenant_hex}.{uuid.uuid4().hex}.{version}.{sid}.{expiry}.{mac}",  # another user
        f"{tenant_hex}.{user_hex}.{int(version) + 1}.{sid}.{expiry}.{mac}",  # newer session
        f"{tenant_hex}.{user_hex}.{version}..{expiry}.{mac}",  # login session dropped
        f"{tenant_hex}.{user_hex}.{version}.czI.{expiry}.{mac}",  # another login session
        f"{tenant_hex}.{user_hex}.{version}.{sid}.{expiry}.{mac[:-2]}AA",  # forged signature
        f"{tenant_hex}.{user_hex}.{version}.{sid}.{expiry}.{mac[:-2]}é",  # non-ASCII
        f"{tenant_hex}.{user_hex}.{version}.{expiry}.{mac}",  # the format before sid
        "garbage",
    ]
    # Any printable session id of up to 64 characters fits (not only hex ones).
    odd_id = "a.b/c+d=" + "x" * 56
    odd = signer.issue(camera, tenant, user_id=user, session_id=odd_id)
    assert signer.verify(odd, camera).session_id == odd_id
    for candidate in bad:
        try:
            signer.verify(candidate, camera)
        except InvalidMediaToken:
            continue
        raise AssertionError(f"accepted {candidate}")
    try:
        signer.verify(token, uuid.uuid4())
    except InvalidMediaToken:
        pass
    else:
        raise AssertionError("token for one camera opened another")
    old = signer.issue(camera, tenant, user_id=user, now=time.time() - 120)
    try:
        signer.verify(old, camera)
    except InvalidMediaToken as exc:
        assert "expired" in str(exc)
    else:
        raise AssertionError("expired token accepted")


def test_playlist_rewrite_adds_the_token_to_every_relative_uri() -> None:
    playlist = (
        "#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-MAP:URI=\"init.mp4\"\n"
        "#EXTINF:2.0,\nseg_001.m4s\n#EXTINF:2.0,\nseg_002.m4s?x=1\n"
        "https://cdn.example/abs.ts\n"
    )
    out = rewrite_playlist(playlist, "T.1.a")
    assert '#EXT-X-MAP:URI="init.mp4?token=T.1.a"' in out
    assert "seg_001.m4s?token=T.1.a" in out
    assert "seg_002.m4s?x=1&token=T.1.a" in out
    assert "https://cdn.example/abs.ts\n" in out


async def test_live_files_need_a_valid_media_token_or_jwt(
    ffmpeg_client: httpx.AsyncClient, app_services: Any, make_token: Any, seed_camera: Any
) -> None:
    client = ffmpeg_client
    camera = await seed_camera()
    live = app_services.settings.media_root / "live" / str(camera.camera_id)
    write_file(live / "index.m3u8", b"#EXTM3U\n#EXTINF:2.0,\nseg_1.ts\n")
    write_file(live / "seg_1.ts", b"\x47" * 188)
    token = app_services.signer.issue(camera.camera_id, camera.tenant_id, user_id=uuid.uuid4())
    base = f"/api/streaming/live/{camera.camera_id}"

    playlist = await client.get(f"{base}/index.m3u8", params={"token": token})
    assert playlist.status_code == 200, playlist.text
    assert playlist.headers["content-type"].startswith("application/vnd.apple.mpegurl")
    assert f"seg_1.ts?token={token}" in playlist.text
    segment = await client.get(f"{base}/seg_1.ts", params={"token": token})
    assert segment.content == b"\x47" * 188

    tampered = token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB")
    assert (await client.get(f"{base}/index.m3u8", params={"token": tampered})).status_code == 401
    expired = app_services.signer.issue(camera.camera_id, camera.tenant_id,
                                        user_id=uuid.uuid4(), now=time.time() - 3600)
    response = await client.get(f"{base}/index.m3u8", params={"token": expired})
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_media_token"
    other_camera = await client.get(f"/api/streaming/live/{uuid.uuid4()}/index.m3u8",
                                    params={"token": token})
    assert other_camera.status_code == 401
    assert (await client.get(f"{base}/index.m3u8")).status_code == 401
    assert (await client.get(f"{base}/..%2F..%2Fetc%2Fpasswd",
                             params={"token": token})).status_code == 404

    viewer = make_token(roles=("viewer",), tenant_id=camera.tenant_id)
    with_jwt = await client.get(f"{base}/index.m3u8", headers=bearer(viewer))
    assert with_jwt.status_code == 200
    assert "?token=" in with_jwt.text
    intruder = make_token(roles=("viewer",), tenant_id=uuid.uuid4())
    assert (await client.get(f"{base}/index.m3u8", headers=bearer(intruder))).status_code == 404
