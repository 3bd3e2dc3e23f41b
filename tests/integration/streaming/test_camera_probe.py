"""“Testar conexão”: ``POST /api/streaming/cameras/probe`` with real ffprobe against the
simulator and against listeners that fail in each way; the answer is a codec/size/fps or
a stable reason, never ffmpeg's text, and every probe is audited with the masked URL."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from tests.integration.conftest import CAMERA_PASSWORD, SIM_FPS, SIM_SIZE
from tests.integration.streaming.conftest import EventTap, TokenFactory, bearer
from tests.integration.streaming.test_camera_failures import (
    FFMPEG_WORDS,
    closed_port,
    tcp_listener,
)
from tools.camera_sim.simulator import CameraSimulator

PROBE = "/api/streaming/cameras/probe"


def _admin(make_token: TokenFactory, tenant: uuid.UUID | None = None) -> dict[str, str]:
    return bearer(make_token(roles=("tenant_admin",), tenant_id=tenant or uuid.uuid4()))


async def _probe(client: httpx.AsyncClient, headers: dict[str, str], url: str) -> Any:
    response = await client.post(PROBE, json={"rtsp_url": url}, headers=headers, timeout=60)
    assert response.status_code == 200, response.text
    for word in FFMPEG_WORDS:
        assert word not in response.text
    return response.json()


async def test_a_working_camera_answers_codec_size_and_frame_rate(
    client: httpx.AsyncClient, make_token: TokenFactory, private_camera: CameraSimulator,
    event_tap: EventTap,
) -> None:
    tenant = uuid.uuid4()
    body = await _probe(client, _admin(make_token, tenant), private_camera.url("solo"))
    assert body["ok"] is True and body["reason"] is None
    assert body["video_codec"] == "h264"
    assert (body["width"], body["height"]) == SIM_SIZE
    assert body["fps"] == pytest.approx(SIM_FPS, rel=0.2)
    audited = await event_tap.wait_for(
        lambda e: e.type == "UserActivityRecorded" and e.payload["action"] == "camera.probe"
        and e.tenant_id == tenant)
    assert audited.payload["after"]["ok"] is True
    assert CAMERA_PASSWORD not in str(audited.payload)


async def test_each_failure_is_a_stable_reason(
    client: httpx.AsyncClient, make_token: TokenFactory, private_camera: CameraSimulator
) -> None:
    headers = _admin(make_token)
    wrong = private_camera.url("solo").replace(CAMERA_PASSWORD, "not-the-password")
    assert (await _probe(client, headers, wrong))["reason"] == "auth_failed"
    closed = f"rtsp://u:p@127.0.0.1:{closed_port()}/x"
    assert (await _probe(client, headers, closed))["reason"] == "unreachable"
    with tcp_listener(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n") as port:
        body = await _probe(client, headers, f"rtsp://127.0.0.1:{port}/x")
        assert body == {"ok": False, "reason": "not_a_stream", "video_codec": None,
                        "width": None, "height": None, "fps": None, "format_name": None}
    with tcp_listener(None) as port:
        assert (await _probe(client, headers, f"rtsp://127.0.0.1:{port}/x"))["reason"] \
            == "timeout"


async def test_the_camera_network_policy_applies(client: httpx.AsyncClient,
                                                 make_token: TokenFactory) -> None:
    body = await _probe(client, _admin(make_token), "rtsp://admin:pw@169.254.169.254/x")
    assert body["ok"] is False and body["reason"] == "address_not_allowed"


async def test_a_camera_redirecting_elsewhere_is_refused_whatever_is_there(
    client: httpx.AsyncClient, make_token: TokenFactory, private_camera: CameraSimulator
) -> None:
    """ffmpeg follows an RTSP 3xx past the policy; the probe's answer must not depend on
    what the redirect's target is (a working camera, a closed port): no port scanner."""
    headers = _admin(make_token)
    for target in (private_camera.url("solo"), f"rtsp://127.0.0.1:{closed_port()}/x"):
        answer = f"RTSP/1.0 302 Moved\r\nCSeq: 1\r\nLocation: {target}\r\n\r\n".encode()
        with tcp_listener(answer) as port:
            body = await _probe(client, headers, f"rtsp://127.0.0.1:{port}/cam")
        assert body["ok"] is False and body["reason"] == "address_not_allowed", body


@pytest.mark.parametrize("url", ["http://10.0.0.5/x", "file:///etc/passwd", "rtsp://",
                                 "rtsp://10.0.0.5/\nx"])
async def test_a_url_that_is_not_rtsp_is_a_400(client: httpx.AsyncClient,
                                               make_token: TokenFactory, url: str) -> None:
    response = await client.post(PROBE, json={"rtsp_url": url}, headers=_admin(make_token))
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "validation_error"


@pytest.mark.parametrize("role", ["viewer", "operator"])
async def test_below_tenant_admin_is_a_403(client: httpx.AsyncClient,
                                           make_token: TokenFactory, role: str) -> None:
    token = make_token(roles=(role,), tenant_id=uuid.uuid4())
    response = await client.post(PROBE, json={"rtsp_url": "rtsp://10.0.0.5/x"},
                                 headers=bearer(token))
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"
    # Refused before the body is read: a bad body tells the caller nothing of its schema.
    bad = await client.post(PROBE, json={"nothing": 1}, headers=bearer(token))
    assert bad.status_code == 403
