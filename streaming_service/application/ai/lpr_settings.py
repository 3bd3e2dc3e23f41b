"""Use cases of a tenant's LPR settings (``domain.ai.lpr_settings.LprPolicy``): viewers
read them, tenant admins change them (audited in the change's transaction, like every
watchlist change), and the detection recorder applies them to every match."""

from __future__ import annotations

import uuid
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from streaming_service.application.audit import Actor, AuditTrail
from streaming_service.domain.ai.lpr_settings import LprPolicy
from streaming_service.domain.ai.watchlist import Severity
from streaming_service.infrastructure.db.models.ai import LprSettings


def policy_state(policy: LprPolicy) -> dict[str, Any]:
    state = asdict(policy)
    state["fuzzy_min_severity"] = policy.fuzzy_min_severity.value
    return state


async def load_policy(session: AsyncSession, tenant_id: uuid.UUID) -> LprPolicy:
    """The tenant's policy, or the defaults when it never set one."""
    row = await session.get(LprSettings, tenant_id)
    if row is None:
        return LprPolicy()
    return LprPolicy(min_confidence=row.min_confidence, match_distance=row.match_distance,
                     fuzzy_min_severity=Severity(row.fuzzy_min_severity))


class TenantLprSettings:
    def __init__(self, *, sessions: async_sessionmaker[AsyncSession], audit: AuditTrail) -> None:
        self._sessions = sessions
        self._audit = audit

    async def get(self, tenant_id: uuid.UUID) -> LprPolicy:
        async with self._sessions() as session:
            return await load_policy(session, tenant_id)

    async def update(self, tenant_id: uuid.UUID, policy: LprPolicy, *, actor: Actor) -> LprPolicy:
        values = {"min_confidence": policy.min_confidence,
                  "match_distance": policy.match_distance,
                  "fuzzy_min_severity": policy.fuzzy_min_severity.value,
                  "updated_by": actor.user_id, "updated_at": datetime.now(UTC)}
        async with self._sessions() as session:
            before = await session.execute(
                select(LprSettings).where(LprSettings.tenant_id == tenant_id).with_for_update())
            row = before.scalar_one_or_none()
            previous = (LprPolicy(min_confidence=row.min_confidence,
                                  match_distance=row.match_distance,
                                  fuzzy_min_severity=Severity(row.fuzzy_min_severity))
                        if row is not None else LprPolicy())
            await session.execute(
                insert(LprSettings).values(tenant_id=tenant_id, **values)
                .on_conflict_do_update(index_elements=[LprSettings.tenant_id], set_=values))
            await self._audit.add(session, actor, "lpr_settings.update",
                                  object_type="lpr_settings", object_id=tenant_id,
                                  tenant_id=tenant_id, before=policy_state(previous),
                                  after=policy_state(policy))
            await session.commit()
        return policy
