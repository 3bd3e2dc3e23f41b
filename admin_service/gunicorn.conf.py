"""gunicorn settings of the admin service: ``gunicorn -c admin_service/gunicorn.conf.py``.

Prometheus under several workers: each worker is its own process with its own counters,
so a scrape reaching one worker would see a fraction of the traffic. With
``PROMETHEUS_MULTIPROC_DIR`` set, prometheus_client keeps every worker's values in files
in that directory and ``/metrics`` adds them up (config/metrics.py). The master empties
the directory at start (stale files from a previous run would be counted again) and
drops a dead worker's live gauges. Without the variable, metrics stay per process.
Command-line options (``--bind``, ``--workers``...) and ``GUNICORN_CMD_ARGS`` override
what is set here.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

_HERE = Path(__file__).resolve().parent
# Runnable from anywhere: the Django project is this folder, shared_kernel its parent's.
chdir = str(_HERE)
pythonpath = f"{_HERE.parent},{_HERE}"
wsgi_app = "config.wsgi:application"
bind = "127.0.0.1:8000"


def _cpus() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


# One process per CPU (GTV_ADMIN_WORKERS overrides: a container's CPU limit is not what
# the node reports), each with a few threads: a request spends part of its time waiting
# on Redis or PostgreSQL, and a sync worker would sit idle then. Threads also keep
# connections alive (HAProxy reuses them), where sync workers close each one.
workers = int(os.environ.get("GTV_ADMIN_WORKERS", "").strip() or _cpus())
worker_class = "gthread"
threads = int(os.environ.get("GTV_ADMIN_THREADS", "").strip() or 4)
# Idle keep-alive connections outlive HAProxy's (it reuses them and closes them first).
keepalive = 30
timeout = 30
graceful_timeout = 10
# No gunicorn access log: its request line keeps query strings (plate searches, filters
# on people) and the Referer. HAProxy logs every request once, path only, with the
# correlation id; the service logs events and errors and counts requests (/metrics).
accesslog = None
# No control socket (gunicorn's runtime management through ``gunicornc``): nothing of ours
# uses it, it is one more way to stop or resize the service, and in the images, where
# the home directory is not writable, it only logged a permission error at every start.
control_socket_disable = True


def _multiproc_dir() -> Path | None:
    value = os.environ.get("PROMETHEUS_MULTIPROC_DIR", "").strip()
    return Path(value) if value else None


def on_starting(server: Any) -> None:
    directory = _multiproc_dir()
    if directory is None:
        return
    directory.mkdir(parents=True, exist_ok=True)
    for stale in directory.glob("*.db"):
        stale.unlink(missing_ok=True)


def child_exit(server: Any, worker: Any) -> None:
    if _multiproc_dir() is None:
        return
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)
