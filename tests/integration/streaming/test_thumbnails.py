"""Periodic thumbnails of live streams (SPEC §2 flow 5), with real ffmpeg: a live HLS
playlist made from ffmpeg's lavfi test source stands in for the FFmpeg engine's output."""

from __future__ import annotations

import asyncio
import subprocess
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import select

from streaming_service.application.thumbnails import jpeg_size
from streaming_service.domain.stream import StreamState, StreamStatus
from streaming_service.infrastructure.db.models import Snapshot
from streaming_service.infrastructure.stream_status import RedisStreamStatusCache
from streaming_service.settings import StreamingSettings
from streaming_service.workers import thumbnailer
from tests.integration.streaming.conftest import bearer


def make_live_playlist(settings: StreamingSettings, camera_id: uuid.UUID) -> Path:
    """Where the FFmpeg engine keeps a camera's live HLS: two 1 s segments of 1280x720."""
    live_dir = settings.media_root / "live" / str(camera_id)
    live_dir.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        ["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi",
         "-i", "testsrc=size=1280x720:rate=10", "-t", "2", "-c:v", "libx264",
         "-preset", "ultrafast", "-g", "10", "-pix_fmt", "yuv420p", "-f", "hls",
         "-hls_time", "1", "-hls_list_size", "0", str(live_dir / "index.m3u8")],
        check=True, capture_output=True, timeout=60,
    )
    return live_dir / "index.m3u8"


async def mark_live(app_services: Any, settings: StreamingSettings, camera: Any) -> None:
    cache = RedisStreamStatusCache(app_services.redis, settings.redis_prefix)
    await cache.put(StreamStatus(camera_id=camera.camera_id, tenant_id=camera.tenant_id,
                                 state=StreamState.LIVE, engine="ffmpeg",
                                 started_at=datetime.now(UTC)))


async def thumbnails_of(app_services: Any, camera_id: uuid.UUID) -> list[Snapshot]:
    async with app_services.sessions() as session:
        return list((await session.execute(
            select(Snapshot).where(Snapshot.camera_id == camera_id,
                                   Snapshot.kind == "thumbnail")
            .order_by(Snapshot.taken_at))).scalars().all())


async def test_live_stream_gets_a_scaled_thumbnail_served_to_viewers(
    client: httpx.AsyncClient, make_token: Any, seed_camera: Any, app_services: Any,
    streaming_settings: StreamingSettings,
) -> None:
    camera = await seed_camera()
    await asyncio.to_thread(make_live_playlist, streaming_settings, camera.camera_id)
    await mark_live(app_services, streaming_settings, camera)
    # A second live camera that cannot be reached fails alone.
    broken = await seed_camera(camera.tenant_id, rtsp_url="rtsp://u:p@127.0.0.1:1/none")
    await mark_live(app_services, streaming_settings, broken)

    report = await app_services.thumbnails.refresh_live()
    assert report.stored >= 1 and report.failed >= 1

    [row] = await thumbnails_of(app_services, camera.camera_id)
    assert await thumbnails_of(app_services, broken.camera_id) == []
    assert (row.bucket, row.content_type, row.width, row.height) == (
        "thumbnails", "image/jpeg", 320, 180)
    latest = await app_services.store.get_bytes(
        "thumbnails", f"{camera.tenant_id}/{camera.camera_id}/latest.jpg")
    stamped = await app_services.store.get_bytes("thumbnails", row.object_key)
    assert latest == stamped and jpeg_size(latest) == (320, 180)
    assert row.object_key.startswith(f"{camera.tenant_id}/{camera.camera_id}/")

    viewer = make_token(roles=("viewer",), tenant_id=camera.tenant_id)
    response = await client.get(f"/api/streaming/cameras/{camera.camera_id}/thumbnail",
                                headers=bearer(viewer))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["id"] == str(row.id) and body["width"] == 320
    image = await client.get(body["url"])
    assert image.status_code == 200
    assert image.content == stamped

    # No thumbnail yet, another tenant's camera, no token.
    none = await client.get(f"/api/streaming/cameras/{broken.camera_id}/thumbnail",
                            headers=bearer(viewer))
    assert none.status_code == 404
    assert none.json()["error"]["code"] == "thumbnail_not_found"
    stranger = make_token(roles=("tenant_admin",), tenant_id=uuid.uuid4())
    other = await client.get(f"/api/streaming/cameras/{camera.camera_id}/thumbnail",
                             headers=bearer(stranger))
    assert other.status_code == 404
    assert str(row.id) not in other.text
    anonymous = await client.get(f"/api/streaming/cameras/{camera.camera_id}/thumbnail")
    assert anonymous.status_code == 401


async def test_worker_pass_adds_thumbnails_and_prunes_old_ones(
    seed_camera: Any, app_services: Any, streaming_settings: StreamingSettings,
) -> None:
    camera = await seed_camera()
    await asyncio.to_thread(make_live_playlist, streaming_settings, camera.camera_id)
    await mark_live(app_services, streaming_settings, camera)

    for _ in range(2):
        report = await thumbnailer.run(app_services, asyncio.Event(), once=True)
        assert report is not None and report.stored >= 1
    first, second = await thumbnails_of(app_services, camera.camera_id)

    later = datetime.now(UTC) + timedelta(hours=streaming_settings.thumbnail_history_hours,
                                          minutes=1)
    assert await app_services.thumbnails.prune(camera.camera_id, now=later) == 1
    assert [t.id for t in await thumbnails_of(app_services, camera.camera_id)] == [second.id]
    assert not await app_services.store.exists("thumbnails", first.object_key)
    assert await app_services.store.exists("thumbnails", second.object_key)
    assert await app_services.store.exists(
        "thumbnails", f"{camera.tenant_id}/{camera.camera_id}/latest.jpg")
