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

from shared_kernel.lifecycle import sleep_until_stopped
from streaming_service.application.thumbnails import ThumbnailReport
from streaming_service.bootstrap import Services, bootstrap
from streaming_service.settings import StreamingSettings
from streaming_service.workers.process import run_worker

log = logging.getLogger(__name__)


async def run(services: Services, stop: asyncio.Event, *,
              once: bool = False) -> ThumbnailReport | None:
    """Refresh every live stream's thumbnail each interval until ``stop``; with ``once``,
    one pass (and its failure raises)."""
    report: ThumbnailReport | None = None
    await services.store.ensure_buckets()
    while not stop.is_set():
        try:
            report = await services.thumbnails.refresh_live()
        except Exception:
            if once:
                raise
            log.exception("thumbnail pass failed; next attempt after the interval")
        if once:
            break
        await sleep_until_stopped(stop, services.settings.thumbnail_interval_seconds)
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--once", action="store_true", help="one pass, then exit")
    args = parser.parse_args()
    settings = StreamingSettings()

    async def _main(stop: asyncio.Event) -> ThumbnailReport | None:
        services = bootstrap(settings)
        try:
            return await run(services, stop, once=args.once)
        finally:
            await services.close()

    report = run_worker(_main, service="streaming_service.thumbnailer",
                        log_level=settings.log_level, heartbeat=True)
    if args.once and report is not None:
        print(f"thumbnails: {report.stored} stored, {report.failed} failed, "
              f"{report.live} live streams, {report.pruned} pruned")


if __name__ == "__main__":
    main()
