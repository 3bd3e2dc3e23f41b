"""Runs the streaming service's HTTP API: ``python -m streaming_service.serve [--host H]
[--port P]``, uvicorn with one worker process per core.

How many (``worker_count``): ``GTV_STREAMING_WORKERS`` when set; otherwise as many as
the CPUs this process may run on. Every worker is a full replica of the API: the recording
keeper and the outbox relay take Redis leases / ``SKIP LOCKED`` claims, each worker's
LiveHub reads each tenant's alert feed once and fans it out to its own sockets, the
stream-control broadcast reaches every worker. With the embedded FFmpeg engine
(``GTV_ENGINE=ffmpeg``, the one-machine demo), which runs each stream's ffmpeg inside the
worker that started it, a camera is owned by one worker under a Redis lease
(``infrastructure.stream_ownership``): a start on another worker answers with the same
stream, any worker serves its live HLS (one media root), and a stop or a recording switch
that lands on another worker is handed to the owner, which does it before the request is
answered.

Prometheus under several workers (as the admin service's gunicorn.conf.py): every worker
writes its values under ``PROMETHEUS_MULTIPROC_DIR`` (a fresh directory of this run when
not given) and ``/metrics`` adds them up.

No access log (query strings carry media and WebSocket tokens; the app logs requests
itself) and no uvicorn proxy headers (the app applies GTV_TRUSTED_PROXIES).
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
from pathlib import Path

WORKERS_ENV = "GTV_STREAMING_WORKERS"
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"


def available_cpus() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def worker_count(configured: str | None = None) -> int:
    """Workers of one replica: ``configured`` (GTV_STREAMING_WORKERS) if given, else one
    per CPU."""
    if configured and configured.strip():
        return max(1, int(configured))
    return available_cpus()


def _fresh_multiproc_dir() -> Path:
    value = os.environ.get(MULTIPROC_ENV, "").strip()
    directory = Path(value) if value else Path(tempfile.mkdtemp(prefix="gtv-streaming-metrics-"))
    if directory.is_dir():
        # Stale files of a previous run would be counted again.
        shutil.rmtree(directory)
    directory.mkdir(parents=True)
    os.environ[MULTIPROC_ENV] = str(directory)
    return directory


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="0.0.0.0")
    parser.add_argument("--port", type=int, default=8001)
    parser.add_argument("--timeout-keep-alive", type=int, default=10)
    parser.add_argument("--timeout-graceful-shutdown", type=int, default=None)
    args = parser.parse_args(argv)
    workers = worker_count(os.environ.get(WORKERS_ENV))
    if workers > 1:
        _fresh_multiproc_dir()
    import uvicorn  # after PROMETHEUS_MULTIPROC_DIR: prometheus_client reads it on import

    uvicorn.run("streaming_service.main:create_app", factory=True, host=args.host,
                port=args.port, workers=workers, proxy_headers=False, access_log=False,
                timeout_keep_alive=args.timeout_keep_alive,
                timeout_graceful_shutdown=args.timeout_graceful_shutdown)


if __name__ == "__main__":
    main()
