"""Two API processes of one replica (uvicorn workers: one media root, one Redis) with the
FFmpeg engine, pulling the real camera simulator, driven over real HTTP. Requests land on
either worker: a camera runs in one ffmpeg whichever worker started it, either worker
serves its live HLS, switches its recording and stops it, and a stop through the worker
that does not run the stream has ended it (and freed the camera) before it answers, so a
start right after it starts the camera again."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import httpx
import pytest

from streaming_service.domain.stream import StreamState, StreamStatus
from streaming_service.settings import StreamingSettings
from tests.integration.streaming.conftest import bearer
from tests.integration.streaming.live_server import (
    LiveServer,
    processes_mentioning,
    serve_ffmpeg_app,
)
from tests.integration.streaming.test_streaming_ffmpeg_api import eventually


@pytest.fixture(scope="module")
async def workers(
    streaming_settings: StreamingSettings, tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[tuple[LiveServer, LiveServer, Path]]:
    shared = tmp_path_factory.mktemp("workers-media")
    prefix = f"gtv-test-{uuid.uuid4().hex[:8]}:"
    async with AsyncExitStack() as stack:
        a, b = [await stack.enter_async_context(serve_ffmpeg_app(
            streaming_settings, tmp_path_factory.mktemp(f"worker-{name}"), f"worker-{name}",
            media_root=shared, redis_prefix=prefix, recording_keeper=False))
            for name in ("a", "b")]
        yield a, b, shared
    assert not processes_mentioning(str(shared)), "ffmpeg left running after shutdown"


async def live_on(server: LiveServer, camera_id: uuid.UUID) -> StreamStatus | None:
    status = await server.engine.status(camera_id)
    return status if status is not None and status.state is StreamState.LIVE else None


def ffmpegs_of(camera_id: uuid.UUID) -> list[int]:
    return processes_mentioning(f"live/{camera_id}")


async def test_requests_on_either_worker_drive_the_one_stream_of_a_camera(
    workers: tuple[LiveServer, LiveServer, Path], make_token: Any, seed_camera: Any,
    camera_urls: dict[str, str],
) -> None:
    a, b, _ = workers
    camera = await seed_camera(rtsp_url=camera_urls["cam1"], recording_mode="off")
    headers = bearer(make_token(roles=("operator",), tenant_id=camera.tenant_id))
    path = f"/api/streaming/streams/{camera.camera_id}"
    async with (httpx.AsyncClient(base_url=a.base_url, timeout=20.0) as on_a,
                httpx.AsyncClient(base_url=b.base_url, timeout=20.0) as on_b):
        started = await on_a.post(f"{path}/start", headers=headers)
        assert started.status_code == 200, started.text
        await eventually(lambda: live_on(a, camera.camera_id), 20, "live on worker a")

        # The other worker: the same stream, its URLs, its live playlist; no second ffmpeg.
        again = await on_b.post(f"{path}/start", headers=headers)
        assert again.status_code == 200, again.text
        assert await b.engine.status(camera.camera_id) is None
        assert len(ffmpegs_of(camera.camera_id)) == 1
        playlist_url = httpx.URL(again.json()["hls_url"])
        playlist = await on_b.get(playlist_url.path, params=playlist_url.params)
        assert playlist.status_code == 200 and "#EXTINF" in playlist.text

        # Recording switched through b is switched by a, which runs the stream.
        recording = await on_b.post(f"{path}/recording/start", headers=headers)
        assert recording.status_code == 200, recording.text
        assert recording.json()["recording"] is True
        status = await a.engine.status(camera.camera_id)
        assert status is not None and status.recording

        # Stopped through b: a's ffmpeg is gone and the camera free when b answers ...
        stopped = await on_b.post(f"{path}/stop", headers=headers)
        assert stopped.status_code == 204, stopped.text
        assert await a.engine.status(camera.camera_id) is None
        assert ffmpegs_of(camera.camera_id) == []
        listing = await on_a.get("/api/streaming/streams/", headers=headers)
        assert listing.status_code == 200 and listing.json()["results"] == []

        # ... so a start right after it, through b again, starts the camera there.
        restarted = await on_b.post(f"{path}/start", headers=headers)
        assert restarted.status_code == 200, restarted.text
        await eventually(lambda: live_on(b, camera.camera_id), 20, "live on worker b")
        assert await a.engine.status(camera.camera_id) is None

        # Recording on a stream nobody runs is refused by either worker.
        assert (await on_a.post(f"{path}/stop", headers=headers)).status_code == 204
        assert await b.engine.status(camera.camera_id) is None
        refused = await on_b.post(f"{path}/recording/start", headers=headers)
        assert refused.status_code == 409, refused.text
        assert refused.json()["error"]["code"] == "stream_not_running"
