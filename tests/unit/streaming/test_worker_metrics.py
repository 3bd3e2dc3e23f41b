"""The streaming service's metrics under several workers (PROMETHEUS_MULTIPROC_DIR): a
worker that died no longer counts its streams."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from prometheus_client import CollectorRegistry, generate_latest, multiprocess

from streaming_service.infrastructure.metrics import StreamingMetrics, forget_dead_workers

ROOT = Path(__file__).resolve().parents[3]
ACTIVE_3 = 'gtv_streams_active{engine="ffmpeg",service="streaming_service"} 3.0'

# A worker that ran three streams, then died (its process is gone, its file stays).
_WORKER = """
from streaming_service.infrastructure.metrics import StreamingMetrics
StreamingMetrics().streams_running(3, engine="ffmpeg")
"""


def _a_worker_that_died(directory: Path) -> None:
    subprocess.run([sys.executable, "-c", _WORKER], check=True, timeout=60, env={
        **os.environ, "PROMETHEUS_MULTIPROC_DIR": str(directory), "PYTHONPATH": str(ROOT)})


def test_a_dead_workers_streams_are_dropped_at_the_next_scrape(tmp_path: Path) -> None:
    _a_worker_that_died(tmp_path)
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, path=str(tmp_path))  # type: ignore[no-untyped-call]
    assert ACTIVE_3 in generate_latest(registry).decode(), "counted before the scrape forgets"
    # A live worker's file (this process) is kept.
    (tmp_path / f"gauge_livesum_{os.getpid()}.db").write_bytes(b"")
    assert forget_dead_workers(tmp_path) == 1
    assert [p.name for p in tmp_path.glob("gauge_livesum_*.db")] == [
        f"gauge_livesum_{os.getpid()}.db"]
    (tmp_path / f"gauge_livesum_{os.getpid()}.db").unlink()
    # The scrape forgets by itself.
    _a_worker_that_died(tmp_path)
    scraped = generate_latest(StreamingMetrics.workers_registry(tmp_path)).decode()
    assert ACTIVE_3 not in scraped
    assert not list(tmp_path.glob("gauge_livesum_*.db"))
    assert forget_dead_workers(tmp_path) == 0
