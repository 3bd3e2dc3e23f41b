"""Snapshots on demand, and the newest periodic thumbnail of a camera."""

from __future__ import annotations

import uuid

from fastapi import Request

from streaming_service.api.deps import OperatorDep, ServicesDep, ViewerDep, actor_of, tenant_scope
from streaming_service.api.routing import PrefixRouter
from streaming_service.api.schemas import SnapshotOut

router = PrefixRouter(prefix="/api/streaming/cameras", tags=["snapshots"])


@router.post("/{camera_id}/snapshot", response_model=SnapshotOut, status_code=201,
             summary="Take a snapshot of a camera now")
async def take_snapshot(
    camera_id: uuid.UUID, claims: OperatorDep, services: ServicesDep, request: Request
) -> SnapshotOut:
    taken = await services.snapshots.take(
        camera_id=camera_id, tenant_id=tenant_scope(claims), actor=actor_of(claims, request))
    s = taken.snapshot
    return SnapshotOut(id=s.id, camera_id=s.camera_id, taken_at=s.taken_at,
                       content_type=s.content_type, size_bytes=s.size_bytes, width=s.width,
                       height=s.height, url=taken.url)


@router.get("/{camera_id}/thumbnail", response_model=SnapshotOut,
            summary="The camera's newest periodic thumbnail (404 when it has none)")
async def latest_thumbnail(
    camera_id: uuid.UUID, claims: ViewerDep, services: ServicesDep, request: Request
) -> SnapshotOut:
    thumbnail = await services.thumbnails.latest(camera_id, tenant_scope(claims),
                                                 actor=actor_of(claims, request))
    s = thumbnail.snapshot
    return SnapshotOut(id=s.id, camera_id=s.camera_id, taken_at=s.taken_at,
                       content_type=s.content_type, size_bytes=s.size_bytes, width=s.width,
                       height=s.height, url=thumbnail.url)
