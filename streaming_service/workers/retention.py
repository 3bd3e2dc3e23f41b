"""``python -m streaming_service.workers.retention [--once]``: deletes recordings (objects
and rows) older than each camera's ``retention_days``; without ``--once`` it repeats every
``GTV_RETENTION_INTERVAL_SECONDS``."""

from __future__ import annotations

import argparse
import asyncio
import logging

from shared_kernel.logging import configure_logging
from streaming_service.application.recordings import Recordings, RetentionReport
from streaming_service.domain.ports import ObjectStore
from streaming_service.infrastructure.db.session import create_engine, create_sessionmaker
from streaming_service.infrastructure.metrics import StreamingMetrics
from streaming_service.infrastructure.outbox import SqlOutbox
from streaming_service.settings import StreamingSettings

log = logging.getLogger(__name__)


async def run(settings: StreamingSettings, store: ObjectStore, *, once: bool) -> RetentionReport:
    engine = create_engine(settings)
    recordings = Recordings(db=engine, sessions=create_sessionmaker(engine), store=store,
                            outbox=SqlOutbox(), metrics=StreamingMetrics())
    try:
        while True:
            try:
                report = await recordings.apply_retention()
            except Exception:
                if once:
                    raise
                log.exception("retention run failed; next attempt after the interval")
            else:
                if once:
                    return report
            await asyncio.sleep(settings.retention_interval_seconds)
    finally:
        await engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--once", action="store_true", help="run one pass and exit")
    args = parser.parse_args()
    settings = StreamingSettings()
    configure_logging("streaming_service.retention", settings.log_level)
    from streaming_service.main import build_object_store

    report = asyncio.run(run(settings, build_object_store(settings), once=args.once))
    print(f"retention: {report.deleted} deleted, {report.failed} failed, "
          f"{report.cameras} cameras")


if __name__ == "__main__":
    main()
