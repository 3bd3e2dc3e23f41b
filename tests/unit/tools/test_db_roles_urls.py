"""Connection URLs of the database roles: each service runs as its least-privilege role
and migrates as its owner, in the same database, by default and under overrides."""

from __future__ import annotations

import pytest

from streaming_service.settings import StreamingSettings
from tools import db_roles


def test_streaming_runs_as_its_role_and_migrates_as_its_owner_by_default(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in ("GTV_DATABASE_URL", "GTV_MIGRATION_DATABASE_URL", "GTV_STREAMING_DB_NAME"):
        monkeypatch.delenv(name, raising=False)
    settings = StreamingSettings(streaming_db_name="gtv_run_1")
    assert settings.async_database_url == (
        "postgresql+asyncpg://gtv_streaming@127.0.0.1:5432/gtv_run_1")
    assert settings.async_migration_database_url == (
        "postgresql+asyncpg://gtv_streaming_owner@127.0.0.1:5432/gtv_run_1")


def test_service_environment_names_each_services_roles_with_passwords_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("GTV_DB_SUPERUSER_URL", "postgresql://root:su@db.internal:6432/postgres")
    monkeypatch.setenv("GTV_DB_STREAMING_PASSWORD", "p@ss/word")
    for role in (db_roles.ADMIN, db_roles.ADMIN_OWNER, db_roles.STREAMING_OWNER):
        monkeypatch.delenv(db_roles.PASSWORD_ENV[role], raising=False)
    env = db_roles.service_environment("demo")
    assert env["admin"] == {
        "GTV_DATABASE_URL": "postgresql://gtv_admin@db.internal:6432/demo",
        "GTV_MIGRATION_DATABASE_URL": "postgresql://gtv_admin_owner@db.internal:6432/demo",
    }
    assert env["streaming"]["GTV_DATABASE_URL"] == (
        "postgresql://gtv_streaming:p%40ss%2Fword@db.internal:6432/demo")
    assert db_roles.database_url("demo", driver="asyncpg") == (
        "postgresql+asyncpg://root:su@db.internal:6432/demo")
