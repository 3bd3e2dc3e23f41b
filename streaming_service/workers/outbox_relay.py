"""``python -m streaming_service.workers.outbox_relay [--once]``: publishes the streaming
service's outbox (``streaming.outbox_events``) until SIGTERM/SIGINT, in two lanes: the
broker lane to RabbitMQ and the live lane to the tenants' live feeds (Redis Streams read
by ``WS /ws/alerts``).

``--once`` drains what is pending and exits (status 1 if the broker or Redis could not be
reached: those events stay pending). Several relays may run side by side, here, in API
processes (``GTV_OUTBOX_RELAY_IN_PROCESS``) and in LPR workers.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared_kernel.outbox_relay import AmqpRelayPublisher, OutboxRelay, RelaySettings
from streaming_service.bootstrap import bootstrap
from streaming_service.domain.ai.ports import LIVE_FEED, LiveFeed
from streaming_service.infrastructure.metrics import StreamingMetrics
from streaming_service.infrastructure.outbox import (
    LiveFeedRelayPublisher,
    PgNotifyListener,
    RelayMetrics,
    SqlOutboxStore,
)
from streaming_service.settings import StreamingSettings
from streaming_service.workers.process import run_worker

log = logging.getLogger(__name__)


def build_relays(
    settings: StreamingSettings,
    sessions: async_sessionmaker[AsyncSession],
    live: LiveFeed,
    metrics: StreamingMetrics | None = None,
) -> list[OutboxRelay]:
    """The broker lane and the live lane, each woken by the outbox's NOTIFY. Only the
    broker lane counts ``gtv_events_published_total`` (an event is counted once)."""
    relay_settings = RelaySettings(
        batch_size=settings.outbox_batch_size,
        poll_interval=settings.outbox_poll_interval_seconds,
        backoff_max=settings.outbox_backoff_max_seconds,
    )
    return [
        OutboxRelay(
            store=SqlOutboxStore(sessions, listener=PgNotifyListener(settings.sync_database_url),
                                 skip_exchanges=(LIVE_FEED,)),
            publisher=AmqpRelayPublisher(settings.amqp_url), settings=relay_settings,
            observer=RelayMetrics(metrics) if metrics is not None else None, name="broker",
        ),
        OutboxRelay(
            store=SqlOutboxStore(sessions, listener=PgNotifyListener(settings.sync_database_url),
                                 exchanges=(LIVE_FEED,)),
            publisher=LiveFeedRelayPublisher(live), settings=relay_settings, name="live",
        ),
    ]


async def run_relays(relays: Sequence[OutboxRelay], stop: asyncio.Event) -> None:
    """Run every lane until ``stop`` is set."""
    await asyncio.gather(*(relay.run(stop) for relay in relays))


async def drain_relays(relays: Sequence[OutboxRelay]) -> bool:
    """Drain every lane once; False if one could not publish (its events stay pending)."""
    results = [await relay.run_once() for relay in relays]
    for relay, result in zip(relays, results, strict=True):
        if not result.failed:
            log.info("outbox drained", extra={"lane": relay.name, "count": result.published})
    return not any(result.failed for result in results)


async def run(settings: StreamingSettings, stop: asyncio.Event, *, once: bool = False) -> int:
    """Run the relay; with ``once``, one drain. Returns the process exit status."""
    services = bootstrap(settings)
    relays = build_relays(settings, services.sessions, services.live)
    try:
        if once:
            return 0 if await drain_relays(relays) else 1
        log.info("outbox relay started")
        await run_relays(relays, stop)
        log.info("outbox relay stopped",
                 extra={"published": {r.name: r.published_total for r in relays}})
        return 0
    finally:
        await services.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--once", action="store_true", help="drain once and exit")
    args = parser.parse_args()
    settings = StreamingSettings()
    sys.exit(run_worker(lambda stop: run(settings, stop, once=args.once),
                        service="streaming_service.outbox_relay",
                        log_level=settings.log_level, heartbeat=True))


if __name__ == "__main__":
    main()
