"""The AI context's HTTP surface: watchlists, detections, alerts, plate recognition of an
uploaded image, and the live feed (``WS /ws/alerts``). Its use cases live in the service
container (``bootstrap.Services``) beside the streaming ones: they share the database,
Redis, the outbox and the object store."""

from __future__ import annotations

from fastapi import APIRouter

from streaming_service.api.ai import (
    alerts,
    data_subject,
    detections,
    lpr,
    lpr_settings,
    reports,
    watchlists,
    ws,
)

ROUTERS: tuple[APIRouter, ...] = (
    watchlists.router,
    detections.router,
    alerts.router,
    lpr_settings.router,
    lpr.router,
    reports.router,
    ws.router,
    data_subject.router,
)
