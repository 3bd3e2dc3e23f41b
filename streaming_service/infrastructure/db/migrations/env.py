"""Alembic environment: runs migrations over asyncpg against the streaming database."""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy import pool, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from streaming_service.infrastructure.db.models import SCHEMA, Base
from streaming_service.settings import StreamingSettings

config = context.config
target_metadata = Base.metadata


def _url() -> str:
    return (config.get_main_option("gtv.database_url")
            or StreamingSettings().async_migration_database_url)


def _include_object(obj: object, name: str | None, type_: str, reflected: bool, compare_to: object) -> bool:
    # Partitions are created at run time, not by migrations; the ``ai`` schema is the
    # LPR work's.
    if type_ == "table" and name and name.startswith("recordings_y"):
        return False
    return not (type_ == "table" and getattr(obj, "schema", None) == "ai")


def _run(connection: Connection) -> None:
    connection.execute(text(f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}"))
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        version_table_schema=SCHEMA,
        include_schemas=True,
        include_object=_include_object,
    )
    with context.begin_transaction():
        context.run_migrations()


async def _run_async() -> None:
    engine = create_async_engine(_url(), poolclass=pool.NullPool)
    async with engine.connect() as connection:
        await connection.run_sync(_run)
        await connection.commit()
    await engine.dispose()


if context.is_offline_mode():
    context.configure(url=_url(), target_metadata=target_metadata, literal_binds=True,
                      version_table_schema=SCHEMA)
    with context.begin_transaction():
        context.run_migrations()
else:
    asyncio.run(_run_async())
