"""``manage.py migrate`` connects as the owner role, to the service's own database."""

from __future__ import annotations

from typing import Any

from django.db import connections
from tenancy.management.commands.migrate import as_owner


def test_migrate_switches_to_the_owners_credentials_and_back(settings: Any) -> None:
    settings.MIGRATION_DATABASE = {"USER": "gtv_admin_owner", "PASSWORD": "owner-secret",
                                   "HOST": "db.internal", "PORT": "6432"}
    connection = connections["default"]
    before = dict(connection.settings_dict)
    with as_owner("default"):
        assert connection.settings_dict["USER"] == "gtv_admin_owner"
        assert connection.settings_dict["PASSWORD"] == "owner-secret"
        assert connection.settings_dict["HOST"] == "db.internal"
        assert connection.settings_dict["NAME"] == before["NAME"]
    assert dict(connection.settings_dict) == before


def test_the_service_itself_is_configured_with_the_runtime_role() -> None:
    from django.conf import settings

    assert settings.DATABASES["default"]["USER"] == "gtv_admin"
    assert settings.MIGRATION_DATABASE["USER"] == "gtv_admin_owner"
    assert "NAME" not in settings.MIGRATION_DATABASE
