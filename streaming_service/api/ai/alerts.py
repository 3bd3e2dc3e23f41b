"""Alerts: the tenant's watchlist hits, and their acknowledgement by operators (audited
through ``AlertAcknowledged``)."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request

from streaming_service.api.ai.schemas import AlertOut
from streaming_service.api.deps import OperatorDep, ServicesDep, ViewerDep, tenant_scope
from streaming_service.api.pagination import PageDep, PageOut, page_out
from streaming_service.domain.ai.watchlist import AlertStatus

router = APIRouter(prefix="/api/ai/alerts", tags=["alerts"])


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
    result = await services.alerts.list(tenant_scope(claims), status=status,
                                        camera_id=camera_id, offset=page.offset,
                                        limit=page.size)
    return page_out(request, page, result.total,
                    [AlertOut.model_validate(a) for a in result.items])


@router.get("/{alert_id}", response_model=AlertOut)
async def get_one(alert_id: uuid.UUID, claims: ViewerDep, services: ServicesDep) -> AlertOut:
    return AlertOut.model_validate(await services.alerts.get(alert_id, tenant_scope(claims)))


@router.post("/{alert_id}/ack", response_model=AlertOut,
             summary="Acknowledge an alert (idempotent; audited)")
async def acknowledge(alert_id: uuid.UUID, claims: OperatorDep,
                      services: ServicesDep) -> AlertOut:
    result = await services.alerts.acknowledge(alert_id, tenant_scope(claims), claims.user_id)
    return AlertOut.model_validate(result.alert)
