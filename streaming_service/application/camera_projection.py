"""The streaming side's copy of tenants and cameras, kept current from the admin
service's events.

Each event is applied in one transaction together with its ``processed_events`` row, so
a redelivered event changes nothing. Camera events carry a ``revision``: an event older
than what the projection holds is ignored, so out-of-order delivery cannot roll a camera
back. Decommissioning is final (a tombstone row is kept even for an unknown camera so a
late, older registration cannot resurrect it).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared_kernel.events import (
    CameraDecommissioned,
    CameraSnapshot,
    CameraSnapshotV2,
    EventEnvelope,
    TenantCreated,
    TenantUpdated,
)
from shared_kernel.masking import mask_url
from streaming_service.infrastructure.db.models import Camera, ProcessedEvent, Tenant

log = logging.getLogger(__name__)

CONSUMER_NAME = "streaming.camera_projection"
HANDLED_TYPES = frozenset(
    {"TenantCreated", "TenantUpdated", "CameraRegistered", "CameraUpdated",
     "CameraDecommissioned"}
)

# Called after the transaction that decommissioned a camera has committed.
DecommissionHook = Callable[[uuid.UUID, uuid.UUID], Awaitable[None]]


class CameraProjection:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        *,
        consumer: str = CONSUMER_NAME,
        on_decommissioned: DecommissionHook | None = None,
    ) -> None:
        self._sessions = sessions
        self.consumer = consumer
        self._on_decommissioned = on_decommissioned

    async def handle(self, envelope: EventEnvelope) -> bool:
        """Apply one event. Returns False when it was a duplicate or not ours."""
        if envelope.type not in HANDLED_TYPES:
            return False
        payload = envelope.typed_payload()
        async with self._sessions() as session, session.begin():
            first_time = await self._claim(session, envelope)
            if not first_time:
                log.info("duplicate event ignored",
                         extra={"event_id": str(envelope.event_id), "event_type": envelope.type})
                return False
            if isinstance(payload, (TenantCreated, TenantUpdated)):
                await _upsert_tenant(session, payload)
            elif isinstance(payload, CameraSnapshot):
                applied = await upsert_camera(session, payload)
                if not applied:
                    log.info("stale camera event ignored",
                             extra={"camera_id": str(payload.camera_id),
                                    "revision": payload.revision})
            elif isinstance(payload, CameraDecommissioned):
                await decommission_camera(session, payload)
        if isinstance(payload, CameraDecommissioned) and self._on_decommissioned is not None:
            try:
                await self._on_decommissioned(payload.camera_id, payload.tenant_id)
            except Exception:
                log.exception("stopping a decommissioned camera's stream failed",
                              extra={"camera_id": str(payload.camera_id)})
        return True

    async def _claim(self, session: AsyncSession, envelope: EventEnvelope) -> bool:
        result = await session.execute(
            insert(ProcessedEvent)
            .values(consumer=self.consumer, event_id=envelope.event_id, event_type=envelope.type)
            .on_conflict_do_nothing(index_elements=["consumer", "event_id"])
            .returning(ProcessedEvent.event_id)
        )
        return result.scalar_one_or_none() is not None


async def _upsert_tenant(session: AsyncSession, payload: TenantCreated | TenantUpdated) -> None:
    values: dict[str, Any] = {
        "id": payload.tenant_id,
        "name": payload.name,
        "slug": payload.slug,
        "timezone": payload.timezone,
        "is_active": getattr(payload, "is_active", True),
    }
    statement = insert(Tenant).values(**values)
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=[Tenant.id],
            set_={**{k: statement.excluded[k] for k in values if k != "id"},
                  "updated_at": func.now()},
        )
    )


async def upsert_camera(session: AsyncSession, payload: CameraSnapshot) -> bool:
    """Insert or update the camera when ``payload.revision`` is newer than the stored one.
    Returns whether the row changed. Decommissioned cameras stay decommissioned."""
    values: dict[str, Any] = {
        "id": payload.camera_id,
        "tenant_id": payload.tenant_id,
        "name": payload.name,
        "rtsp_url_encrypted": payload.rtsp_url_encrypted,
        # Masked again: a producer older than the parameter-aware mask sent path and
        # query credentials in clear (masking a masked URL changes nothing).
        "rtsp_url_masked": mask_url(payload.rtsp_url_masked),
        "recording_mode": payload.recording_mode,
        "retention_days": payload.retention_days,
        "lpr_enabled": payload.lpr_enabled,
        "status": payload.status,
        "latitude": payload.latitude,
        "longitude": payload.longitude,
        "revision": payload.revision,
        # A version 1 event has no ONVIF side: the camera has none (or lost it).
        "onvif_encrypted": (payload.onvif_encrypted
                            if isinstance(payload, CameraSnapshotV2) else None),
        "ptz": payload.ptz if isinstance(payload, CameraSnapshotV2) else False,
    }
    statement = insert(Camera).values(**values)
    result = await session.execute(
        statement.on_conflict_do_update(
            index_elements=[Camera.id],
            set_={**{k: statement.excluded[k] for k in values if k != "id"},
                  "updated_at": func.now()},
            where=(Camera.revision < statement.excluded.revision)
            & Camera.decommissioned_at.is_(None),
        ).returning(Camera.id)
    )
    return result.scalar_one_or_none() is not None


async def decommission_camera(session: AsyncSession, payload: CameraDecommissioned) -> None:
    now = datetime.now(UTC)
    statement = insert(Camera).values(
        id=payload.camera_id, tenant_id=payload.tenant_id, name="", rtsp_url_encrypted="",
        rtsp_url_masked="", recording_mode="off", retention_days=90, lpr_enabled=False,
        status="decommissioned", revision=payload.revision, decommissioned_at=now, ptz=False,
    )
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=[Camera.id],
            set_={
                "status": "decommissioned",
                # Nothing will ever pull this camera again: drop its credentials.
                "rtsp_url_encrypted": "",
                "onvif_encrypted": None,
                "ptz": False,
                "recording_mode": "off",
                "lpr_enabled": False,
                "decommissioned_at": func.coalesce(Camera.decommissioned_at, now),
                "revision": func.greatest(Camera.revision, statement.excluded.revision),
                "updated_at": func.now(),
            },
        )
    )
