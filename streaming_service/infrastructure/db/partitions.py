"""Monthly partitions of ``streaming.recordings``, created on demand and ahead of time.

PostgreSQL routes a row to the partition whose range holds its ``started_at``; inserting
into a month with no partition fails, so writers call :func:`ensure_month_partition`
first (cached per process) and the retention job keeps a few months created ahead.

The service's database role may not create tables: the partition comes from
``streaming.ensure_recordings_partition(timestamptz)`` (migration 0004), which runs with
its owner's rights, is idempotent and makes concurrent callers take turns.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

_known: set[tuple[str, str]] = set()


def month_start(moment: datetime) -> datetime:
    moment = moment.astimezone(UTC)
    return datetime(moment.year, moment.month, 1, tzinfo=UTC)


def next_month(start: datetime) -> datetime:
    if start.month == 12:
        return start.replace(year=start.year + 1, month=1)
    return start.replace(month=start.month + 1)


def partition_name(moment: datetime) -> str:
    start = month_start(moment)
    return f"recordings_y{start.year:04d}m{start.month:02d}"


async def ensure_month_partition(engine: AsyncEngine, moment: datetime) -> None:
    """Create the partition holding ``moment`` if it does not exist yet, in a transaction
    of its own (so a caller's rollback never undoes it)."""
    name = partition_name(moment)
    cache_key = (engine.url.render_as_string(hide_password=True), name)
    if cache_key in _known:
        return
    async with engine.begin() as conn:
        await conn.execute(text("SELECT streaming.ensure_recordings_partition(:at)"),
                           {"at": month_start(moment)})
    _known.add(cache_key)


async def ensure_partitions_ahead(
    engine: AsyncEngine, now: datetime | None = None, months: int = 2
) -> list[str]:
    """The current month's partition and ``months`` after it."""
    start = month_start(now or datetime.now(UTC))
    created = []
    for _ in range(months + 1):
        await ensure_month_partition(engine, start)
        created.append(partition_name(start))
        start = next_month(start)
    return created


def forget_known_partitions() -> None:
    """Tests that drop and recreate the database call this."""
    _known.clear()
