"""The recording keeper in ``create_app``'s lifespan, with the real FFmpeg engine pulling
the RTSP camera simulator: continuous cameras are streamed and recorded with no viewer
and no API call, ``off`` cameras are left alone, a projection update to ``off`` turns a
running stream's recording off, and nothing happens while another replica holds the
keeper's Redis lease."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest

from shared_kernel.crypto import CredentialCipher, mask_rtsp_url
from shared_kernel.events import CameraUpdated, new_event
from streaming_service.application.camera_projection import CameraProjection
from streaming_service.domain.stream import StreamState, StreamStatus
from streaming_service.settings import StreamingSettings
from tests.integration.streaming.conftest import EventTap
from tests.integration.streaming.live_server import LiveServer, serve_ffmpeg_app
from tests.integration.streaming.test_streaming_ffmpeg_api import eventually

INTERVAL = 0.5


@pytest.fixture(scope="module")
async def keeper_server(
    streaming_settings: StreamingSettings, event_tap: EventTap,
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[LiveServer]:
    """``create_app`` with the FFmpeg engine and the recording keeper ticking fast."""
    root = tmp_path_factory.mktemp("keeper")
    async with serve_ffmpeg_app(
        streaming_settings, root, "keeper",
        recording_keeper=True, recording_keeper_interval_seconds=INTERVAL,
    ) as server:
        yield server


def lease_key(server: LiveServer) -> str:
    return f"{server.services.settings.redis_prefix}recording-keeper:lease"


async def live_and_recording(server: LiveServer, camera_id: uuid.UUID,
                             recording: bool) -> StreamStatus | None:
    status = await server.engine.status(camera_id)
    if status is not None and status.state is StreamState.LIVE and status.recording is recording:
        return status
    return None


async def test_nothing_happens_while_another_replica_holds_the_lease(
    keeper_server: LiveServer, seed_camera: Any, camera_urls: dict[str, str],
) -> None:
    redis = keeper_server.services.redis
    # Another replica takes the lease (over ours, if we held it): we must lose it.
    await redis.set(lease_key(keeper_server), "other-replica", px=60_000)
    camera = await seed_camera(rtsp_url=camera_urls["cam2"], recording_mode="continuous")
    await asyncio.sleep(6 * INTERVAL)
    assert await keeper_server.engine.status(camera.camera_id) is None
    assert await keeper_server.services.streams.statuses(camera.tenant_id) == []

    # The other replica goes away (its lease expires): this one takes over and starts it.
    await redis.delete(lease_key(keeper_server))
    await eventually(lambda: live_and_recording(keeper_server, camera.camera_id, True), 20,
                     "the continuous camera live and recording after the lease freed up")
    holder = await redis.get(lease_key(keeper_server))
    assert holder is not None and holder != b"other-replica"


async def test_continuous_camera_is_recorded_without_a_viewer_and_off_is_applied(
    keeper_server: LiveServer, seed_camera: Any, camera_urls: dict[str, str],
    projection: CameraProjection, cipher: CredentialCipher,
    caplog: pytest.LogCaptureFixture,
) -> None:
    off = await seed_camera(rtsp_url=camera_urls["cam1"], recording_mode="off")
    camera = await seed_camera(rtsp_url=camera_urls["cam1"], recording_mode="continuous")

    # No API call: the keeper starts it, recording, within a bounded time.
    status = await eventually(
        lambda: live_and_recording(keeper_server, camera.camera_id, True), 20,
        "the continuous camera live and recording")
    assert status.tenant_id == camera.tenant_id
    cached = await keeper_server.services.streams.statuses(camera.tenant_id)
    assert [s.camera_id for s in cached] == [camera.camera_id] and cached[0].recording
    # The ``off`` camera was never started, though the keeper has been ticking.
    assert await keeper_server.engine.status(off.camera_id) is None
    assert await keeper_server.services.streams.statuses(off.tenant_id) == []

    # The camera is switched to ``off`` (a projection update): recording goes off, the
    # stream keeps running (a viewer may be on it).
    await projection.handle(new_event(
        CameraUpdated(
            camera_id=camera.camera_id, tenant_id=camera.tenant_id, name="Cam off",
            rtsp_url_encrypted=cipher.encrypt(camera.rtsp_url),
            rtsp_url_masked=mask_rtsp_url(camera.rtsp_url), recording_mode="off",
            retention_days=90, revision=2,
        ),
        producer="tests", tenant_id=camera.tenant_id))
    await eventually(lambda: live_and_recording(keeper_server, camera.camera_id, False), 20,
                     "recording off after the mode changed to off")
    cached = await keeper_server.services.streams.statuses(camera.tenant_id)
    assert not cached[0].recording
    # Never a camera URL (or its password) in the logs.
    secret = camera.rtsp_url.split("@", 1)[0]
    assert all(secret not in record.getMessage() and secret not in str(record.__dict__)
               for record in caplog.records)
