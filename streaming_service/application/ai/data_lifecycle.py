"""The LGPD lifecycle of plate reads: retention, data-subject exports and erasure.

- **Retention**: detections (plate reads) and their crops are purged once older than the
  tenant's retention (``ai.tenant_data_policies``, else ``GTV_LPR_RETENTION_DAYS``,
  90 days by default). A detection an alert points at is evidence: it and its crop stay
  while the alert exists (alerts have their own lifecycle).
- **Audit**: every purge that removes something, every export and every erasure is
  recorded as a ``UserActivityRecorded`` event through the audit trail (the admin
  service's append-only log), with counts; the purge's record commits in the same
  transaction as the deleted rows.
- **Data-subject requests** (LGPD art. 18): all reads of one plate in a period, for a
  legal request (an operator, with a reason), and their erasure (a tenant admin, with a
  reason and a legal basis). Reads that back an alert are not erased: they are reported.

Crops are deleted before their rows: a crop that cannot be deleted keeps its row for the
next run, so no row ever points at a crop that is gone and no crop is left unreferenced.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import and_, delete, exists, func, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from streaming_service.application.ai.detections import LPR_BUCKET, crop_path
from streaming_service.application.audit import Actor, AuditTrail
from streaming_service.domain.errors import InvalidTimeRange
from streaming_service.domain.ports import ObjectStore
from streaming_service.infrastructure.db.models import Tenant
from streaming_service.infrastructure.db.models.ai import Alert, Detection
from streaming_service.infrastructure.db.models.ai_lifecycle import TenantDataPolicy

log = logging.getLogger(__name__)

# The purge's actor in the audit log: a system process, no user.
RETENTION_ACTOR = Actor.system("system:retention")
MIN_RETENTION_DAYS, MAX_RETENTION_DAYS = 1, 3650
# The widest period one data-subject request may cover (the law's horizon is the
# retention; a request beyond it finds nothing anyway).
MAX_REQUEST_DAYS = MAX_RETENTION_DAYS


@dataclass(frozen=True)
class TenantPurge:
    tenant_id: uuid.UUID
    retention_days: int
    cutoff: datetime
    detections: int
    crops: int
    kept_for_alerts: int
    failed: int


@dataclass
class PurgeReport:
    tenants: list[TenantPurge] = field(default_factory=list)

    @property
    def detections(self) -> int:
        return sum(t.detections for t in self.tenants)

    @property
    def crops(self) -> int:
        return sum(t.crops for t in self.tenants)

    @property
    def failed(self) -> int:
        return sum(t.failed for t in self.tenants)


@dataclass(frozen=True)
class PlateRead:
    id: uuid.UUID
    camera_id: uuid.UUID
    plate: str
    plate_style: str
    confidence: float
    detected_at: datetime
    bbox: list[float] | None
    crop_url: str | None
    alerted: bool


@dataclass(frozen=True)
class Erasure:
    erased: int
    crops: int
    kept_for_alerts: int
    failed: int


def _has_alert() -> Any:
    return exists().where(Alert.detection_id == Detection.id)


async def _count(session: AsyncSession, *conditions: Any) -> int:
    total = await session.scalar(select(func.count()).select_from(Detection).where(*conditions))
    return int(total or 0)


def _check_period(start: datetime, end: datetime) -> tuple[datetime, datetime]:
    """The period in UTC; InvalidTimeRange (400) when it is inverted, too long, or cannot
    be expressed in UTC (year 1 at +14:00)."""
    try:
        start, end = start.astimezone(UTC), end.astimezone(UTC)
    except OverflowError as exc:
        raise InvalidTimeRange("start or end is out of range", {}) from exc
    if start > end:
        raise InvalidTimeRange("start is after end", {"start": start.isoformat(),
                                                      "end": end.isoformat()})
    if end - start > timedelta(days=MAX_REQUEST_DAYS):
        raise InvalidTimeRange(f"the period may span at most {MAX_REQUEST_DAYS} days",
                               {"max_days": MAX_REQUEST_DAYS})
    return start, end


class DataLifecycle:
    def __init__(self, *, sessions: async_sessionmaker[AsyncSession], store: ObjectStore,
                 audit: AuditTrail, default_retention_days: int) -> None:
        self._sessions = sessions
        self._store = store
        self._audit = audit
        self.default_retention_days = default_retention_days

    # --- the tenant's policy --------------------------------------------------------------

    async def retention_days(self, tenant_id: uuid.UUID) -> tuple[int, bool]:
        """The tenant's retention in days, and whether it is the tenant's own setting."""
        async with self._sessions() as session:
            days = await session.scalar(select(TenantDataPolicy.detection_retention_days)
                                        .where(TenantDataPolicy.tenant_id == tenant_id))
        return (int(days), True) if days is not None else (self.default_retention_days, False)

    async def set_retention_days(self, actor: Actor, tenant_id: uuid.UUID,
                                 days: int | None) -> tuple[int, bool]:
        """Set (or, with None, drop) the tenant's retention; audited with before/after."""
        before, custom = await self.retention_days(tenant_id)
        async with self._sessions() as session, session.begin():
            await session.execute(delete(TenantDataPolicy)
                                  .where(TenantDataPolicy.tenant_id == tenant_id))
            if days is not None:
                session.add(TenantDataPolicy(tenant_id=tenant_id, detection_retention_days=days,
                                             updated_by=actor.user_id))
            after = days if days is not None else self.default_retention_days
            await self._audit.add(session, actor, "data_policy.update", object_type="tenant",
                                  object_id=tenant_id, tenant_id=tenant_id,
                                  before={"detection_retention_days": before, "custom": custom},
                                  after={"detection_retention_days": after,
                                         "custom": days is not None})
        return after, days is not None

    # --- retention ------------------------------------------------------------------------

    async def purge_expired(self, *, now: datetime | None = None,
                            batch_size: int = 500) -> PurgeReport:
        """Purge every tenant's detections (and crops) older than its retention, except
        those an alert points at. One audit record per tenant that lost something."""
        now = now or datetime.now(UTC)
        async with self._sessions() as session:
            policies = dict((await session.execute(select(
                TenantDataPolicy.tenant_id, TenantDataPolicy.detection_retention_days))).all())
            tenants = set((await session.execute(select(Tenant.id))).scalars().all())
            # Reads of a tenant whose projection has not arrived yet still expire.
            tenants |= set((await session.execute(
                select(Detection.tenant_id).where(
                    Detection.detected_at < now - timedelta(days=min(
                        [self.default_retention_days, *policies.values()])))
                .distinct())).scalars().all())
        report = PurgeReport()
        for tenant_id in sorted(tenants | set(policies)):
            days = int(policies.get(tenant_id, self.default_retention_days))
            purge = await self._purge_tenant(tenant_id, days, now - timedelta(days=days),
                                             batch_size)
            if purge.detections or purge.failed or purge.kept_for_alerts:
                report.tenants.append(purge)
        log.info("plate-read retention applied",
                 extra={"tenants": len(report.tenants), "detections": report.detections,
                        "crops": report.crops, "failed": report.failed})
        return report

    async def _purge_tenant(self, tenant_id: uuid.UUID, days: int, cutoff: datetime,
                            batch_size: int) -> TenantPurge:
        expired = and_(Detection.tenant_id == tenant_id, Detection.detected_at < cutoff)
        detections = crops = failed = 0
        while True:
            async with self._sessions() as session:
                batch = (await session.execute(
                    select(Detection.id, Detection.detected_at, Detection.crop_key)
                    .where(expired, ~_has_alert())
                    .order_by(Detection.detected_at).limit(batch_size))).all()
            if not batch:
                break
            gone, deleted_crops, batch_failed = await self._delete_crops(batch)
            failed += batch_failed
            if gone:
                async with self._sessions() as session, session.begin():
                    await session.execute(delete(Detection).where(
                        tuple_(Detection.id, Detection.detected_at).in_(gone)))
                    await self._audit.add(
                        session, RETENTION_ACTOR, "detection.purge", object_type="tenant",
                        object_id=tenant_id, tenant_id=tenant_id,
                        after={"detections": len(gone), "crops": deleted_crops,
                               "retention_days": days, "cutoff": cutoff.isoformat()})
                detections += len(gone)
                crops += deleted_crops
            if len(gone) < len(batch):
                break  # failures: the rest waits for the next run instead of looping
        async with self._sessions() as session:
            kept = await _count(session, expired, _has_alert())
        return TenantPurge(tenant_id, days, cutoff, detections, crops, kept, failed)

    async def _delete_crops(
        self, rows: Any
    ) -> tuple[list[tuple[uuid.UUID, datetime]], int, int]:
        """Delete the rows' crops (unless an alert keeps the same object); the rows whose
        crop is gone (or who had none), the crops deleted and the failures."""
        keys = [key for _, _, key in rows if key]
        kept: set[str] = set()
        if keys:
            async with self._sessions() as session:
                kept = {key for key in (await session.execute(
                    select(Alert.crop_key).where(Alert.crop_key.in_(keys)))).scalars() if key}
        gone: list[tuple[uuid.UUID, datetime]] = []
        crops = failed = 0
        for det_id, detected_at, key in rows:
            if key and key not in kept:
                try:
                    await self._store.delete(LPR_BUCKET, key)
                except Exception as exc:
                    failed += 1
                    log.warning("could not delete a plate crop",
                                extra={"object_key": key, "error": repr(exc)[:300]})
                    continue
                crops += 1
            gone.append((det_id, detected_at))
        return gone, crops, failed

    # --- data-subject requests ------------------------------------------------------------

    async def export_plate(self, actor: Actor, tenant_id: uuid.UUID, *, forms: tuple[str, ...],
                           plate: str, start: datetime, end: datetime,
                           reason: str) -> list[PlateRead]:
        """Every read of the plate (either layout) in [start, end], oldest first; the
        export is audited (with its reason and count) before it is handed out."""
        start, end = _check_period(start, end)
        async with self._sessions() as session:
            rows = (await session.execute(
                select(Detection, _has_alert().label("alerted"))
                .where(Detection.tenant_id == tenant_id, Detection.plate.in_(forms),
                       Detection.detected_at >= start, Detection.detected_at <= end)
                .order_by(Detection.detected_at, Detection.id))).all()
        reads = [PlateRead(id=d.id, camera_id=d.camera_id, plate=d.plate,
                           plate_style=d.plate_style, confidence=d.confidence,
                           detected_at=d.detected_at, bbox=d.bbox,
                           crop_url=crop_path(d.id) if d.crop_key else None,
                           alerted=bool(alerted)) for d, alerted in rows]
        await self._audit.record(
            actor, "detection.subject_export", object_type="plate", object_id=plate,
            tenant_id=tenant_id,
            after={"plate": plate, "start": start.isoformat(), "end": end.isoformat(),
                   "reason": reason, "count": len(reads)})
        return reads

    async def erase_plate(self, actor: Actor, tenant_id: uuid.UUID, *, forms: tuple[str, ...],
                          plate: str, start: datetime, end: datetime, reason: str,
                          legal_basis: str) -> Erasure:
        """Erase the plate's reads in [start, end] and their crops, except reads an alert
        points at (evidence; reported as ``kept_for_alerts``). Audited with counts in the
        transaction that deletes the rows."""
        start, end = _check_period(start, end)
        matching = and_(Detection.tenant_id == tenant_id, Detection.plate.in_(forms),
                        Detection.detected_at >= start, Detection.detected_at <= end)
        async with self._sessions() as session:
            rows = (await session.execute(
                select(Detection.id, Detection.detected_at, Detection.crop_key)
                .where(matching, ~_has_alert()))).all()
            kept = await _count(session, matching, _has_alert())
        gone, crops, failed = await self._delete_crops(rows)
        async with self._sessions() as session, session.begin():
            if gone:
                await session.execute(delete(Detection).where(
                    tuple_(Detection.id, Detection.detected_at).in_(gone)))
            await self._audit.add(
                session, actor, "detection.subject_erase", object_type="plate", object_id=plate,
                tenant_id=tenant_id,
                after={"plate": plate, "start": start.isoformat(), "end": end.isoformat(),
                       "reason": reason, "legal_basis": legal_basis, "erased": len(gone),
                       "crops": crops, "kept_for_alerts": kept, "failed": failed})
        return Erasure(erased=len(gone), crops=crops, kept_for_alerts=kept, failed=failed)
