"""Wiring of the AI context into the app: its services on ``app.state.ai`` and its
routers. Called by ``create_app`` (the composition root) after the streaming services
exist, since the AI context shares their database, Redis, outbox and object store."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI

from streaming_service.api.ai import alerts, detections, lpr, watchlists, ws
from streaming_service.api.ai.deps import AiServices
from streaming_service.api.deps import Services
from streaming_service.application.ai.detections import DetectionRecorder
from streaming_service.domain.ai.ports import PlateRecogniser
from streaming_service.infrastructure.live_feed import RedisLiveFeed
from streaming_service.settings import StreamingSettings

AI_ROUTERS: tuple[APIRouter, ...] = (
    watchlists.router,
    detections.router,
    alerts.router,
    lpr.router,
    ws.router,
)


def build_ai_services(
    services: Services,
    settings: StreamingSettings,
    *,
    recogniser: PlateRecogniser | None = None,
) -> AiServices:
    live = RedisLiveFeed(services.redis, prefix=settings.redis_prefix,
                         maxlen=settings.live_maxlen)
    recorder = DetectionRecorder(sessions=services.sessions, store=services.store,
                                 outbox=services.outbox)
    if recogniser is None:
        from streaming_service.infrastructure.recogniser import default_recogniser

        recogniser = default_recogniser()  # models load on the first upload
    return AiServices(settings=settings, live=live, recorder=recorder, recogniser=recogniser)


def install_ai(app: FastAPI, ai: AiServices) -> None:
    app.state.ai = ai
    for router in AI_ROUTERS:
        app.include_router(router)
