"""End to end through the real HTTP API: the app (``create_app``, FFmpeg engine, filesystem
object store, real PostgreSQL/Redis/RabbitMQ) served by uvicorn on 127.0.0.1, pulling the
real RTSP camera simulator with credentials. Every playlist, segment, playback and export
byte is fetched over real HTTP and checked with ffprobe/ffmpeg.

Already covered elsewhere, not repeated here: a viewer cannot start a stream (403) and an
operator of another tenant gets 404 (``test_api_auth.py``), retention deletes objects and
rows (``test_api_recordings.py``)."""

from __future__ import annotations

import asyncio
import json
import os
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urljoin, urlsplit

import httpx
import numpy as np
import pytest

from streaming_service.settings import StreamingSettings
from tests.integration.conftest import CAMERA_PASSWORD, CAMERA_USER, SIM_SIZE
from tests.integration.streaming.conftest import EventTap, bearer
from tests.integration.streaming.live_server import (
    LiveServer,
    serve_ffmpeg_app,
)
from tools.camera_sim.scene import read_timestamp
from tools.camera_sim.simulator import CameraSimulator

T = TypeVar("T")
@pytest.fixture(scope="module")
async def ffmpeg_server(
    streaming_settings: StreamingSettings, event_tap: EventTap,
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[LiveServer]:
    """``create_app`` with the FFmpeg engine, served by uvicorn on a free loopback port
    (in this event loop), shut down through uvicorn's own lifespan at the end."""
    root = tmp_path_factory.mktemp("ffmpeg-api")
    async with serve_ffmpeg_app(streaming_settings, root, "ffmpeg-api") as server:
        yield server


@pytest.fixture
async def http(ffmpeg_server: LiveServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=ffmpeg_server.base_url, timeout=10.0) as client:
        yield client


async def eventually(probe: Callable[[], Awaitable[T | None]], timeout: float, what: str) -> T:
    """Poll ``probe`` until it returns something truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    last: T | None = None
    while time.monotonic() < deadline:
        last = await probe()
        if last:
            return last
        await asyncio.sleep(0.2)
    raise AssertionError(f"{what} not within {timeout:g} s (last: {last!r})")


async def ffprobe_decode(path: Path) -> dict[str, Any]:
    """ffprobe after decoding every frame: container, codec, size, frames decoded."""
    process = await asyncio.create_subprocess_exec(
        "ffprobe", "-v", "error", "-count_frames", "-select_streams", "v:0",
        "-show_entries", "stream=codec_name,width,height,nb_read_frames",
        "-show_entries", "format=format_name,duration", "-of", "json", str(path),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(process.communicate(), timeout=30)
    assert process.returncode == 0, err.decode(errors="replace")
    info: dict[str, Any] = json.loads(out)
    stream = info["streams"][0]
    return {"codec": stream["codec_name"], "size": (stream["width"], stream["height"]),
            "frames": int(stream.get("nb_read_frames") or 0),
            "format": info["format"]["format_name"],
            "duration": float(info["format"].get("duration") or 0)}


async def last_frame_time(path: Path) -> datetime | None:
    """The burned-in instant of the last frame of a video file."""
    width, height = SIM_SIZE
    process = await asyncio.create_subprocess_exec(
        "ffmpeg", "-v", "error", "-nostdin", "-i", str(path), "-map", "0:v:0",
        "-f", "rawvideo", "-pix_fmt", "gray", "pipe:1",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL)
    out, _ = await asyncio.wait_for(process.communicate(), timeout=30)
    frames = np.frombuffer(out, dtype=np.uint8)
    if frames.size < width * height:
        return None
    return read_timestamp(frames[-width * height:].reshape(height, width))


def segment_urls(playlist_url: str, playlist: str) -> list[str]:
    return [urljoin(playlist_url, line) for line in playlist.splitlines()
            if line and not line.startswith("#")]




def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


async def stream_state(http: httpx.AsyncClient, token: str, camera_id: uuid.UUID) -> str | None:
    response = await http.get("/api/streaming/streams/", headers=bearer(token))
    assert response.status_code == 200, response.text
    states = [s["state"] for s in response.json()["results"] if s["camera_id"] == str(camera_id)]
    return states[0] if states else None


async def test_operator_watches_live_hls_through_camera_loss_and_stops_clean(
    ffmpeg_server: LiveServer, http: httpx.AsyncClient, make_token: Any, seed_camera: Any,
    private_camera: CameraSimulator, event_tap: EventTap, tmp_path: Path,
) -> None:
    camera = await seed_camera(rtsp_url=private_camera.url("solo"))
    assert CAMERA_PASSWORD in camera.rtsp_url
    token = make_token(roles=("operator",), tenant_id=camera.tenant_id)
    requested = time.monotonic()
    response = await http.post(f"/api/streaming/streams/{camera.camera_id}/start",
                               headers=bearer(token))
    assert response.status_code == 200, response.text
    body = response.json()
    hls_url = body["hls_url"]
    assert hls_url.startswith(
        f"{ffmpeg_server.base_url}/api/streaming/live/{camera.camera_id}/index.m3u8?token=")
    assert body["status"] in ("starting", "live") and body["webrtc_url"] is None
    for secret in (CAMERA_PASSWORD, f"{CAMERA_USER}:", f":{private_camera.port}/solo"):
        assert secret not in response.text

    # A player: the playlist (media token in its URL, no header) lists a segment in seconds.
    async def playlist_with_segments() -> list[str]:
        got = await http.get(hls_url)
        if got.status_code != 200:
            return []
        assert got.headers["content-type"].startswith("application/vnd.apple.mpegurl")
        return segment_urls(hls_url, got.text)

    segments = await eventually(playlist_with_segments, 15, "a playlist with a segment")
    playable_after = time.monotonic() - requested
    assert all("token=" in url and CAMERA_PASSWORD not in url for url in segments)
    segment = await http.get(segments[-1])
    assert segment.status_code == 200 and segment.headers["content-type"] == "video/mp2t"
    path = tmp_path / "live.ts"
    path.write_bytes(segment.content)
    info = await ffprobe_decode(path)
    assert info["codec"] == "h264" and info["size"] == SIM_SIZE and info["frames"] >= 1
    # The simulator's burned-in clock made it through camera → RTSP → ffmpeg → HLS → HTTP.
    shown = await last_frame_time(path)
    assert shown is not None
    assert timedelta(0) <= datetime.now(UTC) - shown < timedelta(seconds=10)
    print(f"\nplaylist playable {playable_after:.2f} s after the start call; newest frame "
          f"{(datetime.now(UTC) - shown).total_seconds():.2f} s old when fetched")

    await eventually(lambda: _state_is(http, token, camera.camera_id, "live"), 10, "live")

    # The camera disappears: the stream reconnects and StreamFailed(will_retry) goes out.
    private_camera.pause("solo")
    await eventually(lambda: _state_is(http, token, camera.camera_id, "reconnecting"), 15,
                     "reconnecting")
    failed = await event_tap.wait_for(
        lambda e: e.type == "StreamFailed" and e.payload["camera_id"] == str(camera.camera_id),
        timeout=10)
    assert failed.payload["will_retry"] is True
    assert CAMERA_PASSWORD not in failed.model_dump_json()
    private_camera.resume("solo")
    await eventually(lambda: _state_is(http, token, camera.camera_id, "live"), 20, "live again")
    assert await eventually(playlist_with_segments, 10, "segments after the camera came back")

    pid = ffmpeg_server.engine.pid(camera.camera_id)
    assert pid is not None and alive(pid)
    live_dir = ffmpeg_server.engine.live_dir(camera.camera_id)
    assert live_dir.is_dir()
    stopped = await http.post(f"/api/streaming/streams/{camera.camera_id}/stop",
                              headers=bearer(token))
    assert stopped.status_code == 204, stopped.text
    assert not alive(pid)
    assert not live_dir.exists()
    assert await stream_state(http, token, camera.camera_id) is None
    assert (await http.get(hls_url)).status_code == 404


async def _state_is(http: httpx.AsyncClient, token: str, camera_id: uuid.UUID,
                    state: str) -> bool:
    return await stream_state(http, token, camera_id) == state


async def test_recording_lands_in_the_store_plays_back_and_exports_a_playable_mp4(
    ffmpeg_server: LiveServer, http: httpx.AsyncClient, make_token: Any, seed_camera: Any,
    camera_urls: dict[str, str], tmp_path: Path,
) -> None:
    camera = await seed_camera(rtsp_url=camera_urls["cam1"], recording_mode="off")
    token = make_token(roles=("operator",), tenant_id=camera.tenant_id)
    base = f"/api/streaming/streams/{camera.camera_id}"
    since = datetime.now(UTC) - timedelta(minutes=1)
    assert (await http.post(f"{base}/start", headers=bearer(token))).status_code == 200
    await eventually(lambda: _state_is(http, token, camera.camera_id, "live"), 15, "live")
    recording = await http.post(f"{base}/recording/start", headers=bearer(token))
    assert recording.status_code == 200, recording.text
    assert recording.json()["recording"] is True

    async def recordings() -> list[dict[str, Any]]:
        listing = await http.get("/api/streaming/recordings/", headers=bearer(token), params={
            "camera_id": str(camera.camera_id), "start": since.isoformat(),
            "end": (datetime.now(UTC) + timedelta(minutes=1)).isoformat()})
        assert listing.status_code == 200, listing.text
        items: list[dict[str, Any]] = listing.json()["results"]
        return items

    items = await eventually(recordings, 20, "a completed recording segment")
    item = items[0]
    assert item["size_bytes"] > 0

    viewer = make_token(roles=("viewer",), tenant_id=camera.tenant_id)
    playback = await http.get(f"/api/streaming/recordings/{item['id']}/playback",
                              headers=bearer(viewer))
    assert playback.status_code == 200, playback.text
    url = playback.json()["url"]
    assert url.startswith(f"{ffmpeg_server.base_url}/api/streaming/media/recordings/")
    video = await http.get(url)  # a signed URL: no header needed
    assert video.status_code == 200 and len(video.content) == item["size_bytes"]
    recorded = tmp_path / "recording.mp4"
    recorded.write_bytes(video.content)
    info = await ffprobe_decode(recorded)
    assert info["codec"] == "h264" and "mp4" in info["format"] and info["frames"] >= 1

    export = await http.post("/api/streaming/exports", headers=bearer(token), json={
        "camera_id": str(camera.camera_id), "start": item["started_at"],
        "end": item["ended_at"]})
    assert export.status_code == 202, export.text
    export_id = export.json()["id"]

    async def export_finished() -> dict[str, Any] | None:
        job = await http.get(f"/api/streaming/exports/{export_id}", headers=bearer(token))
        assert job.status_code == 200, job.text
        body: dict[str, Any] = job.json()
        return body if body["status"] in ("done", "failed") else None

    job = await eventually(export_finished, 30, "the export job")
    assert job["status"] == "done", job["error"]
    assert urlsplit(job["download_url"]).netloc == urlsplit(ffmpeg_server.base_url).netloc
    exported = await http.get(job["download_url"])
    assert exported.status_code == 200 and len(exported.content) == job["size_bytes"]
    mp4 = tmp_path / "export.mp4"
    mp4.write_bytes(exported.content)
    info = await ffprobe_decode(mp4)
    assert info["codec"] == "h264" and "mp4" in info["format"]
    assert info["frames"] >= 1 and info["duration"] > 0

    pid = ffmpeg_server.engine.pid(camera.camera_id)
    assert (await http.post(f"{base}/stop", headers=bearer(token))).status_code == 204
    assert pid is None or not alive(pid)
