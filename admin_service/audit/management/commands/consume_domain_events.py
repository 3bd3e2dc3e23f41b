"""``manage.py consume_domain_events``: the admin service's consumer of domain.events.

Consumes ``admin.domain.events`` (manual ack, bounded retries, DLQ, dedupe by event id)
and audits recording playback/export and alert acknowledgements (see audit.consumers).
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from typing import Any

import redis.asyncio as aioredis
from asgiref.sync import sync_to_async
from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser
from django.db import connections as db_connections

from audit.consumers import CONSUMER_NAME, handle_domain_event
from shared_kernel.bus import (
    EventConsumer,
    RedisIdempotencyStore,
    declare_topology,
    domain_events_queue,
)
from shared_kernel.heartbeat import beat

QUEUE = domain_events_queue("admin")


class Command(BaseCommand):
    help = "Consume domain events addressed to the admin service (LGPD audit of access)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--amqp-url", default=None, help="Defaults to GTV_AMQP_URL.")
        parser.add_argument("--prefetch", type=int, default=16)
        parser.add_argument(
            "--idle-exit", type=float, default=0.0,
            help="Exit after this many seconds without a message (0: run until signalled).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        asyncio.run(
            consume(
                options["amqp_url"] or settings.AMQP_URL,
                prefetch=options["prefetch"],
                idle_exit=options["idle_exit"],
                stdout=self.stdout,
            )
        )


async def consume(
    amqp_url: str, *, prefetch: int = 16, idle_exit: float = 0.0, stdout: Any = None
) -> EventConsumer:
    from shared_kernel.bus import connect

    redis_client = aioredis.from_url(settings.REDIS_URL)
    connection = await connect(amqp_url)
    try:
        channel = await connection.channel()
        queues = await declare_topology(channel, (QUEUE,))
        consumer = EventConsumer(
            channel, queues[QUEUE.name], handle_domain_event,
            name=CONSUMER_NAME, idempotency=RedisIdempotencyStore(redis_client),
        )
        await consumer.start(prefetch=prefetch)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            # Not possible outside the main thread (tests): then only --idle-exit stops it.
            with contextlib.suppress(RuntimeError, ValueError):
                loop.add_signal_handler(sig, stop.set)
        # The heartbeat file is what the worker's health check reads.
        beating = asyncio.create_task(beat(stop))
        if idle_exit > 0:
            seen = -1
            while not stop.is_set():
                stats = consumer.stats
                total = stats.handled + stats.duplicates + stats.dead_lettered + stats.retried
                if total == seen:
                    break
                seen = total
                await asyncio.sleep(idle_exit)
        else:
            await stop.wait()
        stop.set()
        await beating
        await consumer.stop()
        if stdout is not None:
            s = consumer.stats
            stdout.write(f"handled {s.handled} duplicates {s.duplicates} "
                         f"dead_lettered {s.dead_lettered}")
        return consumer
    finally:
        await connection.close()
        await redis_client.aclose()
        # The handler's ORM work ran in asgiref's worker thread: close its connection.
        await sync_to_async(db_connections.close_all, thread_sensitive=True)()
