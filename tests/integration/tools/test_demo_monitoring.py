"""GTV_DEMO_MONITORING=1: the Prometheus and Alertmanager configurations the demo renders
from the committed rules and routes are accepted by promtool and amtool, scrape every
process that serves metrics and keep the committed routing tree."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from tools.demo import monitoring

PROMTOOL, AMTOOL = shutil.which("promtool"), shutil.which("amtool")


@pytest.fixture
def rendered(tmp_path: Path) -> Path:
    monitoring.write_configs(
        tmp_path, jobs={"admin": ["127.0.0.1:8000"], "lpr-worker": ["127.0.0.1:9200"]},
        alertmanager_port=9093, webhook_url="http://127.0.0.1:9095/oncall",
        smtp_address="127.0.0.1:1025")
    return tmp_path


@pytest.mark.skipif(PROMTOOL is None or AMTOOL is None, reason="make system")
def test_promtool_and_amtool_accept_the_rendered_configs(rendered: Path) -> None:
    for argv in ([str(PROMTOOL), "check", "config", str(rendered / "prometheus.yml")],
                 [str(AMTOOL), "check-config", str(rendered / "alertmanager.yml")]):
        done = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)
        assert done.returncode == 0, done.stdout + done.stderr


def test_the_rendered_configs_keep_the_committed_rules_and_routes(rendered: Path) -> None:
    committed = yaml.safe_load(monitoring.ALERTMANAGER_CONFIG.read_text())
    demo = yaml.safe_load((rendered / "alertmanager.yml").read_text())
    assert demo["route"] == committed["route"]
    assert [r["name"] for r in demo["receivers"]] == [r["name"] for r in committed["receivers"]]
    hooks = [h["url"] for r in demo["receivers"] for h in r.get("webhook_configs", [])]
    assert hooks == ["http://127.0.0.1:9095/oncall"]
    assert demo["global"]["smtp_smarthost"] == "127.0.0.1:1025"
    rules = yaml.safe_load((rendered / "alerts.yml").read_text())
    assert rules == yaml.safe_load(monitoring.ALERT_RULES.read_text())
    prometheus = yaml.safe_load((rendered / "prometheus.yml").read_text())
    assert {j["job_name"] for j in prometheus["scrape_configs"]} == {"admin", "lpr-worker"}


def test_the_demo_monitors_every_metrics_endpoint_it_reports() -> None:
    source = (Path(__file__).resolve().parents[3] / "tools" / "demo" / "__main__.py").read_text()
    for port in ("self.admin_port", "self.streaming_port", "self.lpr_metrics_port",
                 "self.relay_metrics_port"):
        assert f"local({port})" in source, port
