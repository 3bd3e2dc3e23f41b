"""The whole demo (``python -m tools.demo``), isolated: a database of its own (created
here, dropped at the end), the RabbitMQ URL it is given, Redis keys under a private
prefix, free loopback ports and a state directory of its own. Used by the end-to-end
test and the live-alert benchmark.

    with run_isolated_demo(amqp_url, state_dir, label="e2e") as run:
        httpx.get(run.gateway + "/api/admin/schema/")

The demo bootstraps the production database roles in its database and runs each service
as its least-privilege role. It runs in its own process group; on leaving the block it
gets SIGTERM (SIGKILL after a minute), then the database is dropped (best effort: a
failure is reported on stderr, not raised).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tools import db_roles

ROOT = Path(__file__).resolve().parents[2]
PG_ADMIN_URL = db_roles.DEFAULT_SUPERUSER_URL
PORT_NAMES = ("http", "admin", "streaming", "dashboard", "rtsp", "stats", "lpr_metrics",
              "relay_metrics")
SIMULATOR_STARTING = "starting the camera simulator"


def free_port(kind: socket.SocketKind = socket.SOCK_STREAM) -> int:
    with socket.socket(socket.AF_INET, kind) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class DemoRun:
    process: subprocess.Popen[bytes]
    state_dir: Path
    ports: dict[str, int]
    db_name: str
    redis_prefix: str
    log_path: Path
    sim_started_at: float | None = None
    """Wall time the demo said it was starting the simulator (a coarse anchor)."""
    summary: dict[str, Any] = field(default_factory=dict)
    """``demo.json``: credentials, live URLs, metrics endpoints."""

    @property
    def gateway(self) -> str:
        return f"http://127.0.0.1:{self.ports['http']}"

    def log_tail(self, chars: int = 4000) -> str:
        return self.log_path.read_text(errors="replace")[-chars:]


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


@contextlib.contextmanager
def run_isolated_demo(
    amqp_url: str,
    state_dir: Path,
    *,
    label: str = "e2e",
    extra_env: Mapping[str, str] | None = None,
    ready_timeout: float = 240.0,
    poll_interval: float = 1.0,
    pg_admin_url: str = PG_ADMIN_URL,
    redis_prefix: str | None = None,
) -> Iterator[DemoRun]:
    """Start the demo with one camera and wait (at most ``ready_timeout`` s) for its
    ``demo.json``; ``RuntimeError`` with the log's tail if it exits or is not ready in
    time. ``label`` names the database (``gtvision_<label>_…``), the Redis prefix (unless
    ``redis_prefix`` is given) and the superadmin (``<label>-root``); ``extra_env`` is
    added to (and overrides) the demo's environment."""
    suffix = uuid.uuid4().hex[:8]
    db_name = f"gtvision_{label.replace('-', '_')}_{suffix}"
    redis_prefix = redis_prefix or f"gtv-{label}-{suffix}:"
    db_roles.create_database(db_name, base=pg_admin_url)
    process: subprocess.Popen[bytes] | None = None
    try:
        ports = {name: free_port() for name in PORT_NAMES}
        env = {
            **os.environ,
            "GTV_DEMO_DB_NAME": db_name,
            "GTV_DB_SUPERUSER_URL": pg_admin_url,
            "GTV_AMQP_URL": amqp_url,
            "GTV_REDIS_PREFIX": redis_prefix,
            "GTV_HTTP_PORT": str(ports["http"]),
            "GTV_DEMO_ADMIN_PORT": str(ports["admin"]),
            "GTV_DEMO_STREAMING_PORT": str(ports["streaming"]),
            "GTV_DEMO_DASHBOARD_PORT": str(ports["dashboard"]),
            "GTV_DEMO_RTSP_PORT": str(ports["rtsp"]),
            "GTV_DEMO_DISCOVERY_PORT": str(free_port(socket.SOCK_DGRAM)),
            "GTV_DEMO_STATS_PORT": str(ports["stats"]),
            "GTV_DEMO_LPR_METRICS_PORT": str(ports["lpr_metrics"]),
            "GTV_DEMO_ADMIN_RELAY_METRICS_PORT": str(ports["relay_metrics"]),
            "GTV_DEMO_STATE_DIR": str(state_dir),
            "GTV_DEMO_CAMERAS": "1",
            "GTV_SUPERADMIN_USERNAME": f"{label}-root",
            "GTV_SUPERADMIN_PASSWORD": f"{label}-" + uuid.uuid4().hex,
            "PYTHONPATH": f"{ROOT}{os.pathsep}{ROOT / 'admin_service'}",
            **(extra_env or {}),
        }
        env.pop("GTV_DB_NAME", None)
        env.pop("GTV_STREAMING_DB_NAME", None)
        log_path = state_dir / "demo-stdout.log"
        with open(log_path, "wb") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", "tools.demo"], cwd=ROOT, env=env,
                stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            )
        run = DemoRun(process, state_dir, ports, db_name, redis_prefix, log_path)
        deadline = time.monotonic() + ready_timeout
        summary_file = state_dir / "demo.json"
        while not summary_file.exists():
            if run.sim_started_at is None and SIMULATOR_STARTING in \
                    log_path.read_text(errors="replace"):
                run.sim_started_at = time.time()
            if process.poll() is not None:
                raise RuntimeError(f"demo exited early ({process.returncode}):\n{run.log_tail()}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"demo not ready in {ready_timeout:.0f} s:\n{run.log_tail()}")
            time.sleep(poll_interval)
        time.sleep(0.2)  # demo.json is written in one go, but let the write finish
        run.summary = json.loads(summary_file.read_text())
        yield run
    finally:
        if process is not None:
            _stop(process)
        try:
            db_roles.drop_database(db_name, base=pg_admin_url)
        except (RuntimeError, subprocess.SubprocessError) as exc:
            print(f"could not drop database {db_name}: {exc!r}", file=sys.stderr)
