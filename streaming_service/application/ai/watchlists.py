"""Use cases of watchlists and their entries (operators and above write; every query is
scoped to the caller's tenant, so another tenant's watchlist is a plain 404). Every change
is audited in its own transaction (LGPD: a watchlist targets people's cars).

:class:`Watchlists` is built once in the composition root (``bootstrap.py``) with its
session factory and the audit trail; :func:`matching_entries` is the matcher the detection
recorder runs inside its own transaction."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from sqlalchemy import and_, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared_kernel.pagination import Page
from shared_kernel.plates import PlateNumber, PlatePattern
from streaming_service.application.audit import Actor, AuditTrail
from streaming_service.domain.ai.lpr_settings import (
    LprPolicy,
    confusable_variants,
    variant_plates,
)
from streaming_service.domain.ai.watchlist import (
    Severity,
    WatchlistEntryNotFound,
    WatchlistNameTaken,
    WatchlistNotFound,
    is_active,
)
from streaming_service.infrastructure.db.models.ai import Watchlist, WatchlistEntry


def watchlist_state(watchlist: Watchlist) -> dict[str, Any]:
    return {"name": watchlist.name, "description": watchlist.description}


def entry_state(entry: WatchlistEntry) -> dict[str, Any]:
    return {
        "watchlist_id": str(entry.watchlist_id), "plate_pattern": entry.plate_pattern,
        "reason": entry.reason, "severity": entry.severity,
        "active_from": entry.active_from.isoformat() if entry.active_from else None,
        "active_until": entry.active_until.isoformat() if entry.active_until else None,
    }


@dataclass(frozen=True)
class EntryInput:
    plate_pattern: PlatePattern
    reason: str
    severity: Severity
    active_from: datetime | None = None
    active_until: datetime | None = None


async def _get_watchlist(
    session: AsyncSession, watchlist_id: uuid.UUID, tenant_id: uuid.UUID
) -> Watchlist:
    watchlist = (
        await session.execute(
            select(Watchlist).where(Watchlist.id == watchlist_id, Watchlist.tenant_id == tenant_id)
        )
    ).scalar_one_or_none()
    if watchlist is None:
        raise WatchlistNotFound("watchlist not found", {"watchlist_id": str(watchlist_id)})
    return watchlist


async def _flush_unique(session: AsyncSession, name: str) -> None:
    try:
        await session.flush()
    except IntegrityError as exc:
        await session.rollback()
        raise WatchlistNameTaken(
            "a watchlist with this name already exists", {"name": name}
        ) from exc


class NewEntryMatcher(Protocol):
    """Matches a new entry against the plates seen lately ("seen recently"), in the
    entry's transaction (``DetectionRecorder.match_new_entry``)."""

    async def match_new_entry(self, session: AsyncSession, entry: WatchlistEntry) -> int: ...


