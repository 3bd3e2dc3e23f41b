"""Use cases of alerts: list the tenant's alerts and acknowledge one.

Acknowledging is idempotent (a second acknowledgement changes nothing and publishes
nothing) and announced as ``AlertAcknowledged`` (to ``domain.events``, which the admin
service writes to the audit log, and to the tenant's live feed), through the outbox in the
acknowledging transaction.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Integer, Select, bindparam, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared_kernel.events import AlertAcknowledged, AlertAcknowledgedV1
from shared_kernel.pagination import Page
from streaming_service.domain.ai.ports import LIVE_FEED
from streaming_service.domain.ai.watchlist import AlertNotFound, AlertStatus
from streaming_service.domain.ports import Outbox
from streaming_service.infrastructure.db.models.ai import Alert, Detection


@dataclass(frozen=True)
class AlertPage(Page[Alert]):
    """A page of alerts, and which of their detections have an event clip (read in the
    page's own database session: a second session cost the list a third of its time)."""

    clipped: frozenset[uuid.UUID] = frozenset()


@dataclass(frozen=True)
class Acknowledgement:
    alert: Alert
    changed: bool


async def _get_alert(session: AsyncSession, alert_id: uuid.UUID, tenant_id: uuid.UUID) -> Alert:
    alert = (
        await session.execute(
            select(Alert).where(Alert.id == alert_id, Alert.tenant_id == tenant_id)
        )
    ).scalar_one_or_none()
    if alert is None:
        raise AlertNotFound("alert not found", {"alert_id": str(alert_id)})
    return alert


@dataclass(frozen=True)
class _ListStatements:
    page: Select[Any]
    total: Select[Any]


@functools.cache
def _list_statements(by_status: bool, by_camera: bool) -> _ListStatements:
    """The alert list's statements for its filters, every value a bound parameter: built
    and compiled once per shape instead of per request, as the detection search's."""
    conditions: list[Any] = [Alert.tenant_id == bindparam("tenant_id")]
    if by_status:
        conditions.append(Alert.status == bindparam("status"))
    if by_camera:
        conditions.append(Alert.camera_id == bindparam("camera_id"))
    page = (select(Alert).where(*conditions).order_by(Alert.raised_at.desc(), Alert.id)
            .offset(bindparam("offset", type_=Integer))
            .limit(bindparam("limit", type_=Integer)))
    return _ListStatements(page, select(func.count()).select_from(Alert).where(*conditions))


_CLIPPED = select(Detection.id).where(
    Detection.tenant_id == bindparam("tenant_id"),
    Detection.id.in_(bindparam("detection_ids", expanding=True)),
    Detection.details.has_key("clip_key"))


async def _clipped(session: AsyncSession, tenant_id: uuid.UUID,
                   detection_ids: Collection[uuid.UUID]) -> set[uuid.UUID]:
    if not detection_ids:
        return set()
    rows = await session.execute(_CLIPPED, {"tenant_id": tenant_id,
                                            "detection_ids": list(detection_ids)})
    return set(rows.scalars().all())


class Alerts:
    """The alert use cases, built once in the composition root."""

    def __init__(self, *, sessions: async_sessionmaker[AsyncSession], outbox: Outbox) -> None:
        self._sessions = sessions
        self._outbox = outbox

    async def list(
        self,
        tenant_id: uuid.UUID,
        *,
        status: AlertStatus | None = None,
        camera_id: uuid.UUID | None = None,
        offset: int = 0,
        limit: int = 50,
    ) -> AlertPage:
        statements = _list_statements(status is not None, camera_id is not None)
        params: dict[str, Any] = {
            "tenant_id": tenant_id, "status": status.value if status is not None else None,
            "camera_id": camera_id, "offset": offset, "limit": limit}
        async with self._sessions() as session:
            total = await session.execute(statements.total, params)
            rows = await session.execute(statements.page, params)
            alerts = list(rows.scalars().all())
            clipped = await _clipped(session, tenant_id, {a.detection_id for a in alerts})
            return AlertPage(alerts, int(total.scalar_one()), frozenset(clipped))

    async def clipped(
        self, tenant_id: uuid.UUID, detection_ids: Collection[uuid.UUID]
    ) -> set[uuid.UUID]:
        """Which of these detections have an event clip (``recording_mode = events``)."""
        if not detection_ids:
            return set()
        async with self._sessions() as session:
            return await _clipped(session, tenant_id, detection_ids)

    async def get(self, alert_id: uuid.UUID, tenant_id: uuid.UUID) -> Alert:
        async with self._sessions() as session:
            return await _get_alert(session, alert_id, tenant_id)

    async def acknowledge(
        self, alert_id: uuid.UUID, tenant_id: uuid.UUID, user_id: uuid.UUID, *,
        ip: str | None = None, user_agent: str = "",
    ) -> Acknowledgement:
        now = datetime.now(UTC)
        async with self._sessions() as session:
            # A conditional UPDATE: two operators acknowledging at once produce one event.
            result = await session.execute(
                update(Alert)
                .where(
                    Alert.id == alert_id,
                    Alert.tenant_id == tenant_id,
                    Alert.status == AlertStatus.NEW.value,
                )
                .values(status=AlertStatus.ACKNOWLEDGED.value, acknowledged_by=user_id,
                        acknowledged_at=now)
                .returning(Alert.id)
            )
            changed = result.scalar_one_or_none() is not None
            if changed:
                await self._outbox.add(
                    session,
                    AlertAcknowledged(alert_id=alert_id, tenant_id=tenant_id, user_id=user_id,
                                      acknowledged_at=now, ip=ip, user_agent=user_agent),
                    tenant_id=tenant_id,
                )
                # The tenant's live screens learn of it without the operator's address.
                await self._outbox.add(
                    session,
                    AlertAcknowledgedV1(alert_id=alert_id, tenant_id=tenant_id,
                                        user_id=user_id, acknowledged_at=now),
                    tenant_id=tenant_id, exchange=LIVE_FEED,
                )
            await session.commit()
            alert = await _get_alert(session, alert_id, tenant_id)
            await session.refresh(alert)
            return Acknowledgement(alert, changed=changed)
