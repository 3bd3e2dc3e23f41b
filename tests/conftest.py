"""Fixtures shared by every test level: real services on 127.0.0.1, isolated per run."""

from __future__ import annotations

import os
import subprocess
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import quote

import pytest

from tools import db_roles

AMQP_HOST = os.environ.get("GTV_TEST_AMQP_HOST", "127.0.0.1:5672")


def _rabbitmqctl(*args: str) -> None:
    subprocess.run(["rabbitmqctl", "-q", *args], check=True, capture_output=True, timeout=60)


@contextmanager
def _private_vhost() -> Iterator[str]:
    vhost = f"gtv-test-{uuid.uuid4().hex[:10]}"
    _rabbitmqctl("add_vhost", vhost)
    _rabbitmqctl("set_permissions", "-p", vhost, "guest", ".*", ".*", ".*")
    try:
        yield vhost
    finally:
        _rabbitmqctl("delete_vhost", vhost)


def _url(vhost: str) -> str:
    return f"amqp://guest:guest@{AMQP_HOST}/{quote(vhost, safe='')}"


@pytest.fixture(scope="session")
def rabbitmq_vhost() -> Iterator[str]:
    """A private RabbitMQ virtual host for this test session, deleted afterwards.

    Tests of the bus declare the real topology (fanout ``domain.events`` and friends), so
    a vhost of their own keeps parallel runs and leftover queues from seeing each other.
    """
    with _private_vhost() as vhost:
        yield vhost


@pytest.fixture(scope="session")
def amqp_url(rabbitmq_vhost: str) -> str:
    return _url(rabbitmq_vhost)


@pytest.fixture(scope="module")
def isolated_amqp_url() -> Iterator[str]:
    """A vhost for one module whose tests publish arbitrary events to the fanout exchange,
    so they reach no other module's queues."""
    with _private_vhost() as vhost:
        yield _url(vhost)


# --- the admin service's test database, with the production roles ------------------------


@pytest.fixture(scope="session")
def django_db_setup(
    django_test_environment: None,
    django_db_blocker: Any,
    django_db_keepdb: bool,
    django_db_createdb: bool,
) -> Iterator[None]:
    """pytest-django's test database, set up the way production is: a superuser creates
    it and bootstraps the roles (deploy/postgres/roles.sql), ``manage.py migrate``
    migrates it as the owner ``gtv_admin_owner``, and the code under test connects as the
    least-privilege ``gtv_admin`` (settings.DATABASES), so a privilege the service lacks
    fails here as it would in production.

    Between ``transaction=True`` tests Django flushes every table with TRUNCATE, which
    the runtime role may not do and the audit log's trigger refuses to anyone: the test
    harness (not the code under test) flushes as the superuser, triggers off.
    """
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection
    from django.db.backends.postgresql.operations import DatabaseOperations

    original = connection.settings_dict["NAME"]
    name = f"test_{original}"
    keep = django_db_keepdb and not django_db_createdb
    patch = pytest.MonkeyPatch()
    with django_db_blocker.unblock():
        connection.close()
        if not keep:
            db_roles.drop_database(name)
        if not keep or not _database_exists(name):
            db_roles.create_database(name)
        db_roles.bootstrap_roles(name)
        settings.DATABASES["default"]["NAME"] = connection.settings_dict["NAME"] = name
        call_command("migrate", verbosity=0, interactive=False)
        patch.setattr(DatabaseOperations, "execute_sql_flush", _flush_as_superuser)
    yield
    patch.undo()
    with django_db_blocker.unblock():
        connection.close()
        settings.DATABASES["default"]["NAME"] = connection.settings_dict["NAME"] = original
        if not keep:
            db_roles.drop_database(name)


def _database_exists(name: str) -> bool:
    import psycopg

    with psycopg.connect(db_roles.superuser_url(), autocommit=True) as conn:
        return conn.execute("SELECT 1 FROM pg_database WHERE datname = %s",
                            [name]).fetchone() is not None


def _flush_as_superuser(ops: Any, sql_list: list[str]) -> None:
    import psycopg

    url = db_roles.database_url(ops.connection.settings_dict["NAME"])
    with psycopg.connect(url) as conn:  # one transaction, committed on leaving the block
        conn.execute("SET LOCAL session_replication_role = replica")
        for sql in sql_list:
            conn.execute(sql)
