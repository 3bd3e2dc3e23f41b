"""``manage.py run_outbox_relay``: publish outbox events to RabbitMQ (see outbox.relay)."""

from __future__ import annotations

import asyncio
import os
import signal
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from outbox.relay import build_relay
from shared_kernel.heartbeat import beat
from shared_kernel.masking import mask_urls_in_text
from shared_kernel.outbox_relay import OutboxRelay, RelaySettings


class Command(BaseCommand):
    help = "Publish committed outbox events to the domain.events exchange (with confirms)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--once", action="store_true",
            help="Drain what is pending, then exit (status 1 if publishing failed).",
        )
        parser.add_argument("--amqp-url", default=None, help="Defaults to GTV_AMQP_URL.")
        parser.add_argument("--batch-size", type=int, default=100)
        parser.add_argument("--poll-interval", type=float, default=5.0,
                            help="Seconds between polls when no NOTIFY arrives.")
        parser.add_argument("--backoff-max", type=float, default=30.0,
                            help="Cap of the exponential backoff while the broker is down.")
        parser.add_argument(
            "--metrics-port", type=int, default=int(os.environ.get("GTV_METRICS_PORT") or 0),
            help="Serve Prometheus metrics on this port (0: off; default GTV_METRICS_PORT, "
                 "as every worker).")

    def handle(self, *args: Any, **options: Any) -> None:
        url: str = options["amqp_url"] or settings.AMQP_URL
        relay = build_relay(url, settings=RelaySettings(
            batch_size=options["batch_size"], poll_interval=options["poll_interval"],
            backoff_max=options["backoff_max"]))
        if options["once"]:
            result = asyncio.run(relay.run_once())
            if result.failed:
                raise CommandError(
                    f"published {result.published}; publishing failed, events stay pending: "
                    f"{mask_urls_in_text(result.error)[:300]}"
                )
            self.stdout.write(f"published {result.published}")
            return
        if options["metrics_port"]:
            from prometheus_client import start_http_server

            start_http_server(options["metrics_port"])
        asyncio.run(self._run_forever(relay))

    @staticmethod
    async def _run_forever(relay: OutboxRelay) -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        # The heartbeat file is what the worker's health check reads.
        await asyncio.gather(relay.run(stop), beat(stop))
