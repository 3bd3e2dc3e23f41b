"""Detections: search by plate (exact ``ABC1D23``, prefix ``ABC*``, similar ``~ABC1D23``),
camera and time range; one detection; its plate crop."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Annotated

from fastapi import Query, Request, Response

from streaming_service.api.ai.schemas import ClipOut, DetectionOut
from streaming_service.api.deps import ServicesDep, ViewerDep, actor_of, tenant_scope
from streaming_service.api.errors import ApiError
from streaming_service.api.pagination import PageDep, PageOut, page_out
from streaming_service.api.routing import PrefixRouter
from streaming_service.api.validation import Instant
from streaming_service.application.ai.detections import crop_path
from streaming_service.application.ai.event_clips import clip_path, has_clip
from streaming_service.domain.ai.watchlist import InvalidPlateQuery, PlateQuery

if TYPE_CHECKING:
    from streaming_service.infrastructure.db.models.ai import Detection

router = PrefixRouter(prefix="/api/ai/detections", tags=["detections"])


def _out(detection: Detection, score: float | None = None) -> DetectionOut:
    return DetectionOut(
        id=detection.id, camera_id=detection.camera_id, plate=detection.plate,
        plate_style=detection.plate_style, confidence=detection.confidence,
        detected_at=detection.detected_at, bbox=detection.bbox,
        crop_url=crop_path(detection.id) if detection.crop_key else None,
        clip_url=clip_path(detection.id) if has_clip(detection.details) else None,
        score=score,
    )


@router.get("/", response_model=PageOut[DetectionOut], summary="Search the tenant's detections")
async def list_detections(
    claims: ViewerDep,
    page: PageDep,
    plate: Annotated[str | None, Query(
        max_length=32, description="ABC1D23 (either layout), ABC* (prefix) or ~ABC1D23 "
                                   "(similar, best first)")] = None,
    camera_id: uuid.UUID | None = None,
    start: Instant | None = None,
    end: Instant | None = None,
    *,
    request: Request,
    services: ServicesDep,
) -> PageOut[DetectionOut]:
    """Every search is audited before results leave: a plate is personal data (LGPD)."""
    tenant_id = tenant_scope(claims)
    try:
        query = PlateQuery.parse(plate) if plate else None
    except InvalidPlateQuery as exc:
        raise ApiError(400, exc.code, exc.message, exc.details) from exc
    # The search runs in the transaction that audits it: nothing leaves unaudited.
    result = await services.audit.audited_read(
        actor_of(claims, request), "detection.search",
        lambda session: services.detections.search(
            session, tenant_id, plate=query, camera_id=camera_id, start=start, end=end,
            offset=page.offset, limit=page.size),
        object_type="detection", object_id=None, tenant_id=tenant_id,
        after={"plate": plate, "camera_id": str(camera_id) if camera_id else None,
               "start": start.isoformat() if start else None,
               "end": end.isoformat() if end else None, "page": page.number,
               "page_size": page.size})
    return page_out(request, page, result.total, [_out(d, s) for d, s in result.items])


@router.get("/{detection_id}", response_model=DetectionOut)
async def get_one(detection_id: uuid.UUID, claims: ViewerDep, services: ServicesDep,
                  request: Request) -> DetectionOut:
    detection = await services.detections.get(detection_id, tenant_scope(claims))
    await services.audit.record_view(actor_of(claims, request), "detection.view",
                                     object_type="detection", object_id=detection.id,
                                     tenant_id=detection.tenant_id)
    return _out(detection)


@router.get("/{detection_id}/crop", response_class=Response,
            responses={200: {"content": {"image/jpeg": {}}}}, summary="The plate crop")
async def get_crop(detection_id: uuid.UUID, claims: ViewerDep, services: ServicesDep,
                   request: Request) -> Response:
    detection = await services.detections.get(detection_id, tenant_scope(claims))
    if not detection.crop_key:
        raise ApiError(404, "crop_not_found", "this detection has no crop")
    await services.audit.record_view(actor_of(claims, request), "detection.view",
                                     object_type="detection", object_id=detection.id,
                                     tenant_id=detection.tenant_id)
    data = await services.detections.crop(detection)
    return Response(content=data, media_type="image/jpeg",
                    headers={"Cache-Control": "private, max-age=3600"})


@router.get("/{detection_id}/clip", response_model=ClipOut,
            summary="An expiring URL of the detection's event clip (audited)")
async def get_clip(detection_id: uuid.UUID, claims: ViewerDep, services: ServicesDep,
                   request: Request) -> ClipOut:
    detection = await services.detections.get(detection_id, tenant_scope(claims))
    url, expires_at = await services.clips.url(detection, actor=actor_of(claims, request))
    return ClipOut(url=url, expires_at=expires_at)
