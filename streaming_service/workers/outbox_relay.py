"""``python -m streaming_service.workers.outbox_relay [--once]``: publishes the streaming
service's outbox (``streaming.outbox_events``) to RabbitMQ until SIGTERM/SIGINT.

``--once`` drains what is pending and exits (status 1 if the broker could not be reached:
the events stay pending). Several relays may run side by side.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared_kernel.logging import configure_logging
from streaming_service.application.metrics import StreamingMetrics
from streaming_service.infrastructure.db.session import create_engine, create_sessionmaker
from streaming_service.infrastructure.outbox import (
    AmqpRelayPublisher,
    OutboxRelay,
    PgNotifyListener,
    RelaySettings,
)
from streaming_service.settings import StreamingSettings
from streaming_service.workers.heartbeat import beat

log = logging.getLogger(__name__)


def build_relay(
    settings: StreamingSettings,
    sessions: async_sessionmaker[AsyncSession],
    metrics: StreamingMetrics | None = None,
) -> OutboxRelay:
    return OutboxRelay(
        sessions=sessions,
        publisher=AmqpRelayPublisher(settings.amqp_url),
        listener=PgNotifyListener(settings.sync_database_url),
        metrics=metrics,
        settings=RelaySettings(
            batch_size=settings.outbox_batch_size,
            poll_interval=settings.outbox_poll_interval_seconds,
            backoff_max=settings.outbox_backoff_max_seconds,
        ),
    )


async def run(settings: StreamingSettings, stop: asyncio.Event, *, once: bool = False) -> int:
    """Run the relay; with ``once``, one drain. Returns the process exit status."""
    engine = create_engine(settings)
    relay = build_relay(settings, create_sessionmaker(engine))
    try:
        if once:
            try:
                published = await relay.drain_once()
            except Exception as exc:
                log.warning("outbox relay could not publish; events stay pending",
                            extra={"error": repr(exc)[:300]})
                return 1
            finally:
                await relay.close()
            log.info("outbox drained", extra={"count": published})
            return 0
        log.info("outbox relay started")
        await relay.run(stop)
        log.info("outbox relay stopped", extra={"published": relay.published_total})
        return 0
    finally:
        await engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--once", action="store_true", help="drain once and exit")
    args = parser.parse_args()
    settings = StreamingSettings()
    configure_logging("streaming_service.outbox_relay", settings.log_level)

    async def _main() -> int:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            with contextlib.suppress(NotImplementedError):
                loop.add_signal_handler(sig, stop.set)
        heartbeat = asyncio.create_task(beat(stop))
        try:
            return await run(settings, stop, once=args.once)
        finally:
            stop.set()
            await heartbeat

    sys.exit(asyncio.run(_main()))


if __name__ == "__main__":
    main()
