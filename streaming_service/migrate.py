"""``python -m streaming_service.migrate``: bring the streaming database to the latest
schema (``alembic upgrade head``), connected as the owner of its schemas
(``GTV_MIGRATION_DATABASE_URL``), not as the service's runtime role."""

from __future__ import annotations

import argparse
from pathlib import Path

from alembic import command
from alembic.config import Config

from streaming_service.settings import StreamingSettings

ALEMBIC_INI = Path(__file__).resolve().parent / "alembic.ini"


def alembic_config(database_url: str | None = None) -> Config:
    config = Config(str(ALEMBIC_INI))
    config.set_main_option(
        "gtv.database_url", database_url or StreamingSettings().async_migration_database_url
    )
    return config


def upgrade(database_url: str | None = None, revision: str = "head") -> None:
    """Run from synchronous code only (Alembic's env runs its own event loop)."""
    command.upgrade(alembic_config(database_url), revision)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("revision", nargs="?", default="head")
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    upgrade(args.database_url, args.revision)


if __name__ == "__main__":
    main()
