"""``python -m streaming_service.workers.retention [--once]``: deletes recordings (objects
and rows) older than each camera's ``retention_days``, and plate reads (detections and
their crops) older than each tenant's retention (LGPD, ``application/ai/data_lifecycle``),
then folds the reports' pending daily counts into their roll-ups; without ``--once`` it
repeats every ``GTV_RETENTION_INTERVAL_SECONDS``."""

from __future__ import annotations

import argparse
import asyncio
import logging
from dataclasses import dataclass

from shared_kernel.lifecycle import sleep_until_stopped
from streaming_service.application.ai.data_lifecycle import PurgeReport
from streaming_service.application.recordings import RetentionReport
from streaming_service.bootstrap import Services, bootstrap
from streaming_service.settings import StreamingSettings
from streaming_service.workers.process import run_worker

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RunReport:
    recordings: RetentionReport | None
    plate_reads: PurgeReport | None
    """None: that part failed this run (logged)."""


async def run(services: Services, stop: asyncio.Event, *,
              once: bool = False) -> RunReport | None:
    """Apply retention every interval until ``stop``; with ``once``, one run (and its
    failure raises). Recordings and plate reads fail independently."""
    report: RunReport | None = None
    while not stop.is_set():
        recordings: RetentionReport | None = None
        plate_reads: PurgeReport | None = None
        try:
            recordings = await services.recordings.apply_retention()
        except Exception:
            if once:
                raise
            log.exception("recording retention failed; next attempt after the interval")
        try:
            plate_reads = await services.data_lifecycle.purge_expired()
        except Exception:
            if once:
                raise
            log.exception("plate-read retention failed; next attempt after the interval")
        try:
            await services.reports.fold()
        except Exception:
            if once:
                raise
            log.exception("folding the report roll-ups failed; next attempt after the interval")
        report = RunReport(recordings, plate_reads)
        if once:
            break
        await sleep_until_stopped(stop, services.settings.retention_interval_seconds)
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--once", action="store_true", help="run one pass and exit")
    args = parser.parse_args()
    settings = StreamingSettings()

    async def _main(stop: asyncio.Event) -> RunReport | None:
        services = bootstrap(settings)
        try:
            return await run(services, stop, once=args.once)
        finally:
            await services.close()

    report = run_worker(_main, service="streaming_service.retention",
                        log_level=settings.log_level)
    if args.once and report is not None:
        rec, reads = report.recordings, report.plate_reads
        if rec is not None:
            print(f"retention: {rec.deleted} deleted, {rec.failed} failed, "
                  f"{rec.cameras} cameras")
        if reads is not None:
            print(f"plate reads: {reads.detections} purged, {reads.crops} crops, "
                  f"{reads.failed} failed, {len(reads.tenants)} tenants")


if __name__ == "__main__":
    main()
