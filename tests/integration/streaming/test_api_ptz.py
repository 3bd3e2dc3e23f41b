"""Steering a camera through the streaming API (issue 12), against the simulator's ONVIF
PTZ camera over real HTTP: the head really moves, the server stops a continuous move at
its deadline, presets round-trip, one operator steers at a time (a higher role takes
over), every command is audited; viewers get 403 and other tenants 404."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from shared_kernel.crypto import CredentialCipher, mask_rtsp_url
from shared_kernel.events import CameraRegistered, EventEnvelope, TenantCreated, new_event
from tests.integration.streaming.conftest import bearer
from tests.integration.streaming.test_api_auth import assert_error
from tools.camera_sim.onvif.ptz import Position, PtzHead
from tools.camera_sim.onvif.server import OnvifCamera

RTSP = "rtsp://127.0.0.1:8554/dome"


class Clock:
    """The simulated head's clock, moved by hand: positions are exact, never timed."""

    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


@dataclass
class Dome:
    camera: OnvifCamera
    clock: Clock
    camera_id: uuid.UUID
    tenant_id: uuid.UUID

    @property
    def head(self) -> PtzHead:
        assert self.camera.head is not None
        return self.camera.head

    def url(self, path: str) -> str:
        return f"/api/streaming/cameras/{self.camera_id}/ptz/{path}"


@pytest.fixture
def onvif_camera() -> Iterator[tuple[OnvifCamera, Clock]]:
    clock = Clock()
    head = PtzHead(clock=clock, max_speed=Position(0.5, 0.5, 0.5))
    with OnvifCamera("dome", stream_uri=RTSP, user="onvif", password="dome-pass",
                     head=head) as camera:
        yield camera, clock


async def register(projection: Any, cipher: CredentialCipher, tenant_id: uuid.UUID,
                   onvif: dict[str, str] | None, *, ptz: bool = True) -> uuid.UUID:
    camera_id = uuid.uuid4()
    await projection.handle(new_event(
        TenantCreated(tenant_id=tenant_id, name="Prefeitura PTZ", slug=tenant_id.hex[:8]),
        producer="tests", tenant_id=tenant_id))
    await projection.handle(new_event(CameraRegistered(
        camera_id=camera_id, tenant_id=tenant_id, name="Dome", rtsp_url_encrypted=cipher.encrypt(
            RTSP), rtsp_url_masked=mask_rtsp_url(RTSP),
        onvif_encrypted=cipher.encrypt(json.dumps(onvif)) if onvif else None, ptz=ptz,
    ), producer="tests", tenant_id=tenant_id))
    return camera_id


@pytest.fixture
async def dome(onvif_camera: tuple[OnvifCamera, Clock], projection: Any,
               cipher: CredentialCipher) -> Dome:
    camera, clock = onvif_camera
    tenant_id = uuid.uuid4()
    camera_id = await register(projection, cipher, tenant_id, {
        "url": camera.device_url, "username": "onvif", "password": "dome-pass",
        "profile": "main"})
    return Dome(camera, clock, camera_id, tenant_id)


def as_(make_token: Any, dome: Dome, role: str = "operator",
        user_id: uuid.UUID | None = None) -> dict[str, str]:
    return bearer(make_token(roles=(role,), tenant_id=dome.tenant_id,
                             user_id=user_id or uuid.uuid4()))


def _activity(action: str, camera_id: uuid.UUID) -> Any:
    def match(e: EventEnvelope) -> bool:
        return (e.type == "UserActivityRecorded" and e.payload["action"] == action
                and e.payload["object_id"] == str(camera_id))
    return match


