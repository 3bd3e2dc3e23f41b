"""``python -m streaming_service.workers.retention [--once]``: deletes recordings (objects
and rows) older than each camera's ``retention_days``; without ``--once`` it repeats every
``GTV_RETENTION_INTERVAL_SECONDS``."""

from __future__ import annotations

import argparse
import asyncio
import logging

from shared_kernel.lifecycle import sleep_until_stopped
from streaming_service.application.recordings import RetentionReport
from streaming_service.bootstrap import Services, bootstrap
from streaming_service.settings import StreamingSettings
from streaming_service.workers.process import run_worker

log = logging.getLogger(__name__)


async def run(services: Services, stop: asyncio.Event, *,
              once: bool = False) -> RetentionReport | None:
    """Apply retention every interval until ``stop``; with ``once``, one run (and its
    failure raises)."""
    report: RetentionReport | None = None
    while not stop.is_set():
        try:
            report = await services.recordings.apply_retention()
        except Exception:
            if once:
                raise
            log.exception("retention run failed; next attempt after the interval")
        if once:
            break
        await sleep_until_stopped(stop, services.settings.retention_interval_seconds)
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--once", action="store_true", help="run one pass and exit")
    args = parser.parse_args()
    settings = StreamingSettings()

    async def _main(stop: asyncio.Event) -> RetentionReport | None:
        services = bootstrap(settings)
        try:
            return await run(services, stop, once=args.once)
        finally:
            await services.close()

    report = run_worker(_main, service="streaming_service.retention",
                        log_level=settings.log_level)
    if args.once and report is not None:
        print(f"retention: {report.deleted} deleted, {report.failed} failed, "
              f"{report.cameras} cameras")


if __name__ == "__main__":
    main()
