"""Streaming reports (operator and above): availability, recorded hours and storage per
camera against its retention. ``GET /api/streaming/reports/availability``."""

from __future__ import annotations

import uuid
from datetime import datetime

from fastapi import Response
from pydantic import BaseModel

from streaming_service.api.deps import OperatorDep, ServicesDep, tenant_scope
from streaming_service.api.report_params import (
    PDF_RESPONSE,
    ExportFormat,
    ExportLanguage,
    RangeDep,
    pdf_response,
)
from streaming_service.api.routing import PrefixRouter
from streaming_service.application.report_documents import availability_document

router = PrefixRouter(prefix="/api/streaming/reports", tags=["reports"])


class CameraAvailabilityOut(BaseModel):
    camera_id: uuid.UUID
    name: str
    recording_mode: str
    status: str
    uptime_pct: float | None
    outages: int | None
    recording_hours: float
    storage_bytes: int
    retention_days: int
    oldest_recording_at: datetime | None


class AvailabilityOut(BaseModel):
    timezone: str
    start: datetime
    end: datetime
    storage_bytes_total: int
    recording_hours_total: float
    cameras: list[CameraAvailabilityOut]


@router.get("/availability", response_model=AvailabilityOut, responses=PDF_RESPONSE,
            summary="Per camera: uptime % and outages (continuous recording), recorded "
                    "hours, storage used and retention")
async def availability(claims: OperatorDep, services: ServicesDep, period: RangeDep,
                       export: ExportFormat = "json",
                       lang: ExportLanguage = "en") -> AvailabilityOut | Response:
    report = await services.reports.availability(tenant_scope(claims), period)
    if export == "pdf":
        return pdf_response(services.report_renderer,
                            availability_document(report, period, lang), "availability",
                            period)
    return AvailabilityOut(
        timezone=report.timezone, start=period.start, end=period.end,
        storage_bytes_total=report.storage_bytes_total,
        recording_hours_total=report.recording_hours_total,
        cameras=[CameraAvailabilityOut(**c) for c in report.cameras])
