"""Plate and alert reports (operator and above), in the tenant's time zone:
``/api/ai/reports/traffic``, ``/alerts`` and ``/plate-history`` (audited)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from fastapi import Query, Request, Response
from pydantic import BaseModel

from shared_kernel.plates import PlateNumber
from streaming_service.api.deps import OperatorDep, ServicesDep, actor_of, tenant_scope
from streaming_service.api.errors import ApiError
from streaming_service.api.pagination import PageDep, PageOut, check_page, page_out
from streaming_service.api.report_params import (
    PDF_RESPONSE,
    ExportFormat,
    ExportLanguage,
    RangeDep,
    pdf_response,
)
from streaming_service.api.routing import PrefixRouter
from streaming_service.application.report_documents import (
    alerts_document,
    plates_document,
    traffic_document,
)

router = PrefixRouter(prefix="/api/ai/reports", tags=["reports"])


class SeriesPoint(BaseModel):
    bucket_start: str
    camera_id: uuid.UUID
    reads: int


class HeatCell(BaseModel):
    weekday: int
    hour: int
    reads: int


class CameraReads(BaseModel):
    camera_id: uuid.UUID
    camera_name: str | None
    reads: int


class TrafficOut(BaseModel):
    timezone: str
    bucket: Literal["hour", "day", "week"]
    start: datetime
    end: datetime
    total_reads: int
    series: list[SeriesPoint]
    heatmap: list[HeatCell]
    busiest: list[CameraReads]


@router.get("/traffic", response_model=TrafficOut, responses=PDF_RESPONSE,
            summary="Plate reads per camera per hour/day/week, heat map (weekday 0 = Sunday "
                    "by hour, local time), busiest cameras")
async def traffic(claims: OperatorDep, services: ServicesDep, period: RangeDep,
                  export: ExportFormat = "json", lang: ExportLanguage = "en",
                  bucket: Literal["hour", "day", "week"] = "day",
                  camera_id: uuid.UUID | None = None) -> TrafficOut | Response:
    r = await services.reports.traffic(tenant_scope(claims), period, bucket=bucket,
                                       camera_id=camera_id)
    if export == "pdf":
        return pdf_response(services.report_renderer, traffic_document(r, period, lang),
                            "traffic", period)
    return TrafficOut(
        timezone=r.timezone, bucket=r.bucket, start=period.start, end=period.end,
        total_reads=r.total_reads,
        series=[SeriesPoint(**p) for p in r.series], heatmap=[HeatCell(**c) for c in r.heatmap],
        busiest=[CameraReads(**c) for c in r.busiest])


class PlatesOut(BaseModel):
    timezone: str
    start: datetime
    end: datetime
    total_reads: int
    distinct_plates: int
    single_read_plates: int
    recurring_plates: int


@router.get("/plates", response_model=PlatesOut, responses=PDF_RESPONSE,
            summary="Unique vs recurring plates: distinct plates, those read once and those "
                    "read more than once")
async def plates(claims: OperatorDep, services: ServicesDep, period: RangeDep,
                 export: ExportFormat = "json", lang: ExportLanguage = "en",
                 camera_id: uuid.UUID | None = None) -> PlatesOut | Response:
    r = await services.reports.plates(tenant_scope(claims), period, camera_id=camera_id)
    if export == "pdf":
        return pdf_response(services.report_renderer, plates_document(r, period, lang),
                            "plates", period)
    return PlatesOut(timezone=r.timezone, start=period.start, end=period.end,
                     total_reads=r.total_reads, distinct_plates=r.distinct_plates,
                     single_read_plates=r.single_read_plates,
                     recurring_plates=r.recurring_plates)


class SeverityCount(BaseModel):
    severity: str
    count: int


class WatchlistCount(BaseModel):
    watchlist_id: uuid.UUID | None
    watchlist_name: str | None
    count: int


class AlertsReportOut(BaseModel):
    timezone: str
    start: datetime
    end: datetime
    total: int
    acknowledged: int
    ack_median_seconds: float | None
    ack_p90_seconds: float | None
    unacknowledged_now: int
    by_severity: list[SeverityCount]
    by_watchlist: list[WatchlistCount]


@router.get("/alerts", response_model=AlertsReportOut, responses=PDF_RESPONSE,
            summary="Alerts by severity and watchlist, time to acknowledge (median, p90), "
                    "unacknowledged now")
async def alerts(claims: OperatorDep, services: ServicesDep, period: RangeDep,
                 export: ExportFormat = "json",
                 lang: ExportLanguage = "en") -> AlertsReportOut | Response:
    r = await services.reports.alerts(tenant_scope(claims), period)
    if export == "pdf":
        return pdf_response(services.report_renderer, alerts_document(r, period, lang),
                            "alerts", period)
    return AlertsReportOut(
        timezone=r.timezone, start=period.start, end=period.end, total=r.total,
        acknowledged=r.acknowledged, ack_median_seconds=r.ack_median_seconds,
        ack_p90_seconds=r.ack_p90_seconds, unacknowledged_now=r.unacknowledged_now,
        by_severity=[SeverityCount(**s) for s in r.by_severity],
        by_watchlist=[WatchlistCount(**w) for w in r.by_watchlist])


class PlateReadOut(BaseModel):
    detection_id: uuid.UUID
    camera_id: uuid.UUID
    camera_name: str | None
    latitude: float | None
    longitude: float | None
    detected_at: datetime
    confidence: float


@router.get("/plate-history", response_model=PageOut[PlateReadOut],
            summary="Every read of one plate across the tenant's cameras, newest first "
                    "(audited: it tracks a person's car)")
async def plate_history(
    claims: OperatorDep, services: ServicesDep, period: RangeDep, page: PageDep,
    plate: Annotated[str, Query(min_length=1, max_length=16,
                                description="ABC1234 or ABC1D23 (separators allowed)")],
    *,
    request: Request,
) -> PageOut[PlateReadOut]:
    try:
        normalised = PlateNumber.parse(plate).value
    except ValueError as exc:
        raise ApiError(400, "invalid_plate", "not a Brazilian plate (ABC1234 or ABC1D23)",
                       {"plate": plate[:16]}) from exc
    result = await services.reports.plate_history(
        tenant_scope(claims), normalised, period, offset=page.offset, limit=page.size,
        actor=actor_of(claims, request))
    check_page(page, result.total)
    return page_out(request, page, result.total, [PlateReadOut(**r) for r in result.items])
