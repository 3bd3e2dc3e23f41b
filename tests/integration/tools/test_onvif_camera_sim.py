"""The simulated camera's ONVIF services over real HTTP and UDP, driven by the
platform's ONVIF client (shared_kernel.onvif): what onboarding and PTZ control rely on."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from shared_kernel.camera_network import CameraNetworkPolicy
from shared_kernel.onvif import (
    OnvifClient,
    OnvifError,
    OnvifFault,
    OnvifNotAuthorized,
    OnvifUnreachable,
)
from tools.camera_sim.onvif.discovery import Advertised, DiscoveryResponder, probe
from tools.camera_sim.onvif.ptz import Position, PtzHead
from tools.camera_sim.onvif.server import OnvifCamera

LOOPBACK = CameraNetworkPolicy.from_strings(allowed=["127.0.0.0/8"])


class Clock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def camera(clock: Clock) -> Iterator[OnvifCamera]:
    head = PtzHead(clock=clock, max_speed=Position(0.5, 0.5, 0.5))
    with OnvifCamera("dome1", stream_uri=lambda p: f"rtsp://127.0.0.1:8554/dome1?{p}",
                     user="admin", password="s3cret", head=head,
                     snapshot=lambda: b"\xff\xd8jpeg") as cam:
        yield cam


PASSWORD = "s3cret"


def client(camera: OnvifCamera, password: str = PASSWORD) -> OnvifClient:
    return OnvifClient(camera.device_url, "admin", password, policy=LOOPBACK)


async def test_onboarding_reads_device_profiles_and_stream_uris(camera: OnvifCamera) -> None:
    async with client(camera) as onvif:
        info = await onvif.device_information()
        caps = await onvif.capabilities()
        profiles = await onvif.profiles()
        main = await onvif.stream_uri("main")
        sub = await onvif.stream_uri("sub")
        snapshot = await onvif.snapshot_uri("main")
    assert (info.manufacturer, info.model) == ("GT-Vision Simulator", "GTV-SIM-PTZ")
    assert info.serial_number.startswith("SIM-")
    assert caps.ptz_url == f"{camera.base_url}/onvif/ptz_service"
    assert [(p.token, p.width, p.height, p.encoding, p.ptz) for p in profiles] == [
        ("main", 640, 360, "H264", True), ("sub", 320, 180, "H264", True)]
    assert (main, sub) == ("rtsp://127.0.0.1:8554/dome1?main", "rtsp://127.0.0.1:8554/dome1?sub")
    assert snapshot == f"{camera.base_url}/onvif/snapshot?profile=main"
    async with httpx.AsyncClient() as http:
        assert (await http.get(snapshot)).status_code == 401
        got = await http.get(snapshot, auth=("admin", "s3cret"))
    assert got.content == b"\xff\xd8jpeg"


async def test_wrong_password_is_refused_but_pre_auth_calls_answer(camera: OnvifCamera) -> None:
    async with client(camera, password="wrong") as onvif:
        assert (await onvif.capabilities()).media_url is not None
        await onvif.system_time()
        with pytest.raises(OnvifNotAuthorized):
            await onvif.device_information()
        with pytest.raises(OnvifNotAuthorized):
            await onvif.stream_uri("main")


async def test_a_camera_clock_ahead_is_measured_and_signed_against(clock: Clock) -> None:
    with OnvifCamera("late", stream_uri="rtsp://x", user="admin", password="s3cret",
                     clock_offset=3600.0) as drifted:
        async with client(drifted) as onvif:
            with pytest.raises(OnvifNotAuthorized):
                await onvif.device_information()
            offset = await onvif.sync_clock()
            info = await onvif.device_information()
    assert 3595 < offset < 3605
    assert info.model == "GTV-SIM-BULLET"


async def test_ptz_moves_the_head_and_status_reports_it(camera: OnvifCamera,
                                                        clock: Clock) -> None:
    assert camera.head is not None
    async with client(camera) as onvif:
        await onvif.continuous_move("main", pan=1.0, tilt=0.0, zoom=0.0, timeout=1.0)
        clock.t += 0.5
        moving = await onvif.ptz_status("main")
        clock.t += 5.0
        stopped = await onvif.ptz_status("main")
        await onvif.absolute_move("main", pan=-0.5, tilt=0.25, zoom=0.5)
        clock.t += 10
        await onvif.relative_move("main", pan=0.25, tilt=0.0, zoom=0.0, speed=1.0)
        clock.t += 10
        after = await onvif.ptz_status("main")
        await onvif.continuous_move("main", pan=0.0, tilt=0.0, zoom=-1.0)
        clock.t += 0.2
        await onvif.stop("main")
        clock.t += 10
        final = await onvif.ptz_status("main")
    assert (moving.pan, moving.moving) == (pytest.approx(0.25), True)
    assert (stopped.pan, stopped.moving) == (pytest.approx(0.5), False)
    assert (after.pan, after.tilt, after.zoom) == (pytest.approx(-0.25), pytest.approx(0.25),
                                                   pytest.approx(0.5))
    assert final.zoom == pytest.approx(0.4)
    assert camera.head.position().zoom == pytest.approx(0.4)


async def test_presets_are_set_listed_recalled_and_removed(camera: OnvifCamera,
                                                           clock: Clock) -> None:
    async with client(camera) as onvif:
        await onvif.absolute_move("main", pan=0.3, tilt=-0.2, zoom=0.1)
        clock.t += 10
        token = await onvif.set_preset("main", "Praça <central>")
        await onvif.goto_home("main")
        clock.t += 10
        home = await onvif.ptz_status("main")
        await onvif.goto_preset("main", token)
        clock.t += 10
        back = await onvif.ptz_status("main")
        listed = await onvif.presets("main")
        await onvif.remove_preset("main", token)
        with pytest.raises(OnvifFault) as unknown:
            await onvif.goto_preset("main", token)
        assert await onvif.presets("main") == []
    assert (home.pan, home.tilt, home.zoom) == (0.0, 0.0, 0.0)
    assert (back.pan, back.tilt, back.zoom) == (pytest.approx(0.3), pytest.approx(-0.2),
                                                pytest.approx(0.1))
    assert [(p.token, p.name) for p in listed] == [(token, "Praça <central>")]
    assert "NoToken" in unknown.value.subcodes


async def test_bad_arguments_are_faults_not_moves(camera: OnvifCamera) -> None:
    async with client(camera) as onvif:
        with pytest.raises(OnvifFault) as bad_velocity:
            await onvif.continuous_move("main", pan=2.0, tilt=0.0, zoom=0.0)
        with pytest.raises(OnvifFault) as bad_profile:
            await onvif.ptz_status("nope")
    assert "InvalidArgVal" in bad_velocity.value.subcodes
    assert "NoProfile" in bad_profile.value.subcodes


async def test_a_fixed_camera_has_no_ptz_service() -> None:
    with OnvifCamera("bullet", stream_uri="rtsp://x", user="admin", password="s3cret") as cam:
        async with client(cam) as onvif:
            assert (await onvif.capabilities()).ptz_url is None
            assert [p.ptz for p in await onvif.profiles()] == [False, False]
            with pytest.raises(OnvifError, match="no PTZ"):
                await onvif.stop("main")


async def test_the_network_policy_applies_to_onvif_addresses(camera: OnvifCamera) -> None:
    async with OnvifClient(camera.device_url, "admin", "s3cret") as default_policy:
        with pytest.raises(OnvifError, match="not in a network"):
            await default_policy.device_information()
    async with OnvifClient("ftp://127.0.0.1/x", "a", "b", policy=LOOPBACK) as bad_scheme:
        with pytest.raises(OnvifError, match="http"):
            await bad_scheme.device_information()


async def test_a_camera_that_is_gone_is_unreachable(camera: OnvifCamera) -> None:
    url = camera.device_url
    camera.stop()
    async with OnvifClient(url, "admin", "s3cret", policy=LOOPBACK, timeout=2) as onvif:
        with pytest.raises(OnvifUnreachable):
            await onvif.device_information()


async def test_ws_discovery_answers_loopback_probes_one_match_per_camera(
        camera: OnvifCamera) -> None:
    responder = DiscoveryResponder(lambda: [
        Advertised(camera.endpoint_uuid, "dome1", camera.device_url, True),
        Advertised("00000000-0000-0000-0000-000000000002", "bullet", "http://127.0.0.1:1/x",
                   False),
    ]).start()
    try:
        found = await asyncio.to_thread(probe, "127.0.0.1", responder.port, timeout=5,
                                        expect=2)
    finally:
        responder.stop()
    by_name = {next(s for s in d.scopes if "/name/" in s).rpartition("/")[2]: d for d in found}
    assert set(by_name) == {"dome1", "bullet"}
    assert by_name["dome1"].xaddrs == (camera.device_url,)
    assert by_name["dome1"].endpoint == f"urn:uuid:{camera.endpoint_uuid}"
    assert "onvif://www.onvif.org/type/ptz" in by_name["dome1"].scopes
    assert "dn:NetworkVideoTransmitter" in by_name["bullet"].types
    with pytest.raises(ValueError, match="loopback"):
        probe("192.0.2.1", 3702)


async def test_the_simulator_serves_onvif_for_each_camera_it_streams() -> None:
    from urllib.parse import urlsplit, urlunsplit

    from tools.camera_sim.simulator import CameraSimulator, CameraSpec, rtsp_describe

    with CameraSimulator([CameraSpec("ptz1"), CameraSpec("ptz2")], user="u", password="p",
                         onvif=True) as sim:
        found = await asyncio.to_thread(probe, "127.0.0.1", sim.discovery_port, timeout=5,
                                        expect=2)
        xaddr = next(d.xaddrs[0] for d in found if "onvif://www.onvif.org/name/ptz2" in d.scopes)
        async with OnvifClient(xaddr, "u", "p", policy=LOOPBACK) as onvif:
            uri = await onvif.stream_uri("main")
            await onvif.absolute_move("main", pan=0.1, tilt=None, zoom=None)
        parts = urlsplit(uri)
        with_credentials = urlunsplit(parts._replace(netloc=f"u:p@{parts.netloc}"))
        assert uri == sim.url("ptz2", credentials=False)
        assert await asyncio.to_thread(rtsp_describe, with_credentials) == 200
        assert sim.onvif("ptz2").requests[-1] == "AbsoluteMove"
        assert "AbsoluteMove" not in sim.onvif("ptz1").requests
        assert sim.onvif("ptz1").head is not sim.onvif("ptz2").head


async def _poses(url: str) -> Any:
    """Decoded frames of an RTSP stream, as the poses burned into them."""
    import numpy as np

    from tools.camera_sim.scene import read_pose

    width, height = 640, 360
    process = await asyncio.create_subprocess_exec(
        "ffmpeg", "-v", "error", "-nostdin", "-rtsp_transport", "tcp", "-i", url,
        "-f", "rawvideo", "-pix_fmt", "gray", "pipe:1",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL)
    assert process.stdout is not None
    try:
        while True:
            data = await asyncio.wait_for(process.stdout.readexactly(width * height), 15)
            yield read_pose(np.frombuffer(data, dtype=np.uint8).reshape(height, width))
    finally:
        process.kill()
        await process.communicate()  # drains the pipe, so the exit is seen


async def test_an_onvif_move_moves_the_picture() -> None:
    """The proof is in the frames: decoded from RTSP, each carries the pose it was
    drawn at; after an AbsoluteMove the frames arrive at the target and stay there."""
    from tools.camera_sim.simulator import CameraSimulator, CameraSpec

    with CameraSimulator([CameraSpec("dome")], user="u", password="p", onvif=True) as sim:
        poses = _poses(sim.url("dome"))
        assert await anext(poses) == (0.0, 0.0, 0.0)
        async with OnvifClient(sim.onvif("dome").device_url, "u", "p",
                               policy=LOOPBACK) as onvif:
            await onvif.absolute_move("main", pan=0.5, tilt=-0.25, zoom=0.25, speed=1.0)
        seen = []
        async for pose in poses:  # the head takes about a second to get there
            assert pose is not None
            seen.append(pose)
            if pose == pytest.approx((0.5, -0.25, 0.25), abs=1e-3) or len(seen) > 100:
                break
        await poses.aclose()
    assert seen[-1] == pytest.approx((0.5, -0.25, 0.25), abs=1e-3)


@pytest.mark.parametrize("url", ["http://127.0.0.1:99999/x", "http://127.0.0.1:1/\x00",
                                 "http:///nohost", "http://[::1/x"])
async def test_malformed_device_addresses_are_onvif_errors(url: str) -> None:
    async with OnvifClient(url, "a", "b", policy=LOOPBACK, timeout=2) as onvif:
        with pytest.raises(OnvifError):
            await onvif.device_information()


@pytest.fixture
def digest_camera() -> Iterator[OnvifCamera]:
    with OnvifCamera("hik1", stream_uri="rtsp://127.0.0.1:8554/hik1", user="admin",
                     password=PASSWORD, head=PtzHead(), http_digest=True) as cam:
        yield cam


async def test_a_camera_wanting_http_digest_refuses_ws_security_alone(
        digest_camera: OnvifCamera) -> None:
    envelope = (b'<?xml version="1.0"?><s:Envelope xmlns:s="http://www.w3.org/2003/05/'
                b'soap-envelope"><s:Body><GetSystemDateAndTime xmlns="http://www.onvif.org/'
                b'ver10/device/wsdl"/></s:Body></s:Envelope>')
    async with httpx.AsyncClient() as http:
        plain = await http.post(digest_camera.device_url, content=envelope)
        assert plain.status_code == 401
        assert plain.headers["www-authenticate"].startswith("Digest ")
        wrong = await http.post(digest_camera.device_url, content=envelope,
                                auth=httpx.DigestAuth("admin", "wrong"))
        assert wrong.status_code == 401
        right = await http.post(digest_camera.device_url, content=envelope,
                                auth=httpx.DigestAuth("admin", PASSWORD))
        assert right.status_code == 200
    assert digest_camera.requests == ["GetSystemDateAndTime"]


async def test_the_client_falls_back_to_http_digest_and_keeps_it(
        digest_camera: OnvifCamera) -> None:
    async with client(digest_camera) as onvif:
        assert onvif.http_digest is False
        await onvif.sync_clock()
        assert onvif.http_digest is True
        challenges = digest_camera.http_challenges
        info = await onvif.device_information()
        profiles = await onvif.profiles()
        await onvif.absolute_move("main", pan=0.5, tilt=None, zoom=None)
    assert info.hardware_id == "hik1" and [p.token for p in profiles] == ["main", "sub"]
    # Once known, each call is one request: the challenge's nonce is reused.
    assert digest_camera.http_challenges == challenges
    assert digest_camera.requests == ["GetSystemDateAndTime", "GetDeviceInformation",
                                      "GetCapabilities", "GetProfiles", "AbsoluteMove"]
    # A client told up front answers the first challenge itself, and still signs.
    async with OnvifClient(digest_camera.device_url, "admin", PASSWORD, policy=LOOPBACK,
                           http_digest=True) as known:
        assert (await known.device_information()).hardware_id == "hik1"
    async with client(digest_camera, password="wrong") as refused:
        with pytest.raises(OnvifNotAuthorized):
            await refused.device_information()
