"""Fixtures for the admin service's integration tests (real PostgreSQL, Redis, RabbitMQ)."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from rest_framework.test import APIClient

from shared_kernel.camera_network import CameraNetworkPolicy
from tools import db_roles

ROOT = Path(__file__).resolve().parents[3]
GUNICORN_CONF = ROOT / "admin_service" / "gunicorn.conf.py"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def gunicorn_server(cwd: Path, *, workers: int = 2,
                    env: Mapping[str, str] | None = None) -> Iterator[str]:
    """The admin service under gunicorn (its real config) on a free port, as deployed;
    yields the base URL once ``/health`` answers, stops it afterwards."""
    port = _free_port()
    server = subprocess.Popen(
        [str(Path(sys.executable).parent / "gunicorn"), "-c", str(GUNICORN_CONF),
         "--bind", f"127.0.0.1:{port}", "--workers", str(workers),
         "--access-logfile", "/dev/null"],
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings", **(env or {})},
        cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                # A generous timeout: a probe given up on would still be answered (and
                # counted in /metrics) later. Refused connections fail at once anyway.
                httpx.get(f"{base}/health", timeout=15)
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline or server.poll() is not None:
                    server.kill()
                    pytest.fail(f"gunicorn did not start: {server.communicate()[1][-2000:]!r}")
                time.sleep(0.2)
        yield base
    finally:
        server.terminate()
        server.wait(timeout=15)

# --- API fixtures: tenants, a user per role, clients with tokens -------------------------


ROLES = ("viewer", "operator", "tenant_admin")


# The private network the tests' cameras pretend to live on (tests/factories.py uses
# 10.0.0.5): allowed explicitly, as an operator lists their camera networks.
TEST_CAMERA_NETWORKS = ("10.0.0.0/8",)


@pytest.fixture(autouse=True)
def _api_test_settings(settings: Any) -> None:
    """Fast hashing, no login throttling, cache keys of this test only, and a camera
    network policy that allows the tests' camera network (and nothing local)."""
    settings.CAMERA_NETWORK_POLICY = CameraNetworkPolicy.from_strings(
        allowed=TEST_CAMERA_NETWORKS)
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.LOGIN_THROTTLE_RATE = "10000/min"
    caches = {k: dict(v) for k, v in settings.CACHES.items()}
    caches["default"]["KEY_PREFIX"] = f"gtv:test:{uuid.uuid4().hex[:12]}"
    settings.CACHES = caches


@dataclass
class TenantUsers:
    tenant: Any
    viewer: Any
    operator: Any
    tenant_admin: Any

    def by_role(self, role: str) -> Any:
        return getattr(self, role)


def _tenant_users(slug: str) -> TenantUsers:
    from tests.factories import TenantFactory, UserFactory

    tenant = TenantFactory(name=f"Prefeitura {slug}", slug=slug)
    users = {role: UserFactory(username=f"{slug}-{role}", tenant=tenant, role=role)
             for role in ROLES}
    return TenantUsers(tenant=tenant, **users)


@pytest.fixture
def tenant_a(db: None) -> TenantUsers:
    return _tenant_users("alpha")


@pytest.fixture
def tenant_b(db: None) -> TenantUsers:
    return _tenant_users("beta")


@pytest.fixture
def superadmin(db: None) -> Any:
    from tests.factories import SuperadminFactory

    return SuperadminFactory(username="root")


@pytest.fixture
def api() -> APIClient:
    return APIClient()


def tokens_for(user: Any) -> dict[str, str]:
    from accounts.tokens import issue_pair

    return issue_pair(user)


@pytest.fixture
def client_for() -> Callable[[Any], APIClient]:
    """An API client authenticated as ``user`` with a freshly issued access token."""

    def make(user: Any) -> APIClient:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens_for(user)['access']}")
        return client

    return make


# --- the database as other roles ---------------------------------------------------------


@pytest.fixture
def connect_as(django_db_setup: None) -> Iterator[Callable[[str], psycopg.Connection[Any]]]:
    """Connections to the test database as another role (the owner that migrations run
    as, the streaming service's role); each is rolled back and closed after the test.
    Tests using it leave Django's own connection alone: its open test transaction would
    hold locks that TRUNCATE waits for."""
    from django.db import connection

    opened: list[psycopg.Connection[Any]] = []

    def connect(role: str) -> psycopg.Connection[Any]:
        conn = psycopg.connect(
            db_roles.database_url(connection.settings_dict["NAME"], role=role))
        conn.execute("SET lock_timeout = '10s'")
        opened.append(conn)
        return conn

    yield connect
    for conn in opened:
        conn.rollback()
        conn.close()