class Watchlists:
    """The watchlist use cases; each call is one transaction of its own."""

    def __init__(
        self, *, sessions: async_sessionmaker[AsyncSession], audit: AuditTrail,
        new_entries: NewEntryMatcher | None = None,
    ) -> None:
        self._sessions = sessions
        self._audit = audit
        self._new_entries = new_entries

    async def get(self, watchlist_id: uuid.UUID, tenant_id: uuid.UUID) -> Watchlist:
        async with self._sessions() as session:
            return await _get_watchlist(session, watchlist_id, tenant_id)

    async def list(
        self, tenant_id: uuid.UUID, *, offset: int, limit: int
    ) -> Page[Watchlist]:
        where = Watchlist.tenant_id == tenant_id
        async with self._sessions() as session:
            total = (await session.execute(select(func.count()).where(where))).scalar_one()
            items = (
                await session.execute(
                    select(Watchlist).where(where).order_by(Watchlist.name)
                    .offset(offset).limit(limit)
                )
            ).scalars().all()
        return Page(list(items), int(total))

    async def create(
        self, tenant_id: uuid.UUID, *, name: str, description: str, actor: Actor
    ) -> Watchlist:
        async with self._sessions() as session:
            watchlist = Watchlist(
                id=uuid.uuid4(), tenant_id=tenant_id, name=name, description=description,
                created_by=actor.user_id,
            )
            session.add(watchlist)
            await _flush_unique(session, name)
            await self._audit.add(session, actor, "watchlist.create", object_type="watchlist",
                                  object_id=watchlist.id, tenant_id=tenant_id,
                                  after=watchlist_state(watchlist))
            await session.commit()
            return watchlist

    async def update(
        self,
        watchlist_id: uuid.UUID,
        tenant_id: uuid.UUID,
        *,
        name: str | None,
        description: str | None,
        actor: Actor,
    ) -> Watchlist:
        async with self._sessions() as session:
            watchlist = await _get_watchlist(session, watchlist_id, tenant_id)
            before = watchlist_state(watchlist)
            if name is not None:
                watchlist.name = name
            if description is not None:
                watchlist.description = description
            watchlist.updated_at = datetime.now(UTC)
            await _flush_unique(session, watchlist.name)
            await self._audit.add(session, actor, "watchlist.update", object_type="watchlist",
                                  object_id=watchlist.id, tenant_id=tenant_id, before=before,
                                  after=watchlist_state(watchlist))
            await session.commit()
            return watchlist

    async def delete(
        self, watchlist_id: uuid.UUID, tenant_id: uuid.UUID, *, actor: Actor
    ) -> None:
        async with self._sessions() as session:
            watchlist = await _get_watchlist(session, watchlist_id, tenant_id)
            before = watchlist_state(watchlist)
            await session.delete(watchlist)
            await self._audit.add(session, actor, "watchlist.delete", object_type="watchlist",
                                  object_id=watchlist_id, tenant_id=tenant_id, before=before)
            await session.commit()

    async def list_entries(
        self, watchlist_id: uuid.UUID, tenant_id: uuid.UUID, *, offset: int, limit: int,
    ) -> Page[WatchlistEntry]:
        where = and_(WatchlistEntry.watchlist_id == watchlist_id,
                     WatchlistEntry.tenant_id == tenant_id)
        async with self._sessions() as session:
            await _get_watchlist(session, watchlist_id, tenant_id)
            total = (await session.execute(
                select(func.count()).select_from(WatchlistEntry).where(where))).scalar_one()
            rows = await session.execute(
                select(WatchlistEntry).where(where)
                .order_by(WatchlistEntry.created_at, WatchlistEntry.plate_pattern,
                          WatchlistEntry.id)
                .offset(offset).limit(limit)
            )
            return Page(list(rows.scalars().all()), int(total))

    async def add_entry(
        self,
        watchlist_id: uuid.UUID,
        tenant_id: uuid.UUID,
        data: EntryInput,
        *,
        actor: Actor,
    ) -> WatchlistEntry:
        async with self._sessions() as session:
            await _get_watchlist(session, watchlist_id, tenant_id)
            entry = WatchlistEntry(
                id=uuid.uuid4(),
                watchlist_id=watchlist_id,
                tenant_id=tenant_id,
                plate_pattern=data.plate_pattern.text,
                is_exact=data.plate_pattern.is_exact,
                reason=data.reason,
                severity=data.severity.value,
                active_from=data.active_from,
                active_until=data.active_until,
                created_by=actor.user_id,
            )
            session.add(entry)
            await self._audit.add(session, actor, "watchlist_entry.create",
                                  object_type="watchlist_entry", object_id=entry.id,
                                  tenant_id=tenant_id, after=entry_state(entry))
            await session.flush()
            if self._new_entries is not None:
                await self._new_entries.match_new_entry(session, entry)
            await session.commit()
            return entry

    async def delete_entry(
        self, watchlist_id: uuid.UUID, entry_id: uuid.UUID, tenant_id: uuid.UUID, *,
        actor: Actor,
    ) -> None:
        async with self._sessions() as session:
            entry = (
                await session.execute(
                    select(WatchlistEntry).where(
                        WatchlistEntry.id == entry_id,
                        WatchlistEntry.watchlist_id == watchlist_id,
                        WatchlistEntry.tenant_id == tenant_id,
                    )
                )
            ).scalar_one_or_none()
            if entry is None:
                raise WatchlistEntryNotFound("watchlist entry not found",
                                             {"entry_id": str(entry_id)})
            before = entry_state(entry)
            await session.delete(entry)
            await self._audit.add(session, actor, "watchlist_entry.delete",
                                  object_type="watchlist_entry", object_id=entry_id,
                                  tenant_id=tenant_id, before=before)
            await session.commit()


async def matching_entries(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    plate: PlateNumber,
    at: datetime,
    policy: LprPolicy | None = None,
) -> list[WatchlistEntry]:
    """The tenant's entries a read of ``plate`` at ``at`` hits, in either plate layout.

    Exact entries are looked up by index; only the tenant's wildcard patterns are
    scanned (and checked here with ``PlatePattern``). With a ``policy`` whose match
    distance is 1, entries of its fuzzy severities also take a read one OCR-confusable
    character away (``ABC1S34`` hits ``ABC1534``).
    """
    policy = policy or LprPolicy()
    fuzzy = policy.fuzzy_severities()
    exact_forms = sorted(plate.equivalent_forms())
    hits: list[Any] = [WatchlistEntry.plate_pattern.in_(exact_forms),
                       WatchlistEntry.is_exact.is_(False)]
    variants: list[PlateNumber] = []
    if fuzzy:
        hits.append(and_(WatchlistEntry.plate_pattern.in_(sorted(confusable_variants(plate))),
                         WatchlistEntry.severity.in_(fuzzy)))
        variants = variant_plates(plate)
    rows = await session.execute(
        select(WatchlistEntry).where(
            WatchlistEntry.tenant_id == tenant_id,
            or_(*hits),
            or_(WatchlistEntry.active_from.is_(None), WatchlistEntry.active_from <= at),
            or_(WatchlistEntry.active_until.is_(None), WatchlistEntry.active_until > at),
        ).order_by(WatchlistEntry.created_at, WatchlistEntry.id)
    )

    def hit(entry: WatchlistEntry) -> bool:
        pattern = PlatePattern(entry.plate_pattern)
        if pattern.matches(plate):
            return True
        return entry.severity in fuzzy and any(pattern.matches(v) for v in variants)

    return [
        entry
        for entry in rows.scalars().all()
        if is_active(entry.active_from, entry.active_until, at) and hit(entry)
    ]
