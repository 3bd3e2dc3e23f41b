"""The admin service's database roles (deploy/postgres/roles.sql): the service runs as
``gtv_admin``, which reads and writes rows of its own tables only; the migrations ran as
``gtv_admin_owner``; the audit log refuses UPDATE, DELETE and TRUNCATE to the runtime
role by privilege and to everyone, its owner included, by trigger."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import psycopg
import pytest
from audit.models import AuditEntry
from audit.services import record
from django.db import DatabaseError, connection, transaction

from tools import db_roles

INSERT_ENTRY = """
INSERT INTO admin.audit_entries (id, occurred_at, username, action, object_type,
                                 user_agent, correlation_id)
VALUES (%s, now(), 'ana', 'camera.update', 'camera', '', '')
"""


def _sqlstate(error: BaseException) -> str | None:
    return getattr(error.__cause__, "sqlstate", None)


def _refused(sql: str, params: list[Any] | None = None) -> DatabaseError:
    """Run ``sql`` on the service's own connection; return the error it must raise."""
    with pytest.raises(DatabaseError) as caught, transaction.atomic(), \
            connection.cursor() as cursor:
        cursor.execute(sql, params)
    return caught.value


@pytest.mark.django_db
def test_the_service_connects_as_a_plain_least_privilege_role() -> None:
    with connection.cursor() as cursor:
        cursor.execute("""
            SELECT current_user, r.rolsuper, r.rolcreatedb, r.rolcreaterole, r.rolbypassrls,
                   r.rolreplication,
                   (SELECT count(*) FROM pg_auth_members m WHERE m.member = r.oid),
                   (SELECT count(*) FROM pg_class c WHERE c.relowner = r.oid)
            FROM pg_roles r WHERE r.rolname = current_user
        """)
        row = cursor.fetchone()
    assert row == (db_roles.ADMIN, False, False, False, False, False, 0, 0)


@pytest.mark.django_db
def test_the_migrations_ran_as_the_owner_and_the_runtime_role_has_no_ddl() -> None:
    with connection.cursor() as cursor:
        cursor.execute("""
            SELECT DISTINCT pg_get_userbyid(c.relowner) FROM pg_class c
            WHERE c.relnamespace::regnamespace::text IN ('admin', 'cidades', 'public')
              AND c.relkind IN ('r', 'p', 'v', 'S')
              AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = c.oid
                              AND d.deptype = 'e')
        """)
        owners = {row[0] for row in cursor.fetchall()}
        cursor.execute("""
            SELECT s, has_schema_privilege(current_user, s, 'CREATE')
            FROM unnest(ARRAY['admin', 'cidades', 'public', 'streaming', 'ai']) AS s
        """)
        create = dict(cursor.fetchall())
    assert owners == {db_roles.ADMIN_OWNER}
    assert create == dict.fromkeys(("admin", "cidades", "public", "streaming", "ai"), False)
    error = _refused("CREATE TABLE admin.scratch (id int)")
    assert _sqlstate(error) == "42501"
    error = _refused("ALTER TABLE admin.audit_entries DISABLE TRIGGER USER")
    assert "must be owner" in str(error)


@pytest.mark.django_db
@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE admin.audit_entries SET action = 'tampered' WHERE id = %s",
        "UPDATE admin.audit_entries SET after = '{}'::jsonb WHERE id = %s",
        "DELETE FROM admin.audit_entries WHERE id = %s",
        "TRUNCATE admin.audit_entries",
        "TRUNCATE admin.users CASCADE",
    ],
)
def test_the_runtime_role_may_not_update_delete_or_truncate_audit_entries(sql: str) -> None:
    entry = record(action="camera.update", object_type="camera", object_id="c-1",
                   tenant_id=uuid.uuid4())
    error = _refused(sql, [entry.pk] if "%s" in sql else None)
    assert _sqlstate(error) == "42501"
    assert "permission denied" in str(error)
    assert AuditEntry.objects.get(pk=entry.pk).action == "camera.update"


@pytest.mark.django_db
def test_the_runtime_role_may_only_clear_the_actor_of_an_entry() -> None:
    """The column grant lets Django's SET_NULL through; the trigger allows nothing else."""
    from tests.factories import UserFactory

    user, other = UserFactory(), UserFactory()
    entry = record(action="camera.update", object_type="camera", object_id=None,
                   tenant_id=None, actor=user)
    error = _refused("UPDATE admin.audit_entries SET actor_id = %s WHERE id = %s",
                     [other.pk, entry.pk])
    assert "append-only" in str(error)
    with connection.cursor() as cursor:
        cursor.execute("UPDATE admin.audit_entries SET actor_id = NULL WHERE id = %s",
                       [entry.pk])
    assert AuditEntry.objects.get(pk=entry.pk).actor_id is None


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE admin.audit_entries SET action = 'tampered' WHERE id = %(id)s",
        "DELETE FROM admin.audit_entries WHERE id = %(id)s",
        "TRUNCATE admin.audit_entries",
        "TRUNCATE admin.users CASCADE",
    ],
)
def test_even_the_owner_is_refused_by_the_append_only_triggers(
    sql: str, connect_as: Callable[[str], psycopg.Connection[Any]],
) -> None:
    owner = connect_as(db_roles.ADMIN_OWNER)
    entry_id = uuid.uuid4()
    if "%(id)s" in sql:  # row triggers need a row; the TRUNCATE trigger fires regardless
        owner.execute(INSERT_ENTRY, [entry_id])
    with pytest.raises(psycopg.errors.InsufficientPrivilege, match="append-only"):
        owner.execute(sql, {"id": entry_id})


def test_the_streaming_role_cannot_touch_the_admin_schemas(
    connect_as: Callable[[str], psycopg.Connection[Any]],
) -> None:
    streaming = connect_as(db_roles.STREAMING)
    for table in ("admin.audit_entries", "admin.users", "cidades.cameras"):
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="schema"):
            streaming.execute(f"SELECT 1 FROM {table} LIMIT 1")  # noqa: S608
        streaming.rollback()
    with pytest.raises(psycopg.errors.InsufficientPrivilege, match="django_session"):
        streaming.execute("SELECT 1 FROM django_session LIMIT 1")


@pytest.mark.django_db
def test_the_admin_role_cannot_use_the_streaming_schemas() -> None:
    for schema in ("streaming", "ai"):
        error = _refused(f"CREATE TABLE {schema}.scratch (id int)")
        assert f"permission denied for schema {schema}" in str(error)
    with connection.cursor() as cursor:
        cursor.execute("SELECT has_schema_privilege('streaming', 'USAGE'), "
                       "has_schema_privilege('ai', 'USAGE')")
        assert cursor.fetchone() == (False, False)
