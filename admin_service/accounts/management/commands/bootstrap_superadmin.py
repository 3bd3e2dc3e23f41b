"""Create the first superadmin from GTV_SUPERADMIN_USERNAME / GTV_SUPERADMIN_PASSWORD.

Idempotent: an existing user of that name is left as it is (its password is only reset
with --reset-password). Without GTV_SUPERADMIN_PASSWORD a strong password is generated
and printed once.
"""

from __future__ import annotations

import os
import secrets
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from accounts import services
from accounts.models import User


class Command(BaseCommand):
    help = "Create (or confirm) the global superadmin from the environment."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--reset-password", action="store_true",
                            help="Set the password again when the user already exists.")

    def handle(self, *args: Any, **options: Any) -> None:
        username = os.environ.get("GTV_SUPERADMIN_USERNAME", "admin").strip() or "admin"
        password = os.environ.get("GTV_SUPERADMIN_PASSWORD", "")
        generated = not password
        if generated:
            password = secrets.token_urlsafe(18)
        existing = User.objects.filter(username=username).first()
        if existing is not None:
            if not existing.is_superadmin:
                self.stderr.write(f"user {username!r} exists and is not a superadmin; left alone")
                return
            if options["reset_password"]:
                services.update_user(existing, changes={"password": password, "is_active": True},
                                     actor=None)
                self._report(username, password, generated, "password reset")
            else:
                self.stdout.write(f"superadmin {username!r} already exists")
            return
        services.create_user(
            data={"username": username, "password": password, "is_superadmin": True},
            actor=None,
        )
        self._report(username, password, generated, "created")

    def _report(self, username: str, password: str, generated: bool, what: str) -> None:
        self.stdout.write(f"superadmin {username!r} {what}")
        if generated:
            self.stdout.write(f"generated password: {password}")
