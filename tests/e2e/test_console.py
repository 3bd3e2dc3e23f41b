"""The city's admin console and reports in a real browser, through HAProxy, against the
demo (``python -m tools.demo``, isolated): a tenant admin creates a camera (a failing then
a working URL in "Testar conexão"), places it on the map and opens it live from its
marker, creates and deactivates a user, invites one (who sets a password through the link,
then changes it on their own account page), finds both in the audit log and its CSV, and opens
each report with the simulator's data; a viewer sees no console. The browser script is
``dashboard/scripts/e2e-console.mjs``; screenshots stay in ``var/test-artifacts/``."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tools.demo.isolated import DemoRun, run_isolated_demo

ROOT = Path(__file__).resolve().parents[2]
WATCHLISTED = "BRA2E19"
pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def demo(amqp_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoRun]:
    with run_isolated_demo(amqp_url, tmp_path_factory.mktemp("console-demo"),
                           label="console") as run:
        yield run


def test_tenant_admin_runs_the_city_from_the_dashboard(demo: DemoRun) -> None:
    dashboard = ROOT / "dashboard"
    assert (dashboard / "dist" / "index.html").exists(), "build the dashboard: make dashboard"
    assert (dashboard / "node_modules" / "playwright-core").is_dir(), "run: make dashboard"
    artifacts = ROOT / "var" / "test-artifacts" / "console-e2e"
    artifacts.mkdir(parents=True, exist_ok=True)
    password = demo.summary["password"]
    camera_password = json.loads((demo.state_dir / "secrets.json").read_text())["camera"]
    camera_url = f"rtsp://demo:{camera_password}@127.0.0.1:{demo.ports['rtsp']}/cam1"
    result = subprocess.run(
        ["node", "scripts/e2e-console.mjs", str(artifacts)], cwd=dashboard,
        env={**os.environ, "GTV_E2E_BASE_URL": demo.gateway,
             "GTV_E2E_ADMIN_USER": "demo-tenant-admin", "GTV_E2E_ADMIN_PASS": password,
             "GTV_E2E_VIEWER_USER": "demo-viewer", "GTV_E2E_VIEWER_PASS": password,
             "GTV_E2E_CAMERA_URL": camera_url, "GTV_E2E_PLATE": WATCHLISTED,
             "GTV_E2E_DATA_TIMEOUT_S": "240"},
        capture_output=True, text=True, timeout=900, check=False,
    )
    assert result.returncode == 0, (result.stdout + result.stderr)[-4000:]
    summary = json.loads((artifacts / "summary.json").read_text())
    assert summary["ok"] is True
    assert all(step["ok"] for step in summary["steps"])
    assert len(list(artifacts.glob("c*.png"))) >= 12, "a screenshot per step"
