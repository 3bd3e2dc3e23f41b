"""The restore drill: prove that a backup restores, and measure how long it takes (RTO)
and how much is lost (RPO).

1. A throwaway PostgreSQL cluster (Debian's initdb/pg_ctl, a temporary directory, its own
   port on 127.0.0.1) archiving WAL with pgBackRest, configured from
   ``deploy/backup/pgbackrest.conf`` and ``postgresql-archiving.conf``.
2. The production roles, both services' migrations (each as its owner) and a seed
   (``manage.py seed_demo``: a tenant, users, cameras with encrypted credentials).
3. A full backup; writes keep coming (audit entries through the admin role, detections
   through the streaming role); a differential backup in between.
4. The cluster is killed and its data directory deleted.
5. Restore of the latest state: RTO (restore + recovery until it accepts writes) and RPO
   (time between the last write before the loss and the last write recovered).
   Verified: the seed's row counts, the audit log as a prefix of what was written (same
   rows, same order; still append-only), the services' migrations at head, a query as
   each runtime role, and the camera-credentials key check (and that a wrong key is
   reported).
6. Restore to a point in time in the middle of the writes: exactly the writes committed
   up to then are there.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg

from tools import db_roles
from tools.backup.keys import check_camera_credentials
from tools.backup.pgbackrest import PG_OWNER, ROOT, STANZA, Cluster, PgBackRest, render_config

DATABASE = "gtvision"
SEED_TABLES = ("cidades.tenants", "cidades.cameras", "admin.users", "streaming.alembic_version")
AUDIT_ORDER = "ORDER BY occurred_at, id"


@dataclass
class DrillResult:
    database_bytes: int = 0
    backup_seconds: float = 0.0
    writes: int = 0
    rto_seconds: float = 0.0
    """Latest-state restore: pgBackRest restore + start + WAL replay until writable."""
    restore_seconds: float = 0.0
    recovery_seconds: float = 0.0
    rpo_seconds: float = 0.0
    """Time between the last write committed before the loss and the last one recovered."""
    lost_writes: int = 0
    archive_timeout_seconds: int = 0
    pitr_writes_expected: int = 0
    pitr_writes_found: int = 0
    seed_counts: dict[str, int] = field(default_factory=dict)
    restored_counts: dict[str, int] = field(default_factory=dict)
    audit_prefix_intact: bool = False
    audit_append_only: bool = False
    migrations_at_head: bool = False
    runtime_roles_query: bool = False
    keys_ok: bool = False
    wrong_key_reported: bool = False
    wrong_key_message: str = ""
    drill_seconds: float = 0.0


def pgbackrest_time(at: datetime) -> str:
    """``at`` in pgBackRest's format (milliseconds, UTC), rounded up: a target taken just
    after a commit stays after it."""
    at = at.astimezone(UTC)
    millis = (at.microsecond + 999) // 1000
    at = at.replace(microsecond=0) + timedelta(milliseconds=millis)
    return at.strftime("%Y-%m-%d %H:%M:%S.") + f"{at.microsecond // 1000:03d}+00"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _python_env(extra: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("GTV_DB_NAME", "GTV_STREAMING_DB_NAME", "PGHOST", "PGPORT")}
    env.update({"PYTHONPATH": f"{ROOT}{os.pathsep}{ROOT / 'admin_service'}",
                "DJANGO_SETTINGS_MODULE": "config.settings"})
    env.update(extra)
    return env


def _run_python(args: list[str], env: dict[str, str], timeout: float = 300) -> str:
    done = subprocess.run([sys.executable, *args], env=env, cwd=ROOT, capture_output=True,
                          text=True, timeout=timeout, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(args[:3])} failed: {(done.stderr or done.stdout)[-2000:]}")
    return done.stdout


def _audit_rows(conn: psycopg.Connection[Any]) -> list[tuple[str, ...]]:
    rows = conn.execute(
        f"SELECT id::text, occurred_at::text, action, coalesce(object_id, '') "  # noqa: S608
        f"FROM admin.audit_entries {AUDIT_ORDER}").fetchall()
    return [tuple(r) for r in rows]


def _digest(rows: list[tuple[str, ...]]) -> str:
    """A running hash over the ordered audit entries: equal digests, equal chain."""
    h = hashlib.sha256()
    for row in rows:
        h.update("\x1f".join(row).encode())
        h.update(b"\x1e")
    return h.hexdigest()


class Writer(threading.Thread):
    """Commits one audit entry (admin role) every ``interval`` s, and a detection
    (streaming role) every fifth time; remembers each write's commit time (DB clock)."""

    def __init__(self, cluster: Cluster, interval: float = 0.1) -> None:
        super().__init__(daemon=True)
        self.cluster = cluster
        self.interval = interval
        self.committed: list[datetime] = []
        self.stop_event = threading.Event()
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            admin = psycopg.connect(self.cluster.url(DATABASE, db_roles.ADMIN), autocommit=True)
            streaming = psycopg.connect(self.cluster.url(DATABASE, db_roles.STREAMING),
                                        autocommit=True)
            streaming.execute("SELECT ai.ensure_detections_partition(now())")
        except BaseException as exc:
            self.error = exc
            return
        n = 0
        while not self.stop_event.is_set():
            n += 1
            try:
                admin.execute(
                    "INSERT INTO admin.audit_entries (id, occurred_at, username, action, "
                    "object_type, object_id, user_agent, correlation_id) "
                    "VALUES (%s, clock_timestamp(), 'drill', 'drill.write', 'drill', %s, '', '')",
                    (uuid.uuid4(), str(n)))
                if n % 5 == 0:
                    streaming.execute(
                        "INSERT INTO ai.detections (id, detected_at, tenant_id, camera_id, plate,"
                        " plate_style, confidence, reads, metadata) VALUES (%s, now(), %s, %s, "
                        "'DRL1234', 'old', 0.9, 1, '{}')",
                        (uuid.uuid4(), uuid.uuid4(), uuid.uuid4()))
                row = admin.execute("SELECT clock_timestamp()").fetchone()
            except psycopg.Error:
                break  # the cluster is gone: the drill destroyed it
            assert row is not None
            self.committed.append(row[0])
            self.stop_event.wait(self.interval)
        for conn in (admin, streaming):
            with contextlib.suppress(Exception):
                conn.close()


