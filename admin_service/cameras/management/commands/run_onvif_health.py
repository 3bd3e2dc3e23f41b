"""``manage.py run_onvif_health``: ask every ONVIF camera's device for its health every
``GTV_ONVIF_HEALTH_INTERVAL_SECONDS`` and store it on the camera (cameras/health.py).

Liveness: while it runs, a thread touches ``GTV_HEARTBEAT_FILE`` (when set) every
``HEARTBEAT_SECONDS``, as every worker does (the container health checks read it)."""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import threading
from pathlib import Path
from types import FrameType
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser
from django.db import close_old_connections

from cameras.health import check_all

logger = logging.getLogger(__name__)
HEARTBEAT_SECONDS = 15.0


def _beat(stop: threading.Event) -> None:
    target = os.environ.get("GTV_HEARTBEAT_FILE")
    if not target:
        return
    while not stop.is_set():
        with contextlib.suppress(OSError):
            Path(target).touch()
        stop.wait(HEARTBEAT_SECONDS)


class Command(BaseCommand):
    help = "Check the ONVIF health (reachable, authorized, clock drift) of every ONVIF camera."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--once", action="store_true", help="One round, then exit.")
        parser.add_argument("--interval", type=float, default=None,
                            help="Seconds between rounds (default "
                                 "GTV_ONVIF_HEALTH_INTERVAL_SECONDS).")
        parser.add_argument("--concurrency", type=int, default=16,
                            help="Devices asked at the same time.")

    def handle(self, *args: Any, **options: Any) -> None:
        concurrency = max(1, options["concurrency"])
        if options["once"]:
            self.stdout.write(f"checked {check_all(concurrency=concurrency)}")
            return
        interval = options["interval"] or settings.ONVIF_HEALTH_INTERVAL_SECONDS
        stop = threading.Event()

        def _stop(_signum: int, _frame: FrameType | None) -> None:
            stop.set()

        signal.signal(signal.SIGTERM, _stop)
        signal.signal(signal.SIGINT, _stop)
        threading.Thread(target=_beat, args=(stop,), name="heartbeat", daemon=True).start()
        while not stop.is_set():
            try:
                check_all(concurrency=concurrency)
            except Exception:  # a database hiccup: the next round tries again
                logger.exception("onvif health round failed")
            finally:
                close_old_connections()
            stop.wait(interval)
