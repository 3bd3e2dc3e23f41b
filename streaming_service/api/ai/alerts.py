"""Alerts: the tenant's watchlist hits, and their acknowledgement by operators (audited
through ``AlertAcknowledged``)."""

from __future__ import annotations

import uuid
from collections.abc import Collection
from typing import TYPE_CHECKING

from fastapi import Request

from streaming_service.api.ai.schemas import AlertOut
from streaming_service.api.deps import (
    OperatorDep,
    ServicesDep,
    ViewerDep,
    actor_of,
    tenant_scope,
)
from streaming_service.api.pagination import PageDep, PageOut, page_out
from streaming_service.api.routing import PrefixRouter
from streaming_service.application.ai.event_clips import clip_path
from streaming_service.domain.ai.watchlist import AlertStatus

if TYPE_CHECKING:
    from streaming_service.bootstrap import Services
    from streaming_service.infrastructure.db.models.ai import Alert

router = PrefixRouter(prefix="/api/ai/alerts", tags=["alerts"])


def _out(alerts: list[Alert], clipped: Collection[uuid.UUID]) -> list[AlertOut]:
    return [AlertOut.model_validate(a).model_copy(update={
        "clip_url": clip_path(a.detection_id) if a.detection_id in clipped else None})
        for a in alerts]


async def _one_out(services: Services, tenant_id: uuid.UUID, alert: Alert) -> AlertOut:
    return _out([alert], await services.alerts.clipped(tenant_id, {alert.detection_id}))[0]


@router.get("/", response_model=PageOut[AlertOut], summary="The tenant's alerts, newest first")
async def list_all(
    claims: ViewerDep,
    services: ServicesDep,
    page: PageDep,
    status: AlertStatus | None = None,
    camera_id: uuid.UUID | None = None,
    *,
    request: Request,
) -> PageOut[AlertOut]:
    tenant_id = tenant_scope(claims)
    result = await services.alerts.list(tenant_id, status=status, camera_id=camera_id,
                                        offset=page.offset, limit=page.size)
    return page_out(request, page, result.total, _out(result.items, result.clipped))


@router.get("/{alert_id}", response_model=AlertOut)
async def get_one(alert_id: uuid.UUID, claims: ViewerDep, services: ServicesDep) -> AlertOut:
    tenant_id = tenant_scope(claims)
    return await _one_out(services, tenant_id, await services.alerts.get(alert_id, tenant_id))


@router.post("/{alert_id}/ack", response_model=AlertOut,
             summary="Acknowledge an alert (idempotent; audited)")
async def acknowledge(alert_id: uuid.UUID, claims: OperatorDep,
                      services: ServicesDep, request: Request) -> AlertOut:
    tenant_id = tenant_scope(claims)
    actor = actor_of(claims, request)
    result = await services.alerts.acknowledge(alert_id, tenant_id, claims.user_id,
                                               ip=actor.ip, user_agent=actor.user_agent)
    return await _one_out(services, tenant_id, result.alert)
