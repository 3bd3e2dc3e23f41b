"""pgBackRest and a PostgreSQL cluster driven from Python (Debian's packages).

Both run as the operating-system user that owns the data directory (``postgres``): when
this process is root, commands go through ``runuser -u postgres``. The configuration is
``deploy/backup/pgbackrest.conf`` (or ``GTV_PGBACKREST_CONFIG``); :func:`render_config`
derives a private copy from it (other paths and port) for the drill, so the drill runs
the production options.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / "deploy" / "backup" / "pgbackrest.conf"
ARCHIVING = ROOT / "deploy" / "backup" / "postgresql-archiving.conf"
STANZA = "gtv"
PG_OWNER = "postgres"


class CommandFailed(RuntimeError):
    pass


def pg_bin() -> Path:
    """Debian's server binaries (initdb and pg_ctl of the installed major version)."""
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    if not versions:
        raise CommandFailed("PostgreSQL server binaries not found (Debian postgresql)")
    return versions[-1].parent


def as_owner(argv: list[str]) -> list[str]:
    """``argv`` run as the data directory's owner (root cannot run PostgreSQL)."""
    if os.geteuid() == 0:
        return ["runuser", "-u", PG_OWNER, "--", *argv]
    return argv


def run(argv: list[str], *, timeout: float = 120, env: dict[str, str] | None = None,
        owner: bool = True) -> str:
    done = subprocess.run(as_owner(argv) if owner else argv, capture_output=True, text=True,
                          timeout=timeout, check=False, env=env, cwd="/")
    if done.returncode != 0:
        raise CommandFailed(f"{' '.join(argv[:3])}… exited {done.returncode}: "
                            f"{(done.stderr or done.stdout).strip()[-1500:]}")
    return done.stdout


def render_config(overrides: dict[str, dict[str, str]], *, template: Path = CONFIG) -> str:
    """``template`` with the given ``{section: {key: value}}`` replaced or added."""
    lines = template.read_text().splitlines()
    out: list[str] = []
    section = None
    pending = {s: dict(values) for s, values in overrides.items()}

    def flush(name: str | None) -> None:
        if name is not None:
            out.extend(f"{k}={v}" for k, v in pending.pop(name, {}).items())

    for line in lines:
        header = re.match(r"^\[(.+)\]\s*$", line)
        if header:
            flush(section)
            section = header.group(1)
            out.append(line)
            continue
        key = line.split("=", 1)[0].strip() if "=" in line and not line.startswith("#") else None
        if key is not None and section in pending and key in pending[section]:
            out.append(f"{key}={pending[section].pop(key)}")
            continue
        out.append(line)
    flush(section)
    for name, values in pending.items():
        out.append(f"[{name}]")
        out.extend(f"{k}={v}" for k, v in values.items())
    return "\n".join(out) + "\n"


@dataclass
class PgBackRest:
    config: Path | None = field(default_factory=lambda: Path(
        os.environ.get("GTV_PGBACKREST_CONFIG") or CONFIG))
    """None: pgBackRest's own default (/etc/pgbackrest/pgbackrest.conf and conf.d/)."""
    stanza: str = STANZA

    def _options(self) -> list[str]:
        config = [f"--config={self.config}"] if self.config is not None else []
        return [*config, f"--stanza={self.stanza}"]

    def _cmd(self, command: str, *options: str) -> list[str]:
        return ["pgbackrest", *self._options(), *options, command]

    def archive_command(self) -> str:
        return " ".join(["pgbackrest", *self._options(), "archive-push", "%p"])

    def stanza_create(self) -> None:
        run(self._cmd("stanza-create"))

    def check(self) -> None:
        run(self._cmd("check"))

    def backup(self, kind: str = "full") -> None:
        if kind not in ("full", "diff", "incr"):
            raise ValueError(f"unknown backup type {kind!r}")
        run(self._cmd("backup", f"--type={kind}"), timeout=3600)

    def restore(self, *, target_time: str | None = None, delta: bool = True) -> None:
        """Restore into the (stopped) cluster's data directory: the latest state, or the
        state at ``target_time`` (then promoted, so the cluster accepts writes)."""
        options = ["--delta"] if delta else []
        if target_time:
            options += ["--type=time", f"--target={target_time}", "--target-action=promote"]
        run(self._cmd("restore", *options), timeout=3600)

    def info(self) -> str:
        return run(self._cmd("info"))


def _children(pid: int) -> list[int]:
    """The processes whose parent is ``pid`` (the postmaster's backends)."""
    children = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[1]) == pid:
                children.append(int(stat.parent.name))
    return children


@dataclass
class Cluster:
    """A PostgreSQL cluster in ``data`` on 127.0.0.1:``port`` (a throwaway one for the
    drill, or the server's own for ``make restore``)."""

    data: Path
    port: int
    socket_dir: Path
    log: Path

    def initdb(self) -> None:
        run([str(pg_bin() / "initdb"), "-D", str(self.data), "-U", PG_OWNER, "--auth=trust",
             "-E", "UTF8", "--locale=C.UTF-8", "--no-sync"], timeout=120)

    def configure(self, archive_command: str, *, archive_timeout: str) -> None:
        """The archiving settings of deploy/backup/postgresql-archiving.conf, with this
        cluster's own command and timeout, and a private port and socket."""
        settings = ARCHIVING.read_text()
        settings = re.sub(r"(?m)^archive_command = .*$",
                          f"archive_command = '{archive_command}'", settings)
        settings = re.sub(r"(?m)^archive_timeout = .*$",
                          f"archive_timeout = {archive_timeout}", settings)
        extra = (f"\nport = {self.port}\nlisten_addresses = '127.0.0.1'\n"
                 f"unix_socket_directories = '{self.socket_dir}'\nfsync = on\n"
                 "max_connections = 50\nshared_buffers = 32MB\n")
        path = self.data / "postgresql.auto.conf"
        text = path.read_text() if path.exists() else ""
        tmp = self.data.parent / "archiving.conf"
        tmp.write_text(text + settings + extra)
        shutil.copyfile(tmp, path)
        tmp.unlink()

    def start(self, timeout: float = 120) -> None:
        run([str(pg_bin() / "pg_ctl"), "-D", str(self.data), "-l", str(self.log), "-w",
             "-t", str(int(timeout)), "start"], timeout=timeout + 10)

    def stop(self, mode: str = "fast") -> None:
        run([str(pg_bin() / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop"],
            timeout=120)

    def is_running(self) -> bool:
        done = subprocess.run(as_owner([str(pg_bin() / "pg_ctl"), "-D", str(self.data),
                                        "status"]), capture_output=True, timeout=30,
                              check=False, cwd="/")
        return done.returncode == 0

    def crash_and_destroy(self) -> None:
        """What a lost server looks like: the postmaster killed, the data directory gone."""
        pid_file = self.data / "postmaster.pid"
        if pid_file.exists():
            pid = int(pid_file.read_text().split()[0])
            for victim in [pid, *_children(pid)]:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(victim, 9)
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:
                try:
                    os.kill(pid, 0)
                except ProcessLookupError:
                    break
                time.sleep(0.05)
        shutil.rmtree(self.data)
        self.data.mkdir(mode=0o700)
        if os.geteuid() == 0:
            shutil.chown(self.data, PG_OWNER, PG_OWNER)

    def url(self, database: str = "postgres", user: str = PG_OWNER) -> str:
        return f"postgresql://{user}@127.0.0.1:{self.port}/{database}"
