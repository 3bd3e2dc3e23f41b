"""``manage.py migrate`` as the owner of the admin service's tables.

The service itself connects as a least-privilege role (``GTV_DATABASE_URL``) that may
read and write rows but not change the schema; migrations need the owner
(``GTV_MIGRATION_DATABASE_URL``, settings.MIGRATION_DATABASE). This command is Django's
``migrate`` run on a connection switched to the owner's credentials for its duration,
against the same database (so the test runner's test database works too).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.conf import settings
from django.core.management.commands import migrate
from django.db import connections


@contextmanager
def as_owner(alias: str) -> Iterator[None]:
    connection = connections[alias]
    saved = {key: connection.settings_dict[key] for key in settings.MIGRATION_DATABASE}
    connection.close()
    connection.settings_dict.update(settings.MIGRATION_DATABASE)
    try:
        yield
    finally:
        connection.close()
        connection.settings_dict.update(saved)


class Command(migrate.Command):
    help = migrate.Command.help + " Connects as the owner role (GTV_MIGRATION_DATABASE_URL)."

    def handle(self, *args: Any, **options: Any) -> None:
        with as_owner(options["database"]):
            super().handle(*args, **options)
