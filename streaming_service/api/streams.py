"""Live streams: start/stop, recording on demand, and the tenant's stream status."""

from __future__ import annotations

import uuid

from fastapi import APIRouter

from streaming_service.api.deps import OperatorDep, ServicesDep, ViewerDep, tenant_scope
from streaming_service.api.schemas import StreamListOut, StreamStartOut, StreamStatusOut
from streaming_service.domain.stream import StreamStatus

router = APIRouter(prefix="/api/streaming/streams", tags=["streams"])


def status_out(status: StreamStatus) -> StreamStatusOut:
    return StreamStatusOut(
        camera_id=status.camera_id, state=status.state.value, engine=status.engine,
        started_at=status.started_at, last_frame_at=status.last_frame_at,
        bitrate_kbps=status.bitrate_kbps, restarts=status.restarts,
        recording=status.recording,
        error=status.error.message if status.error else None,
        error_code=status.error.value if status.error else None,
    )


@router.get("/", response_model=StreamListOut, summary="Status of the tenant's streams")
async def list_streams(claims: ViewerDep, services: ServicesDep) -> StreamListOut:
    tenant = tenant_scope(claims)
    items = [] if tenant is None else await services.streams.statuses(tenant)
    return StreamListOut(items=[status_out(s) for s in items], count=len(items))


@router.post("/{camera_id}/start", response_model=StreamStartOut,
             summary="Start (or keep) a camera's live stream")
async def start_stream(
    camera_id: uuid.UUID, claims: OperatorDep, services: ServicesDep
) -> StreamStartOut:
    started = await services.streams.start(camera_id, tenant_scope(claims))
    return StreamStartOut(
        camera_id=camera_id, hls_url=started.urls.hls_url, webrtc_url=started.urls.webrtc_url,
        status=started.status.state.value, expires_in=services.signer.ttl_seconds,
    )


@router.post("/{camera_id}/stop", status_code=204, summary="Stop a camera's live stream")
async def stop_stream(camera_id: uuid.UUID, claims: OperatorDep, services: ServicesDep) -> None:
    await services.streams.stop(camera_id, tenant_scope(claims))


@router.post("/{camera_id}/recording/start", response_model=StreamStatusOut)
async def start_recording(
    camera_id: uuid.UUID, claims: OperatorDep, services: ServicesDep
) -> StreamStatusOut:
    return status_out(await services.streams.set_recording(camera_id, tenant_scope(claims), True))


@router.post("/{camera_id}/recording/stop", response_model=StreamStatusOut)
async def stop_recording(
    camera_id: uuid.UUID, claims: OperatorDep, services: ServicesDep
) -> StreamStatusOut:
    return status_out(
        await services.streams.set_recording(camera_id, tenant_scope(claims), False))
