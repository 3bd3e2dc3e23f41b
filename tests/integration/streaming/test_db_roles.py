"""The streaming service's database roles (deploy/postgres/roles.sql): the app and its
workers run as ``gtv_streaming``, which reads and writes rows of streaming/ai only and
creates monthly partitions through its owner's SECURITY DEFINER functions; the
migrations ran as ``gtv_streaming_owner``."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import psycopg
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from streaming_service.infrastructure.db.partitions import ensure_month_partition
from streaming_service.infrastructure.db.session import create_engine
from streaming_service.settings import StreamingSettings
from tools import db_roles


@pytest.fixture
async def engine(streaming_settings: StreamingSettings) -> AsyncIterator[AsyncEngine]:
    """An engine built as the app builds its own (runtime role)."""
    engine = create_engine(streaming_settings)
    yield engine
    await engine.dispose()


async def _scalar(engine: AsyncEngine, sql: str, **params: Any) -> Any:
    async with engine.begin() as conn:
        return (await conn.execute(text(sql), params)).scalar_one()


async def _refusal(engine: AsyncEngine, sql: str) -> str:
    with pytest.raises(DBAPIError) as caught:
        async with engine.begin() as conn:
            await conn.execute(text(sql))
    return str(caught.value.orig)


async def test_the_app_connects_as_a_plain_least_privilege_role(app_services: Any) -> None:
    async with app_services.sessions() as session:
        row = (await session.execute(text("""
            SELECT current_user, r.rolsuper, r.rolcreatedb, r.rolcreaterole, r.rolbypassrls,
                   (SELECT count(*) FROM pg_auth_members m WHERE m.member = r.oid),
                   (SELECT count(*) FROM pg_class c WHERE c.relowner = r.oid)
            FROM pg_roles r WHERE r.rolname = current_user
        """))).one()
    assert tuple(row) == (db_roles.STREAMING, False, False, False, False, 0, 0)


async def test_the_migrations_ran_as_the_owner(engine: AsyncEngine) -> None:
    owners = await _scalar(engine, """
        SELECT array_agg(DISTINCT pg_get_userbyid(relowner)) FROM pg_class
        WHERE relnamespace::regnamespace::text IN ('streaming', 'ai')
          AND relkind IN ('r', 'p', 'S')
    """)
    assert owners == [db_roles.STREAMING_OWNER]


async def test_the_runtime_role_has_no_ddl_and_no_access_to_the_admin_schemas(
    engine: AsyncEngine,
) -> None:
    for schema in ("streaming", "ai", "public"):
        assert f"permission denied for schema {schema}" in await _refusal(
            engine, f"CREATE TABLE {schema}.scratch (id int)")
    assert "must be owner" in await _refusal(
        engine, "ALTER TABLE streaming.recordings DISABLE TRIGGER ALL")
    assert "permission denied" in await _refusal(engine, "TRUNCATE streaming.cameras")
    for table in ("admin.audit_entries", "cidades.cameras"):
        assert "permission denied for schema" in await _refusal(
            engine, f"SELECT 1 FROM {table}")  # noqa: S608


async def test_partitions_are_created_at_run_time_through_the_owners_function(
    engine: AsyncEngine,
) -> None:
    moment = datetime(2033, 7, 9, 12, 0, tzinfo=UTC)
    await ensure_month_partition(engine, moment)
    assert await _scalar(
        engine, "SELECT pg_get_userbyid(relowner) FROM pg_class "
                "WHERE oid = 'streaming.recordings_y2033m07'::regclass",
    ) == db_roles.STREAMING_OWNER
    detections = await _scalar(
        engine, "SELECT ai.ensure_detections_partition(:at)", at=moment)
    assert detections == "detections_y2033m07"
    ids = {"tenant": uuid.uuid4(), "camera": uuid.uuid4(), "at": moment}
    async with engine.begin() as conn:  # the runtime role writes rows into both
        await conn.execute(text("""
            INSERT INTO streaming.recordings (id, tenant_id, camera_id, started_at, ended_at,
                                              object_key, size_bytes)
            VALUES (gen_random_uuid(), :tenant, :camera, :at, :at, 'k', 1)
        """), ids)
        await conn.execute(text("""
            INSERT INTO ai.detections (id, detected_at, tenant_id, camera_id, plate,
                                       plate_style, confidence)
            VALUES (gen_random_uuid(), :at, :tenant, :camera, 'ABC1D23', 'mercosul', 0.9)
        """), ids)


def test_only_the_streaming_role_may_run_the_partition_functions(
    streaming_db_name: str,
) -> None:
    functions = ("streaming.ensure_recordings_partition(timestamptz)",
                 "ai.ensure_detections_partition(timestamptz)",
                 "ai.ensure_detections_partitions_ahead(int)")
    with psycopg.connect(db_roles.database_url(streaming_db_name)) as conn:
        for function in functions:
            row = conn.execute(
                "SELECT p.prosecdef, p.proconfig, "
                "has_function_privilege('gtv_streaming', p.oid, 'EXECUTE'), "
                "has_function_privilege('gtv_admin', p.oid, 'EXECUTE') "
                "FROM pg_proc p WHERE p.oid = %s::regprocedure", [function]).fetchone()
            assert row == (True, ["search_path=pg_catalog, pg_temp"], True, False), function
