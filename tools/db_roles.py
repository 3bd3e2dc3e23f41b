"""GT-Vision's database roles on a local cluster: bootstrap them in a database, build each
role's connection URL, and make throwaway databases that have them (tests, the demo,
benchmarks).

The roles and their privileges are written down once, in ``deploy/postgres/roles.sql``
(docker compose's ``db-roles`` service runs the same file). This module runs it with
``psql`` as a superuser: ``GTV_DB_SUPERUSER_URL``, by default the local ``postgres`` role
over trust authentication. Role passwords, where the cluster asks for them, come from
``GTV_DB_<ROLE>_PASSWORD`` (see :data:`PASSWORD_ENV`).

    python -m tools.db_roles                    # the database GTV_DB_NAME, else gtvision
    python -m tools.db_roles --database other
"""

from __future__ import annotations

import argparse
import contextlib
import os
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parents[1]
ROLES_SQL = ROOT / "deploy" / "postgres" / "roles.sql"
DEFAULT_SUPERUSER_URL = "postgresql://postgres@127.0.0.1:5432/postgres"

ADMIN_OWNER = "gtv_admin_owner"
ADMIN = "gtv_admin"
STREAMING_OWNER = "gtv_streaming_owner"
STREAMING = "gtv_streaming"
PASSWORD_ENV = {
    ADMIN_OWNER: "GTV_DB_ADMIN_OWNER_PASSWORD",
    ADMIN: "GTV_DB_ADMIN_PASSWORD",
    STREAMING_OWNER: "GTV_DB_STREAMING_OWNER_PASSWORD",
    STREAMING: "GTV_DB_STREAMING_PASSWORD",
}


def superuser_url() -> str:
    return os.environ.get("GTV_DB_SUPERUSER_URL") or DEFAULT_SUPERUSER_URL


def database_url(
    database: str, *, role: str | None = None, base: str | None = None,
    driver: str | None = None,
) -> str:
    """The superuser URL ``base`` pointed at ``database``; as ``role`` (with its password
    from the environment, if set) when one is given; ``driver`` as in ``+asyncpg``."""
    parts = urlsplit(base or superuser_url())
    netloc = parts.netloc
    if role is not None:
        host = netloc.rsplit("@", 1)[-1]
        password = os.environ.get(PASSWORD_ENV[role], "")
        credentials = quote(role, safe="") + (f":{quote(password, safe='')}" if password else "")
        netloc = f"{credentials}@{host}"
    scheme = "postgresql" + (f"+{driver}" if driver else "")
    return urlunsplit((scheme, netloc, "/" + quote(database, safe=""), parts.query, ""))


def service_environment(database: str, *, base: str | None = None) -> dict[str, dict[str, str]]:
    """Per service, the variables that make it run as its runtime role and migrate as its
    owner in ``database``."""
    return {
        "admin": {
            "GTV_DATABASE_URL": database_url(database, role=ADMIN, base=base),
            "GTV_MIGRATION_DATABASE_URL": database_url(database, role=ADMIN_OWNER, base=base),
        },
        "streaming": {
            "GTV_DATABASE_URL": database_url(database, role=STREAMING, base=base),
            "GTV_MIGRATION_DATABASE_URL": database_url(
                database, role=STREAMING_OWNER, base=base),
        },
    }


def _psql(url: str, *args: str) -> None:
    """psql with the password in its environment, not on the command line."""
    parts = urlsplit(url)
    env = dict(os.environ)
    if parts.password:
        env["PGPASSWORD"] = unquote(parts.password)
    netloc = parts.netloc.rsplit("@", 1)
    user = netloc[0].split(":", 1)[0] if len(netloc) == 2 else ""
    conninfo = urlunsplit(("postgresql", f"{user}@{netloc[-1]}" if user else netloc[-1],
                           parts.path, parts.query, ""))
    done = subprocess.run(
        ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", conninfo, *args],
        env=env, capture_output=True, text=True, timeout=120, check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"psql {' '.join(args)} failed: {done.stderr.strip()}")


def bootstrap_roles(database: str, *, base: str | None = None) -> None:
    """Run ``deploy/postgres/roles.sql`` in ``database`` as the superuser (idempotent)."""
    _psql(database_url(database, base=base), "-f", str(ROLES_SQL))


def create_database(name: str, *, base: str | None = None) -> None:
    _psql(base or superuser_url(), "-c", f'CREATE DATABASE "{name}"')


def drop_database(name: str, *, base: str | None = None) -> None:
    _psql(base or superuser_url(), "-c", f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextlib.contextmanager
def private_database(prefix: str, *, base: str | None = None) -> Iterator[str]:
    """A new database ``<prefix>_<random>`` with the roles bootstrapped and nothing
    migrated yet; dropped afterwards."""
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    create_database(name, base=base)
    try:
        bootstrap_roles(name, base=base)
        yield name
    finally:
        drop_database(name, base=base)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m tools.db_roles", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database", default=os.environ.get("GTV_DB_NAME") or "gtvision")
    args = parser.parse_args(argv)
    bootstrap_roles(args.database)
    print(f"roles ready in {args.database}: {ADMIN_OWNER}, {ADMIN}, "
          f"{STREAMING_OWNER}, {STREAMING}")


if __name__ == "__main__":
    main()
