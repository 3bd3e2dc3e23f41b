"""Monitoring of the one-machine demo (``GTV_DEMO_MONITORING=1``): Debian's Prometheus
scrapes the demo's processes and evaluates ``deploy/prometheus/alerts.yml``; Debian's
Alertmanager routes with ``deploy/alertmanager/alertmanager.yml``, its receivers pointed
at local addresses. The same renderer serves the alert-delivery test
(tests/e2e/test_alert_delivery.py), so the demo and the test run the committed rules and
routes, not copies."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
ALERT_RULES = ROOT / "deploy" / "prometheus" / "alerts.yml"
ALERTMANAGER_CONFIG = ROOT / "deploy" / "alertmanager" / "alertmanager.yml"


def binaries() -> tuple[str | None, str | None]:
    """The Debian ``prometheus`` and ``prometheus-alertmanager`` commands, if installed."""
    return (shutil.which("prometheus"),
            shutil.which("prometheus-alertmanager") or shutil.which("alertmanager"))


def alertmanager_config(*, webhook_url: str, smtp_address: str,
                        group_wait: str | None = None) -> dict[str, Any]:
    """The committed routing tree with local receivers: the on-call webhook at
    ``webhook_url``, e-mail through ``smtp_address`` (plain SMTP, no login); optionally
    shorter group waits (tests)."""
    config: dict[str, Any] = yaml.safe_load(ALERTMANAGER_CONFIG.read_text())
    config["global"].update(smtp_smarthost=smtp_address, smtp_require_tls=False)
    for key in ("smtp_auth_username", "smtp_auth_password_file"):
        config["global"].pop(key, None)
    if group_wait is not None:
        for route in [config["route"], *config["route"].get("routes", [])]:
            route.update(group_wait=group_wait, group_interval=group_wait)
    for receiver in config["receivers"]:
        for hook in receiver.get("webhook_configs", []):
            hook["url"] = webhook_url
    return config


def alert_rules(*, pending: str | None = None) -> dict[str, Any]:
    """``deploy/prometheus/alerts.yml``; with ``pending``, every rule's ``for`` set to it."""
    rules: dict[str, Any] = yaml.safe_load(ALERT_RULES.read_text())
    if pending is not None:
        for group in rules["groups"]:
            for rule in group["rules"]:
                if "for" in rule:
                    rule["for"] = pending
    return rules


def prometheus_config(*, jobs: dict[str, list[str]], rule_file: Path, alertmanager: str,
                      interval: str = "15s") -> dict[str, Any]:
    """Static scrape jobs (``{job: ["127.0.0.1:port", …]}``), the rules and Alertmanager;
    ``interval`` in whole seconds (``"15s"``)."""
    timeout = f"{min(int(interval.removesuffix('s')), 10)}s"
    return {
        "global": {"scrape_interval": interval, "evaluation_interval": interval,
                   "scrape_timeout": timeout,
                   "external_labels": {"system": "gt-vision-demo"}},
        "rule_files": [str(rule_file)],
        "alerting": {"alertmanagers": [{"static_configs": [{"targets": [alertmanager]}]}]},
        "scrape_configs": [
            {"job_name": job, "static_configs": [{"targets": targets}]}
            for job, targets in jobs.items()
        ],
    }


def write_configs(directory: Path, *, jobs: dict[str, list[str]], alertmanager_port: int,
                  webhook_url: str, smtp_address: str, interval: str = "15s",
                  pending: str | None = None, group_wait: str | None = None) -> None:
    """``prometheus.yml``, ``alerts.yml`` and ``alertmanager.yml`` in ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    rules = directory / "alerts.yml"
    rules.write_text(yaml.safe_dump(alert_rules(pending=pending)))
    (directory / "prometheus.yml").write_text(yaml.safe_dump(prometheus_config(
        jobs=jobs, rule_file=rules, alertmanager=f"127.0.0.1:{alertmanager_port}",
        interval=interval)))
    (directory / "alertmanager.yml").write_text(yaml.safe_dump(alertmanager_config(
        webhook_url=webhook_url, smtp_address=smtp_address, group_wait=group_wait)))


def commands(directory: Path, *, prometheus_port: int,
             alertmanager_port: int) -> tuple[list[str], list[str]]:
    """The Prometheus and Alertmanager command lines for the configs in ``directory``
    (data under it, listening on 127.0.0.1 only, Alertmanager without clustering)."""
    prometheus, alertmanager = binaries()
    if prometheus is None or alertmanager is None:
        raise RuntimeError("prometheus / prometheus-alertmanager are not installed "
                           "(make system)")
    return (
        [prometheus, f"--config.file={directory / 'prometheus.yml'}",
         f"--storage.tsdb.path={directory / 'prometheus-data'}",
         "--storage.tsdb.retention.time=2d",
         f"--web.listen-address=127.0.0.1:{prometheus_port}"],
        [alertmanager, f"--config.file={directory / 'alertmanager.yml'}",
         f"--storage.path={directory / 'alertmanager-data'}",
         f"--web.listen-address=127.0.0.1:{alertmanager_port}", "--cluster.listen-address="],
    )
