"""LGPD: the tenant's retention of plate reads, and data-subject requests about a plate.

- ``GET/PUT /api/ai/data-policy``: how long the tenant keeps plate reads and crops
  (tenant admin; the change is audited).
- ``POST /api/ai/data-subject/exports``: every read of one plate in a period, for a legal
  request (operator, with a reason; audited before the data leaves).
- ``POST /api/ai/data-subject/erasures``: erase them (tenant admin, with a reason and the
  legal basis; audited with counts). Reads an alert points at are kept and reported.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from fastapi import Request
from pydantic import BaseModel, Field

from streaming_service.api.deps import (
    OperatorDep,
    ServicesDep,
    TenantAdminDep,
    actor_of,
    tenant_scope,
)
from streaming_service.api.errors import ApiError
from streaming_service.api.routing import PrefixRouter
from streaming_service.api.validation import Instant, OneLine, RequestModel
from streaming_service.application.ai.data_lifecycle import MAX_RETENTION_DAYS, MIN_RETENTION_DAYS
from streaming_service.domain.ai.watchlist import InvalidPlateQuery, PlateQuery, PlateQueryKind

router = PrefixRouter(prefix="/api/ai", tags=["data lifecycle (LGPD)"])


class DataPolicyIn(RequestModel):
    detection_retention_days: Annotated[
        int | None, Field(ge=MIN_RETENTION_DAYS, le=MAX_RETENTION_DAYS,
                          description="Days plate reads and crops are kept; null: the default")]


class DataPolicyOut(BaseModel):
    detection_retention_days: int
    custom: bool = Field(description="False: the service's default (GTV_LPR_RETENTION_DAYS)")
    default_days: int


class SubjectRequestIn(RequestModel):
    plate: str = Field(min_length=7, max_length=8, description="ABC1234 or ABC1D23")
    start: Instant
    end: Instant
    reason: OneLine = Field(min_length=10, max_length=500,
                            description="The legal request (case or protocol number)")


class ErasureIn(SubjectRequestIn):
    legal_basis: OneLine = Field(min_length=3, max_length=200,
                                 description="e.g. 'LGPD art. 18, VI' or a court order")


class PlateReadOut(BaseModel):
    id: uuid.UUID
    camera_id: uuid.UUID
    plate: str
    plate_style: str
    confidence: float
    detected_at: datetime
    bbox: list[float] | None
    crop_url: str | None
    alerted: bool = Field(description="An alert points at this read (kept as evidence)")


class SubjectExportOut(BaseModel):
    plate: str
    start: datetime
    end: datetime
    reason: str
    count: int
    reads: list[PlateReadOut]


class ErasureOut(BaseModel):
    plate: str
    erased: int
    crops_deleted: int
    kept_for_alerts: int
    failed: int = Field(description="Crops that could not be deleted; retry the request")


def _exact_plate(raw: str) -> PlateQuery:
    try:
        query = PlateQuery.parse(raw)
    except InvalidPlateQuery as exc:
        raise ApiError(400, exc.code, exc.message, exc.details) from exc
    if query.kind is not PlateQueryKind.EXACT:
        raise ApiError(400, "invalid_plate", "a data-subject request names one exact plate",
                       {"plate": raw})
    return query


@router.get("/data-policy", response_model=DataPolicyOut,
            summary="The tenant's retention of plate reads")
async def get_policy(claims: TenantAdminDep, services: ServicesDep) -> DataPolicyOut:
    lifecycle = services.data_lifecycle
    days, custom = await lifecycle.retention_days(tenant_scope(claims))
    return DataPolicyOut(detection_retention_days=days, custom=custom,
                         default_days=lifecycle.default_retention_days)


@router.put("/data-policy", response_model=DataPolicyOut,
            summary="Set the tenant's retention of plate reads (audited)")
async def put_policy(body: DataPolicyIn, claims: TenantAdminDep, services: ServicesDep,
                     request: Request) -> DataPolicyOut:
    lifecycle = services.data_lifecycle
    days, custom = await lifecycle.set_retention_days(
        actor_of(claims, request), tenant_scope(claims), body.detection_retention_days)
    return DataPolicyOut(detection_retention_days=days, custom=custom,
                         default_days=lifecycle.default_retention_days)


@router.post("/data-subject/exports", response_model=SubjectExportOut,
             summary="Every read of one plate in a period, for a legal request (audited)")
async def export_plate(body: SubjectRequestIn, claims: OperatorDep, services: ServicesDep,
                       request: Request) -> SubjectExportOut:
    query = _exact_plate(body.plate)
    reads = await services.data_lifecycle.export_plate(
        actor_of(claims, request), tenant_scope(claims), forms=query.forms, plate=query.text,
        start=body.start, end=body.end, reason=body.reason)
    return SubjectExportOut(
        plate=query.text, start=body.start, end=body.end, reason=body.reason,
        count=len(reads), reads=[PlateReadOut(**vars(read)) for read in reads])


@router.post("/data-subject/erasures", response_model=ErasureOut,
             summary="Erase one plate's reads in a period (audited; alert evidence is kept)")
async def erase_plate(body: ErasureIn, claims: TenantAdminDep, services: ServicesDep,
                      request: Request) -> ErasureOut:
    query = _exact_plate(body.plate)
    erasure = await services.data_lifecycle.erase_plate(
        actor_of(claims, request), tenant_scope(claims), forms=query.forms, plate=query.text,
        start=body.start, end=body.end, reason=body.reason, legal_basis=body.legal_basis)
    return ErasureOut(plate=query.text, erased=erasure.erased, crops_deleted=erasure.crops,
                      kept_for_alerts=erasure.kept_for_alerts, failed=erasure.failed)
