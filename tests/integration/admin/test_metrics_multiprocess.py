"""/metrics under several gunicorn workers: prometheus_client's multiprocess mode."""

from __future__ import annotations

import os
import re
import runpy
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from config.metrics import registry
from django.test import Client
from prometheus_client import REGISTRY

from tests.integration.admin.conftest import GUNICORN_CONF, gunicorn_server

WORKER = """
import sys
from prometheus_client import Counter, Gauge
c = Counter("http_requests_total", "x", ["service", "method", "route", "status"])
c.labels("admin_service", "GET", "/health", "200").inc(int(sys.argv[1]))
Gauge("gtv_test_live", "x", multiprocess_mode="livesum").set(1)
print(__import__("os").getpid())
"""


def _fake_worker(directory: Path, requests: int) -> int:
    """A process that counts ``requests`` in multiprocess mode, as a gunicorn worker does."""
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(directory)}
    done = subprocess.run([sys.executable, "-c", WORKER, str(requests)], env=env,
                          capture_output=True, text=True, timeout=60, check=True)
    return int(done.stdout.strip())


def _health_count(body: str) -> float:
    match = re.search(r'(?<!_)http_requests_total\{method="GET",route="/health",'
                      r'service="admin_service",status="200"\} ([0-9.e+]+)', body)
    return float(match.group(1)) if match else 0.0


def test_without_multiproc_dir_metrics_are_this_process(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR", raising=False)
    assert registry() is REGISTRY
    before = _health_count(client.get("/metrics").content.decode())
    client.get("/health")
    assert _health_count(client.get("/metrics").content.decode()) == before + 1


def test_with_multiproc_dir_metrics_add_up_every_worker(
    tmp_path: Path, client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    _fake_worker(tmp_path, 2)
    _fake_worker(tmp_path, 3)
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    assert registry() is not REGISTRY
    response = client.get("/metrics")
    assert response.status_code == 200
    assert _health_count(response.content.decode()) == 5.0


def test_gunicorn_hooks_clear_stale_files_and_drop_dead_workers_gauges(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    directory = tmp_path / "prom"
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(directory))
    conf: dict[str, Any] = runpy.run_path(str(GUNICORN_CONF))
    directory.mkdir()
    (directory / "counter_999999.db").write_bytes(b"stale")
    conf["on_starting"](None)
    assert list(directory.iterdir()) == []

    pid = _fake_worker(directory, 1)
    assert (directory / f"gauge_livesum_{pid}.db").exists()
    conf["child_exit"](None, SimpleNamespace(pid=pid))
    assert not (directory / f"gauge_livesum_{pid}.db").exists()
    assert (directory / f"counter_{pid}.db").exists()  # counters outlive their worker


def test_gunicorn_with_two_workers_reports_all_requests(tmp_path: Path) -> None:
    with gunicorn_server(tmp_path, env={"PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "prom")}
                         ) as base:
        # (A start-up probe that timed out may still have been counted.)
        before = _health_count(httpx.get(f"{base}/metrics", timeout=10).text)
        assert before >= 1
        # New connections each time: both workers take some of the requests.
        for _ in range(20):
            assert httpx.get(f"{base}/health", timeout=10).status_code == 200
        counts = {_health_count(httpx.get(f"{base}/metrics", timeout=10).text)
                  for _ in range(6)}
        assert counts == {before + 20}, counts  # whichever worker answers: the sum
