"""Live streams: start/stop, recording on demand, and the tenant's stream status."""

from __future__ import annotations

import uuid

from fastapi import Request

from streaming_service.api.deps import (
    OperatorDep,
    ServicesDep,
    ViewerDep,
    actor_of,
    tenant_scope,
)
from streaming_service.api.pagination import PageDep, PageOut, page_out
from streaming_service.api.routing import PrefixRouter
from streaming_service.api.schemas import StreamStartOut, StreamStatusOut
from streaming_service.domain.stream import StreamStatus

router = PrefixRouter(prefix="/api/streaming/streams", tags=["streams"])


def status_out(status: StreamStatus) -> StreamStatusOut:
    return StreamStatusOut(
        camera_id=status.camera_id, state=status.state.value, engine=status.engine,
        started_at=status.started_at, last_frame_at=status.last_frame_at,
        bitrate_kbps=status.bitrate_kbps, restarts=status.restarts,
        recording=status.recording,
        error=status.error.message if status.error else None,
        error_code=status.error.value if status.error else None,
    )


@router.get("/", response_model=PageOut[StreamStatusOut],
            summary="Status of the tenant's streams")
async def list_streams(claims: ViewerDep, services: ServicesDep, page: PageDep,
                       request: Request) -> PageOut[StreamStatusOut]:
    statuses = await services.streams.statuses(tenant_scope(claims))
    window = statuses[page.offset:page.offset + page.size]
    return page_out(request, page, len(statuses), [status_out(s) for s in window])


@router.post("/{camera_id}/start", response_model=StreamStartOut,
             summary="Start (or keep) a camera's live stream")
async def start_stream(
    camera_id: uuid.UUID, claims: OperatorDep, services: ServicesDep, request: Request
) -> StreamStartOut:
    started = await services.streams.start(camera_id, tenant_scope(claims),
                                           actor=actor_of(claims, request))
    assert started.urls is not None  # an actor always gets URLs
    return StreamStartOut(
        camera_id=camera_id, hls_url=started.urls.hls_url, webrtc_url=started.urls.webrtc_url,
        status=started.status.state.value, expires_in=services.signer.ttl_seconds,
    )


@router.post("/{camera_id}/stop", status_code=204, summary="Stop a camera's live stream")
async def stop_stream(camera_id: uuid.UUID, claims: OperatorDep, services: ServicesDep,
                      request: Request) -> None:
    await services.streams.stop(camera_id, tenant_scope(claims), actor=actor_of(claims, request))


@router.post("/{camera_id}/recording/start", response_model=StreamStatusOut)
async def start_recording(
    camera_id: uuid.UUID, claims: OperatorDep, services: ServicesDep, request: Request
) -> StreamStatusOut:
    return status_out(await services.streams.set_recording(
        camera_id, tenant_scope(claims), True, actor=actor_of(claims, request)))


@router.post("/{camera_id}/recording/stop", response_model=StreamStatusOut)
async def stop_recording(
    camera_id: uuid.UUID, claims: OperatorDep, services: ServicesDep, request: Request
) -> StreamStatusOut:
    return status_out(await services.streams.set_recording(
        camera_id, tenant_scope(claims), False, actor=actor_of(claims, request)))
