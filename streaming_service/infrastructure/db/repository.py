"""Tenant-scoped queries. Every read of a tenant-owned row goes through here, so a
camera, recording or export of another tenant is indistinguishable from a missing one."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from streaming_service.domain.errors import (
    CameraNotFound,
    CameraUnavailable,
    ExportNotFound,
    RecordingNotFound,
)
from streaming_service.infrastructure.db.models import Camera, Export, Recording

# Camera statuses (set by the admin service) in which no stream may be started.
UNAVAILABLE_STATUSES = frozenset({"inactive", "disabled", "decommissioned"})


async def get_camera(
    session: AsyncSession,
    camera_id: uuid.UUID,
    tenant_id: uuid.UUID | None,
    *,
    include_decommissioned: bool = False,
) -> Camera:
    """``tenant_id`` None means unscoped (superadmin, internal jobs)."""
    query = select(Camera).where(Camera.id == camera_id)
    if tenant_id is not None:
        query = query.where(Camera.tenant_id == tenant_id)
    camera = (await session.execute(query)).scalar_one_or_none()
    if camera is None or (camera.is_decommissioned and not include_decommissioned):
        raise CameraNotFound("camera not found", {"camera_id": str(camera_id)})
    return camera


async def get_streamable_camera(
    session: AsyncSession, camera_id: uuid.UUID, tenant_id: uuid.UUID | None
) -> Camera:
    camera = await get_camera(session, camera_id, tenant_id)
    if camera.status in UNAVAILABLE_STATUSES:
        raise CameraUnavailable(
            f"camera is {camera.status}", {"camera_id": str(camera_id), "status": camera.status}
        )
    return camera


async def get_recording(
    session: AsyncSession, recording_id: uuid.UUID, tenant_id: uuid.UUID | None
) -> Recording:
    query = select(Recording).where(Recording.id == recording_id)
    if tenant_id is not None:
        query = query.where(Recording.tenant_id == tenant_id)
    recording = (await session.execute(query)).scalars().first()
    if recording is None:
        raise RecordingNotFound("recording not found", {"recording_id": str(recording_id)})
    return recording


async def get_export(
    session: AsyncSession, export_id: uuid.UUID, tenant_id: uuid.UUID | None
) -> Export:
    query = select(Export).where(Export.id == export_id)
    if tenant_id is not None:
        query = query.where(Export.tenant_id == tenant_id)
    export = (await session.execute(query)).scalar_one_or_none()
    if export is None:
        raise ExportNotFound("export not found", {"export_id": str(export_id)})
    return export
