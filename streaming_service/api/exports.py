"""Exports of a recorded time range to one MP4, as background jobs (audited)."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

from fastapi import Request

from shared_kernel.auth import TokenClaims
from streaming_service.api.deps import (
    OperatorDep,
    ServicesDep,
    actor_of,
    client_ip,
    tenant_scope,
)
from streaming_service.api.routing import PrefixRouter
from streaming_service.api.schemas import ExportIn, ExportOut

if TYPE_CHECKING:
    from streaming_service.infrastructure.db.models import Export

router = PrefixRouter(prefix="/api/streaming/exports", tags=["exports"])


async def export_out(services: ServicesDep, export: Export, claims: TokenClaims,
                     request: Request) -> ExportOut:
    return ExportOut(
        id=export.id, camera_id=export.camera_id, start=export.range_start,
        end=export.range_end, status=export.status, error=export.error,
        size_bytes=export.size_bytes,
        download_url=await services.exports.download_url(export,
                                                         actor=actor_of(claims, request)),
        created_at=export.created_at, completed_at=export.completed_at,
    )


@router.post("", response_model=ExportOut, status_code=202,
             summary="Export a camera's recordings in a time range to one MP4",
             responses={429: {"description": "the tenant runs too many exports already"}})
async def request_export(
    body: ExportIn, claims: OperatorDep, services: ServicesDep, request: Request
) -> ExportOut:
    export = await services.exports.request(
        tenant_id=tenant_scope(claims), camera_id=body.camera_id, start=body.start,
        end=body.end, user_id=claims.user_id, ip=client_ip(request),
    )
    return await export_out(services, export, claims, request)


@router.get("/{export_id}", response_model=ExportOut,
            summary="An export job's status and, when done, its download URL (operators; "
                    "each URL issued is audited)")
async def get_export(export_id: uuid.UUID, claims: OperatorDep, services: ServicesDep,
                     request: Request) -> ExportOut:
    export = await services.exports.get(export_id, tenant_scope(claims))
    return await export_out(services, export, claims, request)
