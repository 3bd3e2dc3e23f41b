"""StreamControl with in-memory ports: what starting, stopping and engine reports do."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import pytest
from cryptography.fernet import Fernet

from shared_kernel.crypto import CredentialCipher
from streaming_service.application.audit import Actor, AuditTrail
from streaming_service.application.streams import StreamControl
from streaming_service.domain.errors import AuditUnavailable, CameraUnavailable, MediaEngineError
from streaming_service.domain.ports import CameraRecord
from streaming_service.domain.stream import StreamFailure, StreamState, StreamStatus
from tests.unit.streaming.fakes import (
    FakeCache,
    FakeCameras,
    FakeEngine,
    FakeOutbox,
    FakeSessions,
    FakeSigner,
    FakeTelemetry,
    FakeViewWindow,
)

CAMERA_URL = "rtsp://admin:s3cr3t@10.1.2.3/ch1"


@dataclass
class World:
    control: StreamControl
    engine: FakeEngine
    cache: FakeCache
    outbox: FakeOutbox
    telemetry: FakeTelemetry
    camera: CameraRecord


@pytest.fixture
def world() -> World:
    cipher = CredentialCipher(Fernet.generate_key().decode())
    cameras = FakeCameras()
    camera = cameras.add(CameraRecord(
        id=uuid.uuid4(), tenant_id=uuid.uuid4(), rtsp_url_encrypted=cipher.encrypt(CAMERA_URL),
        recording_mode="continuous", status="active"))
    sessions: Any = FakeSessions()
    outbox, engine, cache, telemetry = FakeOutbox(), FakeEngine(), FakeCache(), FakeTelemetry()
    audit = AuditTrail(sessions=sessions, outbox=outbox, window=FakeViewWindow())
    control = StreamControl(sessions=sessions, cameras=cameras, engine=engine, cache=cache,
                            outbox=outbox, cipher=cipher, signer=FakeSigner(),
                            metrics=telemetry, audit=audit)
    return World(control, engine, cache, outbox, telemetry, camera)


def _actor() -> Actor:
    return Actor(user_id=uuid.uuid4(), username="ana", session_version=3, ip="10.9.9.9")


async def test_start_pulls_the_decrypted_url_announces_audits_and_hands_out_token_urls(
    world: World,
) -> None:
    actor = _actor()
    started = await world.control.start(world.camera.id, world.camera.tenant_id, actor=actor)

    [source] = world.engine.started
    assert source.url == CAMERA_URL and source.record is True  # continuous mode records
    assert started.urls is not None
    token = f"media-{actor.user_id.hex[:6]}-3"
    assert started.urls.hls_url == f"https://media.test/{world.camera.id}/index.m3u8?token={token}"
    assert started.urls.webrtc_url is not None and started.urls.webrtc_url.endswith(token)
    assert [e.hls_url for e in world.outbox.of("StreamStarted")] == [
        f"https://media.test/{world.camera.id}/index.m3u8"]
    assert world.outbox.actions() == ["live.view", "stream.start"]
    assert (await world.cache.get(world.camera.id)) is not None
    assert world.telemetry.running == 1
    assert "s3cr3t" not in repr(world.outbox.events)


async def test_starting_a_running_stream_again_neither_restarts_nor_announces_it(
    world: World,
) -> None:
    actor = _actor()
    await world.control.start(world.camera.id, world.camera.tenant_id, actor=actor)
    await world.control.start(world.camera.id, world.camera.tenant_id, actor=actor)
    assert len(world.outbox.of("StreamStarted")) == 1
    # The second live view of the same user falls in the audit window.
    assert world.outbox.actions() == ["live.view", "stream.start"]


async def test_an_unavailable_camera_is_refused_before_anything_happens(world: World) -> None:
    disabled = CameraRecord(**{**world.camera.__dict__, "status": "disabled"})
    world.control._cameras.add(disabled)  # type: ignore[attr-defined]
    with pytest.raises(CameraUnavailable):
        await world.control.start(disabled.id, disabled.tenant_id, actor=_actor())
    assert world.engine.started == [] and world.outbox.events == []


async def test_an_access_that_cannot_be_audited_starts_nothing(world: World) -> None:
    world.outbox.broken = True
    with pytest.raises(AuditUnavailable):
        await world.control.start(world.camera.id, world.camera.tenant_id, actor=_actor())
    assert world.engine.started == []


async def test_an_engine_failure_is_a_media_engine_error_without_the_url(world: World) -> None:
    world.engine.fail_start = True
    with pytest.raises(MediaEngineError) as raised:
        await world.control.start(world.camera.id, world.camera.tenant_id)
    assert "s3cr3t" not in str(raised.value) and "s3cr3t" not in repr(raised.value.details)
    assert world.outbox.of("StreamStarted") == []


async def test_the_engine_reports_through_listen_and_failures_are_announced_once(
    world: World,
) -> None:
    assert world.engine.on_status == world.control.on_status, "StreamControl listens itself"
    camera = world.camera

    def status(state: StreamState, restarts: int = 0) -> StreamStatus:
        return StreamStatus(camera_id=camera.id, tenant_id=camera.tenant_id, state=state,
                            engine="fake", restarts=restarts,
                            error=StreamFailure.UNREACHABLE if state in (
                                StreamState.RECONNECTING, StreamState.FAILED) else None)

    await world.control.on_status(status(StreamState.LIVE))
    await world.control.on_status(status(StreamState.RECONNECTING, 1))
    await world.control.on_status(status(StreamState.RECONNECTING, 1))  # no change
    await world.control.on_status(status(StreamState.FAILED, 5))
    failed = world.outbox.of("StreamFailed")
    assert [(e.code, e.will_retry) for e in failed] == [("unreachable", True),
                                                        ("unreachable", False)]
    assert (world.telemetry.restarts, world.telemetry.failures, world.telemetry.running) == (
        1, 1, 0)


async def test_stop_if_running_only_touches_streams_this_engine_runs(world: World) -> None:
    await world.control.stop_if_running(world.camera.id, world.camera.tenant_id)
    assert world.engine.stopped == []
    await world.control.start(world.camera.id, world.camera.tenant_id)
    await world.control.stop_if_running(world.camera.id, world.camera.tenant_id)
    assert world.engine.stopped == [world.camera.id]
    assert [e.reason for e in world.outbox.of("StreamStopped")] == ["decommissioned"]


async def test_recording_switches_are_audited(world: World) -> None:
    actor = _actor()
    await world.control.start(world.camera.id, world.camera.tenant_id)
    await world.control.set_recording(world.camera.id, world.camera.tenant_id, False,
                                      actor=actor)
    assert world.engine.recording[world.camera.id] is False
    assert world.outbox.actions()[-1] == "recording.stop"
