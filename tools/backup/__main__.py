"""``python -m tools.backup``: ``backup``, ``restore``, ``check-keys``, ``drill``.

``make backup [TYPE=full|diff|incr]`` and ``make restore [TARGET_TIME=...]`` call this
for the local Debian cluster (``GTV_PG_CLUSTER``, default ``15 main``) with the
pgBackRest configuration ``GTV_PGBACKREST_CONFIG`` (default /etc/pgbackrest/pgbackrest.conf
when it exists, else deploy/backup/pgbackrest.conf). Runbook: docs/operations.md.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from dataclasses import asdict
from pathlib import Path

from tools.backup.keys import check_camera_credentials
from tools.backup.pgbackrest import CONFIG, PgBackRest, as_owner

SYSTEM_CONFIG = Path("/etc/pgbackrest/pgbackrest.conf")


def _backrest() -> PgBackRest:
    """The installed configuration (pgBackRest's default, which also reads conf.d/ with
    the cipher passphrase), else GTV_PGBACKREST_CONFIG, else the repository's file."""
    configured = os.environ.get("GTV_PGBACKREST_CONFIG")
    if configured:
        return PgBackRest(config=Path(configured))
    return PgBackRest(config=None if SYSTEM_CONFIG.exists() else CONFIG)


def _pg_cluster(action: str) -> None:
    version, name = os.environ.get("GTV_PG_CLUSTER", "15 main").split()
    subprocess.run(as_owner(["pg_ctlcluster", "--skip-systemctl-redirect", version, name,
                             action]), check=True, timeout=300)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.backup", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    backup = sub.add_parser("backup", help="back up the cluster (stanza created if needed)")
    backup.add_argument("--type", choices=("full", "diff", "incr"), default="diff")
    restore = sub.add_parser("restore", help="stop the cluster, restore, start it again")
    restore.add_argument("--target-time", default=None,
                         help="a point in time, e.g. '2026-12-04 21:30:00+00' (default: latest)")
    keys = sub.add_parser("check-keys", help="do the encryption keys fit the database?")
    keys.add_argument("--database-url", default=os.environ.get("GTV_BACKUP_CHECK_DATABASE_URL")
                      or "postgresql://postgres@127.0.0.1:5432/gtvision")
    sub.add_parser("drill", help="the restore drill in a throwaway cluster (prints JSON)")
    args = parser.parse_args(argv)

    if args.command == "backup":
        backrest = _backrest()
        if "missing stanza path" in backrest.info():
            backrest.stanza_create()
        backrest.backup(args.type)
        print(backrest.info())
    elif args.command == "restore":
        backrest = _backrest()
        _pg_cluster("stop")
        backrest.restore(target_time=args.target_time)
        _pg_cluster("start")
        print("restored; now run: python -m tools.backup check-keys")
    elif args.command == "check-keys":
        from shared_kernel.settings import CommonSettings

        key = CommonSettings().camera_credentials_key.get_secret_value()
        result = check_camera_credentials(args.database_url, key)
        print(result.message)
        return 0 if result.ok else 2
    else:
        from tools.backup.drill import run_drill

        print(json.dumps(asdict(run_drill()), indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
