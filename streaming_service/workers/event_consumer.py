"""``python -m streaming_service.workers.event_consumer``: keeps the camera and tenant
projections current from ``domain.events`` until SIGTERM/SIGINT."""

from __future__ import annotations

import asyncio
import logging

from streaming_service.application.camera_projection import CameraProjection
from streaming_service.bootstrap import bootstrap
from streaming_service.infrastructure.consumers import start_projection_consumer
from streaming_service.settings import StreamingSettings
from streaming_service.workers.process import run_worker

log = logging.getLogger(__name__)


async def run(settings: StreamingSettings, stop: asyncio.Event) -> None:
    services = bootstrap(settings)
    projection = CameraProjection(services.sessions)
    consumer = await start_projection_consumer(settings.amqp_url, projection)
    try:
        await stop.wait()
    finally:
        await consumer.close()
        await services.close()
        log.info("camera projection consumer stopped", extra=consumer.consumer.stats.__dict__)


def main() -> None:
    settings = StreamingSettings()
    run_worker(lambda stop: run(settings, stop),
               service="streaming_service.event_consumer", log_level=settings.log_level)


if __name__ == "__main__":
    main()
