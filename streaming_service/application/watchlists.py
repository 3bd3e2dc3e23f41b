"""Use cases of watchlists and their entries (operators and above write; every query is
scoped to the caller's tenant, so another tenant's watchlist is a plain 404)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from shared_kernel.plates import PlateNumber, PlatePattern
from streaming_service.domain.watchlist import (
    Severity,
    WatchlistEntryNotFound,
    WatchlistNameTaken,
    WatchlistNotFound,
    is_active,
)
from streaming_service.infrastructure.db.ai_models import Watchlist, WatchlistEntry


@dataclass(frozen=True)
class WatchlistPage:
    items: list[Watchlist]
    total: int


@dataclass(frozen=True)
class EntryInput:
    plate_pattern: PlatePattern
    reason: str
    severity: Severity
    active_from: datetime | None = None
    active_until: datetime | None = None


async def get_watchlist(
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


async def list_watchlists(
    session: AsyncSession, tenant_id: uuid.UUID, *, offset: int, limit: int
) -> WatchlistPage:
    where = Watchlist.tenant_id == tenant_id
    total = (await session.execute(select(func.count()).where(where))).scalar_one()
    items = (
        await session.execute(
            select(Watchlist).where(where).order_by(Watchlist.name).offset(offset).limit(limit)
        )
    ).scalars().all()
    return WatchlistPage(list(items), int(total))


async def create_watchlist(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    *,
    name: str,
    description: str,
    created_by: uuid.UUID | None,
) -> Watchlist:
    watchlist = Watchlist(
        id=uuid.uuid4(), tenant_id=tenant_id, name=name, description=description,
        created_by=created_by,
    )
    session.add(watchlist)
    await _flush_unique(session, name)
    await session.commit()
    return watchlist


async def update_watchlist(
    session: AsyncSession,
    watchlist_id: uuid.UUID,
    tenant_id: uuid.UUID,
    *,
    name: str | None,
    description: str | None,
) -> Watchlist:
    watchlist = await get_watchlist(session, watchlist_id, tenant_id)
    if name is not None:
        watchlist.name = name
    if description is not None:
        watchlist.description = description
    watchlist.updated_at = datetime.now(UTC)
    await _flush_unique(session, watchlist.name)
    await session.commit()
    return watchlist


async def delete_watchlist(
    session: AsyncSession, watchlist_id: uuid.UUID, tenant_id: uuid.UUID
) -> None:
    watchlist = await get_watchlist(session, watchlist_id, tenant_id)
    await session.delete(watchlist)
    await session.commit()


async def _flush_unique(session: AsyncSession, name: str) -> None:
    try:
        await session.flush()
    except IntegrityError as exc:
        await session.rollback()
        raise WatchlistNameTaken(
            "a watchlist with this name already exists", {"name": name}
        ) from exc


async def list_entries(
    session: AsyncSession, watchlist_id: uuid.UUID, tenant_id: uuid.UUID
) -> list[WatchlistEntry]:
    await get_watchlist(session, watchlist_id, tenant_id)
    rows = await session.execute(
        select(WatchlistEntry)
        .where(WatchlistEntry.watchlist_id == watchlist_id, WatchlistEntry.tenant_id == tenant_id)
        .order_by(WatchlistEntry.created_at, WatchlistEntry.plate_pattern)
    )
    return list(rows.scalars().all())


async def add_entry(
    session: AsyncSession,
    watchlist_id: uuid.UUID,
    tenant_id: uuid.UUID,
    data: EntryInput,
    *,
    created_by: uuid.UUID | None,
) -> WatchlistEntry:
    await get_watchlist(session, watchlist_id, tenant_id)
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
        created_by=created_by,
    )
    session.add(entry)
    await session.commit()
    return entry


async def delete_entry(
    session: AsyncSession, watchlist_id: uuid.UUID, entry_id: uuid.UUID, tenant_id: uuid.UUID
) -> None:
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
        raise WatchlistEntryNotFound("watchlist entry not found", {"entry_id": str(entry_id)})
    await session.delete(entry)
    await session.commit()


async def matching_entries(
    session: AsyncSession, tenant_id: uuid.UUID, plate: PlateNumber, at: datetime
) -> list[WatchlistEntry]:
    """The tenant's entries a read of ``plate`` at ``at`` hits, in either plate layout.

    Exact entries are looked up by index; only the tenant's wildcard patterns are
    scanned (and checked here with ``PlatePattern``).
    """
    rows = await session.execute(
        select(WatchlistEntry).where(
            WatchlistEntry.tenant_id == tenant_id,
            or_(
                WatchlistEntry.plate_pattern.in_(sorted(plate.equivalent_forms())),
                WatchlistEntry.is_exact.is_(False),
            ),
            or_(WatchlistEntry.active_from.is_(None), WatchlistEntry.active_from <= at),
            or_(WatchlistEntry.active_until.is_(None), WatchlistEntry.active_until > at),
        )
    )
    return [
        entry
        for entry in rows.scalars().all()
        if is_active(entry.active_from, entry.active_until, at)
        and PlatePattern(entry.plate_pattern).matches(plate)
    ]