@contextlib.contextmanager
def drill_workspace() -> Iterator[Path]:
    """A directory the cluster's owner may write (root's pytest tmp dirs are private)."""
    base = Path(tempfile.mkdtemp(prefix="gtv-drill-"))
    try:
        for sub in ("pgdata", "repo", "log", "lock"):
            (base / sub).mkdir(mode=0o700)
        if os.geteuid() == 0:
            for path in (base, *base.iterdir()):
                shutil.chown(path, PG_OWNER, PG_OWNER)
        yield base
    finally:
        shutil.rmtree(base, ignore_errors=True)


def _wait_writable(cluster: Cluster, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with psycopg.connect(cluster.url(), connect_timeout=3, autocommit=True) as conn:
                row = conn.execute("SELECT pg_is_in_recovery()").fetchone()
                if row is not None and not row[0]:
                    return
        except psycopg.OperationalError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError("the restored cluster did not leave recovery in time")
        time.sleep(0.1)


def _counts(conn: psycopg.Connection[Any]) -> dict[str, int]:
    counts = {}
    for table in SEED_TABLES:
        row = conn.execute(f"SELECT count(*) FROM {table}").fetchone()  # noqa: S608
        counts[table] = int(row[0]) if row else -1
    return counts


def _drill_writes(conn: psycopg.Connection[Any]) -> list[int]:
    rows = conn.execute("SELECT object_id::int FROM admin.audit_entries "
                        "WHERE action = 'drill.write' ORDER BY 1").fetchall()
    return [int(r[0]) for r in rows]


def run_drill(*, write_seconds: float = 10.0, archive_timeout: int = 5,
              keys: str | None = None) -> DrillResult:
    """Run the whole drill in a temporary directory; everything it starts is stopped."""
    from shared_kernel.settings import CommonSettings

    started = time.monotonic()
    result = DrillResult(archive_timeout_seconds=archive_timeout)
    keys = keys or CommonSettings().camera_credentials_key.get_secret_value()
    with drill_workspace() as base:
        port = _free_port()
        cluster = Cluster(data=base / "pgdata", port=port, socket_dir=base,
                          log=base / "log" / "postgresql.log")
        config = base / "pgbackrest.conf"
        config.write_text(render_config({
            "global": {"repo1-path": str(base / "repo"), "log-path": str(base / "log"),
                       "lock-path": str(base / "lock"), "log-level-console": "warn",
                       "process-max": "1", "compress-level": "1",
                       # The production repository is encrypted; so is the drill's.
                       "repo1-cipher-pass": secrets.token_urlsafe(24)},
            STANZA: {"pg1-path": str(cluster.data), "pg1-port": str(port),
                     "pg1-socket-path": str(base)},
        }))
        config.chmod(0o600)
        if os.geteuid() == 0:
            shutil.chown(config, PG_OWNER, PG_OWNER)
        backrest = PgBackRest(config=config)
        try:
            _prepare(cluster, backrest, archive_timeout, keys)
            _backup_write_destroy_restore(cluster, backrest, result, write_seconds, keys)
        finally:
            if cluster.is_running():
                with contextlib.suppress(Exception):
                    cluster.stop("immediate")
    result.drill_seconds = round(time.monotonic() - started, 1)
    return result


def _prepare(cluster: Cluster, backrest: PgBackRest, archive_timeout: int, keys: str) -> None:
    cluster.initdb()
    cluster.configure(backrest.archive_command(), archive_timeout=f"{archive_timeout}s")
    cluster.start()
    superuser = cluster.url()
    with psycopg.connect(superuser, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{DATABASE}"')
    with psycopg.connect(cluster.url(DATABASE), autocommit=True) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    db_roles.bootstrap_roles(DATABASE, base=superuser)
    roles = db_roles.service_environment(DATABASE, base=superuser)
    # The seed's cameras point at the loopback simulator address, as the demo's do.
    common = {"GTV_CAMERA_CREDENTIALS_KEY": keys,
              "GTV_CAMERA_ALLOWED_NETWORKS": "127.0.0.0/8"}
    _run_python(["admin_service/manage.py", "migrate", "--noinput", "-v0"],
                _python_env({**roles["admin"], **common}))
    _run_python(["-m", "streaming_service.migrate"], _python_env({**roles["streaming"], **common}))
    _run_python(["admin_service/manage.py", "seed_demo", "--password=drill-Passw0rd!",
                 "--cameras", "2", "--camera-url", "rtsp://drill:s3cret@127.0.0.1:8554/cam1",
                 "--camera-url", "rtsp://drill:s3cret@127.0.0.1:8554/cam2"],
                _python_env({**roles["admin"], **common}))
    backrest.stanza_create()


def _backup_write_destroy_restore(cluster: Cluster, backrest: PgBackRest, result: DrillResult,
                                  write_seconds: float, keys: str) -> None:
    with psycopg.connect(cluster.url(DATABASE)) as conn:
        result.seed_counts = _counts(conn)
        seed_audit = len(_audit_rows(conn))
        size = conn.execute("SELECT pg_database_size(current_database())").fetchone()
        result.database_bytes = int(size[0]) if size else 0
    t0 = time.monotonic()
    backrest.backup("full")
    result.backup_seconds = round(time.monotonic() - t0, 2)

    writer = Writer(cluster)
    writer.start()
    time.sleep(write_seconds * 0.25)
    backrest.backup("diff")
    time.sleep(write_seconds * 0.75)
    if writer.error is not None:
        raise RuntimeError(f"the writer could not start: {writer.error}")
    # The point in time to restore to later: just after a write in the middle.
    pitr_index = len(writer.committed) // 2
    pitr_target = writer.committed[pitr_index - 1]
    with psycopg.connect(cluster.url(DATABASE)) as conn:
        written_audit = _audit_rows(conn)
    # The server is lost while writes keep coming.
    cluster.crash_and_destroy()
    lost_at = datetime.now(UTC)
    writer.stop_event.set()
    writer.join(10)
    result.writes = len(writer.committed)

    t0 = time.monotonic()
    backrest.restore()
    result.restore_seconds = round(time.monotonic() - t0, 2)
    t1 = time.monotonic()
    cluster.start()
    _wait_writable(cluster)
    result.recovery_seconds = round(time.monotonic() - t1, 2)
    result.rto_seconds = round(time.monotonic() - t0, 2)

    with psycopg.connect(cluster.url(DATABASE)) as conn:
        recovered = _drill_writes(conn)
        result.restored_counts = _counts(conn)
        restored_audit = _audit_rows(conn)
        # Same entries in the same order as written, up to where the restore ends (writes
        # after the loss are gone, writes after the snapshot may be back); the seed's
        # entries all there.
        common = min(len(restored_audit), len(written_audit))
        result.audit_prefix_intact = (
            common >= seed_audit
            and _digest(restored_audit[:common]) == _digest(written_audit[:common]))
        try:
            conn.execute("UPDATE admin.audit_entries SET action = 'x.y' "
                         "WHERE id = (SELECT id FROM admin.audit_entries LIMIT 1)")
        except psycopg.Error:
            result.audit_append_only = True
            conn.rollback()
    last = max(recovered) if recovered else 0
    result.lost_writes = result.writes - len(recovered)
    if recovered == list(range(1, last + 1)) and last:
        result.rpo_seconds = round((lost_at - writer.committed[last - 1]).total_seconds(), 2)
    else:
        result.rpo_seconds = float("inf")

    _check_services(cluster, result, keys)

    # Point in time: back to the middle of the writes.
    cluster.stop()
    backrest.restore(target_time=pgbackrest_time(pitr_target))
    cluster.start()
    _wait_writable(cluster)
    with psycopg.connect(cluster.url(DATABASE)) as conn:
        found = _drill_writes(conn)
    result.pitr_writes_expected = pitr_index
    result.pitr_writes_found = len(found) if found == list(range(1, len(found) + 1)) else -1


def _check_services(cluster: Cluster, result: DrillResult, keys: str) -> None:
    """Both services start against the restored database: their migrations are at head
    (nothing to apply), each runtime role can query its tables, and the keys fit."""
    superuser = cluster.url()
    roles = db_roles.service_environment(DATABASE, base=superuser)
    common = {"GTV_CAMERA_CREDENTIALS_KEY": keys}
    _run_python(["admin_service/manage.py", "migrate", "--check", "-v0"],
                _python_env({**roles["admin"], **common}))
    heads = _run_python(["-c", (
        "from alembic.script import ScriptDirectory; "
        "from streaming_service.migrate import alembic_config; "
        "print(ScriptDirectory.from_config(alembic_config('unused')).get_current_head())")],
        _python_env({**roles["streaming"], **common})).strip()
    with psycopg.connect(cluster.url(DATABASE)) as conn:
        row = conn.execute("SELECT version_num FROM streaming.alembic_version").fetchone()
    result.migrations_at_head = row is not None and row[0] == heads
    with psycopg.connect(cluster.url(DATABASE, db_roles.ADMIN)) as admin, \
            psycopg.connect(cluster.url(DATABASE, db_roles.STREAMING)) as streaming:
        cams = admin.execute("SELECT count(*) FROM cidades.cameras").fetchone()
        dets = streaming.execute("SELECT count(*) FROM ai.detections").fetchone()
        result.runtime_roles_query = bool(cams and cams[0] > 0 and dets is not None)
    url = cluster.url(DATABASE)
    result.keys_ok = check_camera_credentials(url, keys).ok
    from shared_kernel.crypto import CredentialCipher

    wrong = check_camera_credentials(url, CredentialCipher.generate_key())
    result.wrong_key_reported = not wrong.ok and "cannot be decrypted" in wrong.message
    result.wrong_key_message = wrong.message
