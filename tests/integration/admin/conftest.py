"""Fixtures for the admin service's integration tests (real PostgreSQL, Redis, RabbitMQ)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest


@pytest.fixture(autouse=True)
def _schema_aware_flush(request: pytest.FixtureRequest) -> Iterator[None]:
    """Let ``transaction=True`` tests flush tables in the ``admin``/``cidades`` schemas.

    ``config.db`` (the schema-aware PostgreSQL backend) does this for real once
    ``DATABASES["default"]["ENGINE"]`` names it; until then the default connection's
    introspection is upgraded in place. A no-op for tests without database access.
    """
    if "transactional_db" not in request.fixturenames and not any(
        m.kwargs.get("transaction") for m in request.node.iter_markers("django_db")
    ):
        yield
        return
    from django.db import connections

    from config.db.base import DatabaseIntrospection

    for alias in connections:
        introspection = connections[alias].introspection
        if not isinstance(introspection, DatabaseIntrospection):
            introspection.__class__ = DatabaseIntrospection
    yield
