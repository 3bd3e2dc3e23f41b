"""The MediaMTX hooks answer only MediaMTX: every call must present the hook token
(issue 9, item 3). Through the app, with the MediaMTX engine of the test settings."""

from __future__ import annotations

import base64
import uuid
from typing import Any

import httpx
import pytest

from tests.integration.streaming.conftest import HOOK_TOKEN
from tests.integration.streaming.test_api_auth import assert_error

AUTH = "/api/streaming/mediamtx/auth"
SEGMENT = "/api/streaming/mediamtx/segment-complete"


def _basic(password: str, user: str = "mediamtx") -> dict[str, Any]:
    raw = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {raw}"}


def _read_request(camera_id: uuid.UUID, token: str = "") -> dict[str, Any]:
    return {"action": "read", "path": f"cam-{camera_id}", "protocol": "hls", "token": token,
            "ip": "10.0.0.9", "query": ""}


@pytest.mark.parametrize("headers", [
    {},
    {"X-GTV-Hook-Token": "wrong"},
    {"X-GTV-Hook-Token": HOOK_TOKEN[:-1]},
    {"X-GTV-Hook-Token": "tökén".encode()},
    _basic("wrong"),
    {"Authorization": "Basic !!!not-base64"},
    {"Authorization": f"Bearer {HOOK_TOKEN}"},
])
async def test_hook_calls_without_the_token_are_refused(
    client: httpx.AsyncClient, seed_camera: Any, headers: dict[str, Any]
) -> None:
    camera = await seed_camera()
    for path, body in ((AUTH, _read_request(camera.camera_id)),
                       (SEGMENT, {"path": f"cam-{camera.camera_id}",
                                  "segment_path": "/recordings/x.mp4",
                                  "segment_duration": "60s"})):
        response = await client.post(path, json=body, headers=headers)
        assert_error(response, 403, "permission_denied")


async def test_forged_segment_completion_never_reaches_the_engine(
    client: httpx.AsyncClient, seed_camera: Any, app_services: Any
) -> None:
    camera = await seed_camera()
    calls: list[Any] = []
    engine = app_services.engine
    original = engine.handle_segment_complete

    async def spy(*args: Any, **kwargs: Any) -> Any:
        calls.append(args)
        return await original(*args, **kwargs)

    engine.handle_segment_complete = spy
    try:
        response = await client.post(SEGMENT, json={
            "path": f"cam-{camera.camera_id}", "segment_path": "/recordings/forged.mp4",
            "segment_duration": "1s"})
    finally:
        engine.handle_segment_complete = original
    assert response.status_code == 403
    assert calls == []


async def test_hook_token_as_header_reaches_the_segment_handler(
    client: httpx.AsyncClient,
) -> None:
    response = await client.post(SEGMENT, headers={"X-GTV-Hook-Token": HOOK_TOKEN}, json={
        "path": "not-a-camera", "segment_path": "/recordings/x.mp4", "segment_duration": "60s"})
    # Past the guard: the engine itself rejects a path that is not a camera's.
    assert_error(response, 400, "invalid_segment")


async def test_hook_token_as_basic_auth_reaches_the_auth_decision(
    client: httpx.AsyncClient, seed_camera: Any, make_token: Any
) -> None:
    camera = await seed_camera()
    denied = await client.post(AUTH, json=_read_request(camera.camera_id),
                               headers=_basic(HOOK_TOKEN))
    assert_error(denied, 401, "mediamtx_auth_denied")
    viewer = make_token(tenant_id=camera.tenant_id)
    allowed = await client.post(AUTH, json=_read_request(camera.camera_id, viewer),
                                headers=_basic(HOOK_TOKEN))
    assert allowed.status_code == 200
    other_tenant = make_token(tenant_id=uuid.uuid4())
    foreign = await client.post(AUTH, json=_read_request(camera.camera_id, other_tenant),
                                headers=_basic(HOOK_TOKEN))
    assert_error(foreign, 403, "mediamtx_auth_denied")


async def test_hooks_are_closed_when_no_token_is_configured(
    client: httpx.AsyncClient, app_services: Any
) -> None:
    from pydantic import SecretStr

    settings = app_services.settings
    original = settings.mediamtx_hook_token
    object.__setattr__(settings, "mediamtx_hook_token", SecretStr(""))
    try:
        response = await client.post(AUTH, json=_read_request(uuid.uuid4()),
                                     headers={"X-GTV-Hook-Token": ""})
    finally:
        object.__setattr__(settings, "mediamtx_hook_token", original)
    assert_error(response, 403, "permission_denied")


async def test_the_clip_client_may_play_back_camera_paths_and_nothing_else(
    client: httpx.AsyncClient, seed_camera: Any, app_services: Any
) -> None:
    """Event clips: this service fetches spans from MediaMTX's playback server as the
    configured playback user, the hook token as password; only that, only playback."""
    camera = await seed_camera()
    user = app_services.settings.mediamtx_playback_user
    assert user

    def body(action: str, password: str, path: str = f"cam-{camera.camera_id}",
             who: str = user) -> dict[str, Any]:
        return {"action": action, "path": path, "protocol": "", "user": who,
                "password": password, "ip": "10.0.0.5", "query": ""}

    allowed = await client.post(AUTH, json=body("playback", HOOK_TOKEN),
                                headers=_basic(HOOK_TOKEN))
    assert allowed.status_code == 200
    for refused in (body("playback", HOOK_TOKEN[:-1]), body("read", HOOK_TOKEN),
                    body("publish", HOOK_TOKEN), body("playback", HOOK_TOKEN, "not-a-camera"),
                    body("playback", HOOK_TOKEN, who="someone")):
        response = await client.post(AUTH, json=refused, headers=_basic(HOOK_TOKEN))
        assert response.status_code in (401, 403), refused
