"""Camera leases of the LPR workers, in PostgreSQL (``ai.camera_assignments``).

Each LPR-enabled camera has one row. A worker claims free rows (no worker, or a lease
that expired) with ``FOR UPDATE SKIP LOCKED`` so competing workers never claim the same
camera, renews its leases well before they expire, and releases them on a clean stop.
A worker that dies simply stops renewing: once its leases expire, another worker claims
its cameras. Lease times come from the database clock, so workers' clocks may drift.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from streaming_service.domain.camera import UNAVAILABLE_STATUSES


@dataclass(frozen=True)
class CameraLease:
    camera_id: uuid.UUID
    tenant_id: uuid.UUID


# ``domain.camera.needs_lpr`` in SQL; the unavailable statuses are bound from the domain.
_NEEDS_LPR = ("c.lpr_enabled AND c.decommissioned_at IS NULL "
              "AND c.status <> ALL(CAST(:unavailable AS text[]))")

_SYNC_INSERT = text(f"""
INSERT INTO ai.camera_assignments (camera_id, tenant_id)
SELECT c.id, c.tenant_id FROM streaming.cameras c
WHERE {_NEEDS_LPR}
ON CONFLICT (camera_id) DO NOTHING
""")  # noqa: S608 - a constant, no input

_SYNC_DELETE = text(f"""
DELETE FROM ai.camera_assignments a
WHERE NOT EXISTS (
    SELECT 1 FROM streaming.cameras c WHERE c.id = a.camera_id AND {_NEEDS_LPR})
""")  # noqa: S608 - a constant, no input

_CLAIM = text("""
UPDATE ai.camera_assignments a
SET worker_id = :worker, lease_expires_at = now() + make_interval(secs => :secs),
    updated_at = now()
WHERE a.camera_id IN (
    SELECT camera_id FROM ai.camera_assignments
    WHERE worker_id IS NULL OR lease_expires_at IS NULL OR lease_expires_at < now()
    ORDER BY lease_expires_at NULLS FIRST, camera_id
    LIMIT :limit
    FOR UPDATE SKIP LOCKED)
RETURNING a.camera_id, a.tenant_id
""")

_RENEW = text("""
UPDATE ai.camera_assignments
SET lease_expires_at = now() + make_interval(secs => :secs), updated_at = now()
WHERE worker_id = :worker AND camera_id = ANY(:ids)
RETURNING camera_id
""")

_RELEASE = text("""
UPDATE ai.camera_assignments
SET worker_id = NULL, lease_expires_at = NULL, updated_at = now()
WHERE worker_id = :worker AND camera_id = ANY(:ids)
""")


class PostgresCameraLeases:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], *,
                 lease_seconds: float = 30.0) -> None:
        self._sessions = sessions
        self.lease_seconds = lease_seconds

    async def sync_cameras(self) -> None:
        """One row per LPR-enabled camera of the projection; rows of cameras that lost
        LPR (or were decommissioned) go, and their worker stops at its next renewal."""
        unavailable = {"unavailable": sorted(UNAVAILABLE_STATUSES)}
        async with self._sessions() as session:
            await session.execute(_SYNC_INSERT, unavailable)
            await session.execute(_SYNC_DELETE, unavailable)
            await session.commit()

    async def claim(self, worker_id: str, limit: int) -> list[CameraLease]:
        if limit <= 0:
            return []
        async with self._sessions() as session:
            rows = await session.execute(
                _CLAIM, {"worker": worker_id, "secs": self.lease_seconds, "limit": limit})
            leases = [CameraLease(r[0], r[1]) for r in rows.all()]
            await session.commit()
        return leases

    async def renew(self, worker_id: str, camera_ids: list[uuid.UUID]) -> set[uuid.UUID]:
        """Extends the leases still held; returns them (the others were lost)."""
        if not camera_ids:
            return set()
        async with self._sessions() as session:
            rows = await session.execute(
                _RENEW, {"worker": worker_id, "secs": self.lease_seconds, "ids": camera_ids})
            held = {r[0] for r in rows.all()}
            await session.commit()
        return held

    async def release(self, worker_id: str, camera_ids: list[uuid.UUID]) -> None:
        if not camera_ids:
            return
        async with self._sessions() as session:
            await session.execute(_RELEASE, {"worker": worker_id, "ids": camera_ids})
            await session.commit()
