"""The restore drill (tools/backup/drill.py) in a throwaway PostgreSQL cluster: both
services' migrations and a seed, a pgBackRest backup, writes, the cluster destroyed,
restored to the latest state and to a point in time, and verified (row counts, the audit
log, migrations at head, the runtime roles, the encryption keys). RTO and RPO are
measured and reported as test properties; docs/operations.md quotes them."""

from __future__ import annotations

import math
import re
import shutil
from datetime import UTC, datetime
from typing import Any

import pytest

from tools.backup.drill import DrillResult, pgbackrest_time, run_drill
from tools.backup.pgbackrest import ARCHIVING, CONFIG, ROOT, render_config

needs_tools = pytest.mark.skipif(
    shutil.which("pgbackrest") is None or not list(
        __import__("pathlib").Path("/usr/lib/postgresql").glob("*/bin/initdb")),
    reason="pgbackrest or the PostgreSQL server binaries are missing (make system)")


@pytest.fixture(scope="module")
def drill() -> DrillResult:
    return run_drill(write_seconds=10.0, archive_timeout=5)


@needs_tools
def test_the_drill_restores_the_seed_and_the_audit_log_intact(drill: DrillResult,
                                                              record_property: Any) -> None:
    for key in ("rto_seconds", "rpo_seconds", "restore_seconds", "recovery_seconds",
                "backup_seconds", "database_bytes", "writes", "lost_writes", "drill_seconds"):
        record_property(key, getattr(drill, key))
    assert drill.seed_counts["cidades.cameras"] == 2
    assert drill.restored_counts == drill.seed_counts
    assert drill.audit_prefix_intact, "audit entries: same rows, same order as written"
    assert drill.audit_append_only, "the restored audit log still refuses UPDATE"


@needs_tools
def test_the_latest_restore_loses_only_the_unarchived_tail(drill: DrillResult) -> None:
    assert drill.writes > 20
    assert 0 <= drill.lost_writes < drill.writes
    assert math.isfinite(drill.rpo_seconds), "the recovered writes are 1..n without gaps"


@needs_tools
def test_point_in_time_restore_has_exactly_the_writes_up_to_the_target(
        drill: DrillResult) -> None:
    assert drill.pitr_writes_expected > 0
    assert drill.pitr_writes_found == drill.pitr_writes_expected


@needs_tools
def test_the_services_start_against_the_restored_database(drill: DrillResult) -> None:
    assert drill.migrations_at_head
    assert drill.runtime_roles_query


@needs_tools
def test_a_restore_without_its_encryption_key_is_detected(drill: DrillResult) -> None:
    assert drill.keys_ok
    assert drill.wrong_key_reported, drill.wrong_key_message


def test_backup_config_keeps_30_days_and_archives_within_the_rpo() -> None:
    config = CONFIG.read_text()
    assert "repo1-retention-full-type=time" in config
    assert "repo1-retention-full=30" in config
    timeout = re.search(r"(?m)^archive_timeout = (\d+)s$", ARCHIVING.read_text())
    assert timeout and int(timeout.group(1)) <= 300, "RPO <= 5 min needs archive_timeout <= 5 min"
    crontab = (ROOT / "deploy" / "backup" / "crontab").read_text()
    assert "--type=full backup" in crontab and "--type=diff backup" in crontab


def test_render_config_overrides_and_adds_keys_per_section() -> None:
    text = render_config({"global": {"repo1-path": "/x", "new-key": "1"},
                          "gtv": {"pg1-port": "6000"}})
    assert "repo1-path=/x" in text and "repo1-path=/var/lib/pgbackrest" not in text
    assert "new-key=1" in text.split("[global:archive-push]")[0]
    assert "pg1-port=6000" in text.split("[gtv]")[1]
    assert "repo1-retention-full=30" in text


def test_pgbackrest_time_rounds_up_to_the_millisecond() -> None:
    at = datetime(2026, 12, 4, 22, 0, 1, 123_001, tzinfo=UTC)
    assert pgbackrest_time(at) == "2026-12-04 22:00:01.124+00"
    assert pgbackrest_time(at.replace(microsecond=999_999)) == "2026-12-04 22:00:02.000+00"


def test_make_backup_and_restore_exist_and_the_packages_are_installed() -> None:
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(r"(?m)^backup:", makefile) and re.search(r"(?m)^restore:", makefile)
    assert "TARGET_TIME" in makefile
    install = (ROOT / "tools" / "scripts" / "install_system.sh").read_text()
    assert "pgbackrest" in install


def test_the_server_archive_command_is_the_one_pgbackrest_expects() -> None:
    from tools.backup.pgbackrest import PgBackRest

    expected = PgBackRest(config=None).archive_command()
    assert f"archive_command = '{expected}'" in ARCHIVING.read_text()
    assert "[gtv]" in CONFIG.read_text(), "the stanza the archive command names"
