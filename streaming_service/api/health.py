"""Liveness, readiness (PostgreSQL, Redis, RabbitMQ) and Prometheus metrics."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable
from typing import Any

from fastapi.responses import JSONResponse, Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    generate_latest,
)
from sqlalchemy import text

from streaming_service.api.deps import ServicesDep
from streaming_service.api.routing import PrefixRouter

router = PrefixRouter(tags=["health"])

CHECK_TIMEOUT_SECONDS = 2.0


@router.get("/health", summary="The process is alive")
async def health() -> dict[str, str]:
    return {"status": "ok"}


async def _check(probe: Awaitable[Any]) -> str:
    try:
        await asyncio.wait_for(probe, CHECK_TIMEOUT_SECONDS)
    except Exception as exc:
        return f"error: {type(exc).__name__}"
    return "ok"


async def _db(services: ServicesDep) -> None:
    async with services.db.connect() as conn:
        await conn.execute(text("SELECT 1"))


async def _amqp(services: ServicesDep) -> None:
    if not await services.broker.ping():
        raise ConnectionError("broker connection closed")


@router.get("/ready", summary="Dependencies reachable (database, Redis, RabbitMQ)")
async def ready(services: ServicesDep) -> JSONResponse:
    database, redis, rabbitmq = await asyncio.gather(
        _check(_db(services)), _check(services.redis.ping()), _check(_amqp(services)))
    checks = {"database": database, "redis": redis, "rabbitmq": rabbitmq}
    ok = all(v == "ok" for v in checks.values())
    return JSONResponse({"status": "ok" if ok else "unavailable", "checks": checks},
                        status_code=200 if ok else 503)


@router.get("/metrics", summary="Prometheus metrics", include_in_schema=False)
async def metrics(services: ServicesDep) -> Response:
    """This process's registry; under several workers (``streaming_service.serve``) the
    values every worker wrote to ``PROMETHEUS_MULTIPROC_DIR``, added up."""
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR", "").strip()
    if not directory:
        return Response(generate_latest(services.metrics.registry),
                        media_type=CONTENT_TYPE_LATEST)
    return Response(generate_latest(services.metrics.workers_registry(directory)),
                    media_type=CONTENT_TYPE_LATEST)
