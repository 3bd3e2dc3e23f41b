"""The configured database backend sees the tables in the ``admin``/``cidades`` schemas,
so ``flush`` (between ``transaction=True`` tests, ``manage.py flush``) empties them."""

from __future__ import annotations

import pytest
from cameras.models import Camera
from config.db.base import DatabaseIntrospection
from django.conf import settings
from django.core.management import call_command
from django.db import connection

from tests.factories import CameraFactory


def test_the_configured_engine_is_the_schema_aware_backend() -> None:
    assert settings.DATABASES["default"]["ENGINE"] == "config.db"
    assert isinstance(connection.introspection, DatabaseIntrospection)


@pytest.mark.django_db
def test_introspection_lists_schema_tables_under_the_models_names() -> None:
    names = connection.introspection.django_table_names(only_existing=True)
    assert {'cidades"."cameras', 'admin"."users', 'admin"."audit_entries'} <= set(names)


@pytest.mark.django_db(transaction=True)
def test_flush_empties_schema_tables() -> None:
    CameraFactory()
    call_command("flush", "--noinput", verbosity=0)
    assert Camera.all_objects.count() == 0
