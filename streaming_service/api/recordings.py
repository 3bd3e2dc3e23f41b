"""Recordings: list by camera and time range, and expiring playback URLs (audited)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Query, Request

from streaming_service.api.deps import ServicesDep, ViewerDep, client_ip, tenant_scope
from streaming_service.api.pagination import PageDep, PageOut, page_out
from streaming_service.api.routing import PrefixRouter
from streaming_service.api.schemas import PlaybackOut, RecordingGapOut, RecordingOut
from streaming_service.api.validation import Instant

router = PrefixRouter(prefix="/api/streaming/recordings", tags=["recordings"])


@router.get("/", response_model=PageOut[RecordingOut],
            summary="Recordings of a camera in a time range")
async def list_recordings(
    claims: ViewerDep,
    services: ServicesDep,
    camera_id: uuid.UUID,
    start: Annotated[Instant, Query(description="ISO 8601 with offset, e.g. ...Z")],
    end: Annotated[Instant, Query()],
    page: PageDep,
    request: Request,
) -> PageOut[RecordingOut]:
    result = await services.recordings.list(
        tenant_id=tenant_scope(claims), camera_id=camera_id, start=start, end=end,
        page=page.number, page_size=page.size,
    )
    return page_out(request, page, result.total,
                    [RecordingOut.model_validate(r) for r in result.items])


@router.get("/gaps", response_model=list[RecordingGapOut],
            summary="Holes in a camera's recording in a time range")
async def recording_gaps(
    claims: ViewerDep,
    services: ServicesDep,
    camera_id: uuid.UUID,
    start: Annotated[Instant, Query(description="ISO 8601 with offset, e.g. ...Z")],
    end: Annotated[Instant, Query()],
) -> list[RecordingGapOut]:
    """Each hole between consecutive segments of at least ``GTV_RECORDING_GAP_SECONDS``
    (a replica died, the camera was lost, recording was off): the same holes announced
    as ``RecordingGap`` events."""
    gaps = await services.recordings.gaps(tenant_id=tenant_scope(claims), camera_id=camera_id,
                                          start=start, end=end)
    return [RecordingGapOut(started_at=g.started_at, ended_at=g.ended_at, seconds=g.seconds)
            for g in gaps]


@router.get("/{recording_id}/playback", response_model=PlaybackOut,
            summary="An expiring URL to play a recording (audited)")
async def playback(
    recording_id: uuid.UUID, claims: ViewerDep, services: ServicesDep, request: Request
) -> PlaybackOut:
    result = await services.recordings.playback(
        recording_id, tenant_id=tenant_scope(claims), user_id=claims.user_id,
        ip=client_ip(request),
    )
    return PlaybackOut(recording_id=result.recording.id, url=result.url,
                       expires_at=result.expires_at)
