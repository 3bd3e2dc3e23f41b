"""``python -m streaming_service.workers.thumbnailer [--once]``: every
``GTV_THUMBNAIL_INTERVAL_SECONDS``, a fresh thumbnail of every live stream (``thumbnails``
bucket, ``snapshots`` rows of kind ``thumbnail``), until SIGTERM/SIGINT.

Run it where the FFmpeg engine's media directory is visible to read frames from the live
playlists; elsewhere it reads from the cameras themselves.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
from datetime import timedelta
from typing import Any

import redis.asyncio as aioredis

from shared_kernel.crypto import CredentialCipher
from shared_kernel.lifecycle import sleep_until_stopped
from streaming_service.application.thumbnails import ThumbnailReport, Thumbnails
from streaming_service.domain.ports import ObjectStore
from streaming_service.infrastructure.db.session import create_engine, create_sessionmaker
from streaming_service.infrastructure.stream_status import RedisStreamStatusCache
from streaming_service.settings import StreamingSettings
from streaming_service.workers.process import run_worker

log = logging.getLogger(__name__)


async def run(
    settings: StreamingSettings,
    store: ObjectStore,
    stop: asyncio.Event,
    *,
    once: bool = False,
    redis_client: Any | None = None,
) -> ThumbnailReport | None:
    from streaming_service.main import ffmpeg_thumbnailer, live_source_resolver

    engine = create_engine(settings)
    redis = redis_client or aioredis.from_url(
        settings.redis_url, socket_timeout=5, socket_connect_timeout=5)
    cipher = CredentialCipher(settings.camera_credentials_key.get_secret_value())
    thumbnails = Thumbnails(
        sessions=create_sessionmaker(engine), store=store,
        cache=RedisStreamStatusCache(redis, settings.redis_prefix),
        grab=ffmpeg_thumbnailer(settings.camera_network_policy()),
        source_for=live_source_resolver(settings, cipher), width=settings.thumbnail_width,
        history=timedelta(hours=settings.thumbnail_history_hours),
        url_ttl_seconds=settings.playback_url_ttl_seconds,
    )
    report: ThumbnailReport | None = None
    try:
        await store.ensure_buckets()
        while not stop.is_set():
            try:
                report = await thumbnails.refresh_live()
            except Exception:
                if once:
                    raise
                log.exception("thumbnail pass failed; next attempt after the interval")
            if once:
                break
            await sleep_until_stopped(stop, settings.thumbnail_interval_seconds)
        return report
    finally:
        if redis_client is None:
            await redis.aclose()
        await engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--once", action="store_true", help="one pass, then exit")
    args = parser.parse_args()
    settings = StreamingSettings()

    async def _main(stop: asyncio.Event) -> ThumbnailReport | None:
        from streaming_service.main import build_object_store

        return await run(settings, build_object_store(settings), stop, once=args.once)

    report = run_worker(_main, service="streaming_service.thumbnailer",
                        log_level=settings.log_level, heartbeat=True)
    if args.once and report is not None:
        print(f"thumbnails: {report.stored} stored, {report.failed} failed, "
              f"{report.live} live streams, {report.pruned} pruned")


if __name__ == "__main__":
    main()
