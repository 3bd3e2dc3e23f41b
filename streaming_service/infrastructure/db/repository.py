"""Tenant-scoped queries. Every read of a tenant-owned row goes through here, so a
camera, recording or export of another tenant is indistinguishable from a missing one."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from streaming_service.domain.camera import UNAVAILABLE_STATUSES, is_streamable
from streaming_service.domain.errors import (
    CameraNotFound,
    CameraUnavailable,
    ExportNotFound,
    RecordingNotFound,
)
from streaming_service.domain.ports import CameraRecord
from streaming_service.infrastructure.db.models import Camera, Export, Recording


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
    if not is_streamable(status=camera.status, decommissioned=camera.is_decommissioned):
        raise CameraUnavailable(
            f"camera is {camera.status}", {"camera_id": str(camera_id), "status": camera.status}
        )
    return camera


def camera_record(camera: Camera) -> CameraRecord:
    return CameraRecord(id=camera.id, tenant_id=camera.tenant_id,
                        rtsp_url_encrypted=camera.rtsp_url_encrypted,
                        recording_mode=camera.recording_mode, status=camera.status,
                        decommissioned=camera.is_decommissioned)


class SqlCameraDirectory:
    """:class:`~streaming_service.domain.ports.CameraDirectory` over the projection."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def get(self, camera_id: uuid.UUID, tenant_id: uuid.UUID | None, *,
                  include_decommissioned: bool = False) -> CameraRecord:
        async with self._sessions() as session:
            return camera_record(await get_camera(
                session, camera_id, tenant_id, include_decommissioned=include_decommissioned))

    async def streamable(self, camera_id: uuid.UUID,
                         tenant_id: uuid.UUID | None) -> CameraRecord:
        async with self._sessions() as session:
            return camera_record(await get_streamable_camera(session, camera_id, tenant_id))

    async def all_streamable(self) -> list[CameraRecord]:
        async with self._sessions() as session:
            rows = await session.execute(
                select(Camera).where(Camera.decommissioned_at.is_(None),
                                     Camera.status.not_in(UNAVAILABLE_STATUSES))
                .order_by(Camera.id))
            return [camera_record(c) for c in rows.scalars().all()]


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
