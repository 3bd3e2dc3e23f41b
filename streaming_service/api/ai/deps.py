"""Dependencies of the AI routers: the AI context's services (built by ``create_app``
beside the streaming ones) and the caller's tenant, which every AI query is scoped to."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from shared_kernel.auth import TokenClaims
from streaming_service.api.deps import tenant_scope
from streaming_service.application.ai.detections import DetectionRecorder
from streaming_service.domain.ai.ports import LiveFeed, PlateRecogniser
from streaming_service.settings import StreamingSettings


@dataclass
class AiServices:
    settings: StreamingSettings
    live: LiveFeed
    recorder: DetectionRecorder
    recogniser: PlateRecogniser | None
    """None until a model is configured: the recognise endpoint then answers 503."""


def get_ai_services(request: Request) -> AiServices:
    services: AiServices = request.app.state.ai
    return services


AiServicesDep = Annotated[AiServices, Depends(get_ai_services)]


def require_tenant(claims: TokenClaims) -> uuid.UUID:
    """AI data always belongs to one tenant: the token's, or a superadmin's explicit,
    audited choice (``deps.scoped_claims``)."""
    return tenant_scope(claims)