async def test_a_continuous_move_turns_the_head_and_the_server_stops_it(
        client: httpx.AsyncClient, make_token: Any, dome: Dome, app_services: Any,
        event_tap: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    deadline_reached = asyncio.Event()
    waited: list[float] = []

    async def held_sleep(seconds: float) -> None:  # the deadline passes when the test says
        waited.append(seconds)
        await deadline_reached.wait()

    monkeypatch.setattr(app_services.ptz, "_sleep", held_sleep)
    operator = as_(make_token, dome)
    moved = await client.post(dome.url("move"), headers=operator,
                              json={"pan": 1.0, "tilt": -0.5, "timeout_seconds": 0.2})
    assert moved.status_code == 200, moved.text
    assert moved.json() == {"stops_in_seconds": 0.2}
    dome.clock.t += 0.1
    status = (await client.get(dome.url("status"), headers=operator)).json()
    assert status["moving"] is True
    assert (status["pan"], status["tilt"]) == (pytest.approx(0.05), pytest.approx(-0.025))
    # The client goes quiet: at the deadline the server stops the camera itself.
    deadline_reached.set()
    await app_services.ptz.pending_stop(dome.camera_id)
    assert waited == [0.2]
    assert dome.camera.requests[-1] == "Stop"
    assert dome.head.moving() == {"pan_tilt": False, "zoom": False}
    audited = await event_tap.wait_for(_activity("ptz.move", dome.camera_id))
    assert audited.payload["after"] == {"command": "move", "pan": 1.0, "tilt": -0.5,
                                        "zoom": 0.0, "timeout_seconds": 0.2}


async def test_a_new_command_replaces_the_pending_auto_stop(
        client: httpx.AsyncClient, make_token: Any, dome: Dome, app_services: Any,
        monkeypatch: pytest.MonkeyPatch) -> None:
    never = asyncio.Event()

    async def held_sleep(_seconds: float) -> None:
        await never.wait()

    monkeypatch.setattr(app_services.ptz, "_sleep", held_sleep)
    operator = as_(make_token, dome)
    await client.post(dome.url("move"), headers=operator, json={"pan": 1.0})
    await client.post(dome.url("move"), headers=operator, json={"pan": -1.0})
    assert (await client.post(dome.url("stop"), headers=operator)).status_code == 204
    await app_services.ptz.pending_stop(dome.camera_id)  # nothing left pending
    assert dome.camera.requests.count("Stop") == 1


async def test_a_move_longer_than_the_limit_or_out_of_range_is_refused(
        client: httpx.AsyncClient, make_token: Any, dome: Dome) -> None:
    operator = as_(make_token, dome)
    too_long = await client.post(dome.url("move"), headers=operator,
                                 json={"pan": 1.0, "timeout_seconds": 600})
    assert_error(too_long, 400, "invalid_ptz_command")
    assert_error(await client.post(dome.url("move"), headers=operator, json={"pan": 2}), 400)
    assert_error(await client.post(dome.url("absolute"), headers=operator, json={}), 400,
                 "invalid_ptz_command")
    assert "ContinuousMove" not in dome.camera.requests


async def test_relative_absolute_home_and_stop_reach_the_camera(
        client: httpx.AsyncClient, make_token: Any, dome: Dome, event_tap: Any) -> None:
    operator = as_(make_token, dome)
    r = await client.post(dome.url("absolute"), headers=operator,
                          json={"pan": 0.5, "tilt": 0.25, "zoom": 0.5, "speed": 1.0})
    assert r.status_code == 204, r.text
    dome.clock.t += 10
    assert (await client.post(dome.url("relative"), headers=operator,
                              json={"pan": -0.25})).status_code == 204
    dome.clock.t += 10
    assert dome.head.position() == Position(0.25, 0.25, 0.5)
    assert (await client.post(dome.url("home"), headers=operator)).status_code == 204
    dome.clock.t += 0.5
    assert (await client.post(dome.url("stop"), headers=operator)).status_code == 204
    stopped = dome.head.position()
    dome.clock.t += 10
    assert dome.head.position() == stopped != Position()
    for action in ("ptz.absolute_move", "ptz.relative_move", "ptz.home", "ptz.stop"):
        await event_tap.wait_for(_activity(action, dome.camera_id))


async def test_presets_are_set_listed_recalled_and_removed(
        client: httpx.AsyncClient, make_token: Any, dome: Dome, event_tap: Any) -> None:
    operator = as_(make_token, dome)
    await client.post(dome.url("absolute"), headers=operator,
                      json={"pan": -0.4, "tilt": 0.2, "zoom": 0.3})
    dome.clock.t += 10
    created = await client.post(dome.url("presets"), headers=operator,
                                json={"name": "Praça da Sé"})
    assert created.status_code == 201, created.text
    token = created.json()["token"]
    assert (await client.get(dome.url("presets"), headers=operator)).json() == [
        {"token": token, "name": "Praça da Sé"}]
    await client.post(dome.url("home"), headers=operator)
    dome.clock.t += 10
    assert dome.head.position() == Position()
    assert (await client.post(dome.url(f"presets/{token}/goto"),
                              headers=operator)).status_code == 204
    dome.clock.t += 10
    assert dome.head.position() == Position(-0.4, 0.2, 0.3)
    assert (await client.delete(dome.url(f"presets/{token}"),
                                headers=operator)).status_code == 204
    assert (await client.get(dome.url("presets"), headers=operator)).json() == []
    assert_error(await client.post(dome.url(f"presets/{token}/goto"), headers=operator),
                 404, "ptz_preset_not_found")
    goto = await event_tap.wait_for(_activity("ptz.preset.goto", dome.camera_id))
    assert goto.payload["after"]["token"] == token
    created_event = await event_tap.wait_for(_activity("ptz.preset.set", dome.camera_id))
    assert created_event.payload["after"]["name"] == "Praça da Sé"


async def test_one_operator_steers_at_a_time_and_a_higher_role_takes_over(
        client: httpx.AsyncClient, make_token: Any, dome: Dome, event_tap: Any) -> None:
    first_id, second_id, admin_id = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    first = as_(make_token, dome, user_id=first_id)
    second = as_(make_token, dome, user_id=second_id)
    admin = as_(make_token, dome, "tenant_admin", user_id=admin_id)
    assert (await client.post(dome.url("stop"), headers=first)).status_code == 204
    lock = (await client.get(dome.url("lock"), headers=second)).json()
    assert (lock["held"], lock["user_id"], lock["mine"]) == (True, str(first_id), False)
    assert 0 < lock["expires_in"] <= 30

    refused = assert_error(await client.post(dome.url("move"), headers=second,
                                             json={"pan": 1}), 409, "ptz_locked")
    assert refused["details"]["holder"]["user_id"] == str(first_id)
    assert refused["details"]["can_take_over"] is False
    same_rank = await client.post(dome.url("lock"), headers=second, json={"takeover": True})
    assert_error(same_rank, 409, "ptz_locked")

    taken = await client.post(dome.url("lock"), headers=admin, json={"takeover": True})
    assert taken.status_code == 200, taken.text
    assert (taken.json()["user_id"], taken.json()["mine"]) == (str(admin_id), True)
    assert_error(await client.post(dome.url("stop"), headers=first), 409, "ptz_locked")
    takeover = await event_tap.wait_for(_activity("ptz.lock.takeover", dome.camera_id))
    assert takeover.payload["before"]["holder"] == str(first_id)

    assert (await client.delete(dome.url("lock"), headers=admin)).status_code == 204
    assert (await client.get(dome.url("lock"), headers=first)).json()["held"] is False
    assert (await client.post(dome.url("stop"), headers=first)).status_code == 204
    assert "ContinuousMove" not in dome.camera.requests


async def test_the_lock_expires_when_idle(client: httpx.AsyncClient, make_token: Any,
                                          dome: Dome, app_services: Any,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(app_services.ptz, "lock_ttl", 0.001)
    assert (await client.post(dome.url("stop"), headers=as_(make_token, dome))).status_code == 204
    # Redis expires the key on its own clock: wait for the key, not for a duration.
    key = f"{app_services.settings.redis_prefix}ptz:lock:{dome.camera_id}"
    for _ in range(500):
        if not await app_services.redis.exists(key):
            break
        await asyncio.sleep(0.01)
    assert not await app_services.redis.exists(key)
    assert (await client.post(dome.url("stop"), headers=as_(make_token, dome))).status_code == 204


async def test_commands_are_rate_limited_per_user(client: httpx.AsyncClient, make_token: Any,
                                                  dome: Dome, app_services: Any,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(app_services.ptz, "_rate", (3, 3600.0))
    user = uuid.uuid4()
    operator = as_(make_token, dome, user_id=user)
    for _ in range(3):
        assert (await client.post(dome.url("stop"), headers=operator)).status_code == 204
    limited = assert_error(await client.post(dome.url("stop"), headers=operator), 429,
                           "ptz_rate_limited")
    assert limited["details"]["limit"] == 3
    assert dome.camera.requests.count("Stop") == 3
    await client.delete(dome.url("lock"), headers=operator)
    assert (await client.post(dome.url("stop"), headers=as_(make_token, dome))).status_code == 204


async def test_viewers_get_403_and_other_tenants_404(client: httpx.AsyncClient,
                                                     make_token: Any, dome: Dome) -> None:
    viewer = as_(make_token, dome, "viewer")
    for method, path in (("post", "move"), ("post", "stop"), ("get", "status"),
                         ("get", "presets"), ("post", "lock")):
        assert_error(await client.request(method.upper(), dome.url(path), headers=viewer,
                                          json={}), 403, "permission_denied")
    stranger = bearer(make_token(roles=("tenant_admin",), tenant_id=uuid.uuid4()))
    for method, path in (("post", "move"), ("get", "status"), ("get", "lock"),
                         ("delete", "presets/1")):
        assert_error(await client.request(method.upper(), dome.url(path), headers=stranger,
                                          json={} if method == "post" else None),
                     404, "camera_not_found")
    assert dome.camera.requests == []


async def test_a_camera_without_onvif_ptz_answers_409(client: httpx.AsyncClient,
                                                      make_token: Any, projection: Any,
                                                      cipher: CredentialCipher) -> None:
    tenant_id = uuid.uuid4()
    fixed = await register(projection, cipher, tenant_id, None, ptz=False)
    headers = bearer(make_token(roles=("operator",), tenant_id=tenant_id))
    response = await client.post(f"/api/streaming/cameras/{fixed}/ptz/stop", headers=headers)
    assert_error(response, 409, "ptz_not_available")


async def test_a_camera_that_does_not_answer_is_a_502_and_drift_is_corrected(
        client: httpx.AsyncClient, make_token: Any, projection: Any,
        cipher: CredentialCipher) -> None:
    tenant_id = uuid.uuid4()
    with OnvifCamera("late", stream_uri=RTSP, user="onvif", password="p", head=PtzHead(),
                     clock_offset=-7200.0) as late:
        camera_id = await register(projection, cipher, tenant_id, {
            "url": late.device_url, "username": "onvif", "password": "p", "profile": ""})
        headers = bearer(make_token(roles=("operator",), tenant_id=tenant_id))
        url = f"/api/streaming/cameras/{camera_id}/ptz/stop"
        assert (await client.post(url, headers=headers)).status_code == 204
        assert late.requests[-1] == "Stop"
        assert "GetSystemDateAndTime" in late.requests and "GetProfiles" in late.requests
    assert_error(await client.post(url, headers=headers), 502, "ptz_device_error")


async def test_a_camera_wanting_http_digest_is_steered_with_it(
        client: httpx.AsyncClient, make_token: Any, projection: Any,
        cipher: CredentialCipher) -> None:
    tenant_id = uuid.uuid4()
    with OnvifCamera("hik", stream_uri=RTSP, user="onvif", password="p", head=PtzHead(),
                     http_digest=True) as hik:
        # Onboarding learnt that the device wants HTTP Digest and said so in the secret.
        camera_id = await register(projection, cipher, tenant_id, {
            "url": hik.device_url, "username": "onvif", "password": "p", "profile": "main",
            "http_digest": True})
        headers = bearer(make_token(roles=("operator",), tenant_id=tenant_id))
        url = f"/api/streaming/cameras/{camera_id}/ptz/"
        moved = await client.post(url + "absolute", headers=headers,
                                  json={"pan": 0.25, "tilt": 0.0, "zoom": 0.0})
        assert moved.status_code in (200, 202, 204), moved.text
        assert hik.requests[-1] == "AbsoluteMove"
        assert hik.head is not None and hik.head.motion()["pan"]["target"] == \
            pytest.approx(0.25)
