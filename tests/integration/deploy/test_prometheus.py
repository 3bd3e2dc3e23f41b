"""Prometheus config, alert rules (with promtool's unit tests) and Grafana dashboards.

Every metric a dashboard panel or an alert rule reads must be in the contract of
docs/observability.md; ``GTV_LIVE_METRICS_URLS`` (comma-separated /metrics URLs of running
services) additionally checks the contract against what the services really export.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.integration.deploy.deploy_support import (
    DEPLOY,
    OBSERVABILITY_DOC,
    REPO_ROOT,
    documented_metric_labels,
    documented_metric_names,
    exported_metric_names,
    exported_metric_samples,
    metric_label_drift,
    metric_names,
    referenced_metric_names,
)

PROMETHEUS = DEPLOY / "prometheus"
DASHBOARDS = DEPLOY / "grafana" / "dashboards"
PROVISIONING = DEPLOY / "grafana" / "provisioning"
PROMTOOL = shutil.which("promtool")

needs_promtool = pytest.mark.skipif(
    PROMTOOL is None, reason="promtool missing (Debian package prometheus)"
)

CONTRACT = documented_metric_names("metric-contract")
INFRA = documented_metric_names("infra-metrics")


def test_the_contract_lists_the_agreed_service_metrics() -> None:
    assert {
        "http_requests_total", "http_request_duration_seconds_bucket",
        "gtv_cache_hits_total", "gtv_cache_misses_total", "gtv_streams_active",
        "gtv_stream_restarts_total", "gtv_stream_failures_total", "gtv_lpr_frames_total",
        "gtv_lpr_frames_dropped_total", "gtv_lpr_latency_seconds_bucket",
        "gtv_plates_detected_total", "gtv_alerts_raised_total", "gtv_outbox_pending",
    } == CONTRACT  # fmt: skip


def test_metric_name_extraction() -> None:
    expr = (
        "histogram_quantile(0.95, sum by (service, le) "
        '(rate(http_request_duration_seconds_bucket{service="a"}[5m]))) > 0.5 '
        "and on (service) up == 1"
    )
    assert metric_names(expr) == {"http_request_duration_seconds_bucket", "up"}


@needs_promtool
def test_promtool_accepts_the_prometheus_config() -> None:
    result = subprocess.run(
        [str(PROMTOOL), "check", "config", "prometheus.yml"],
        cwd=PROMETHEUS, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr


@needs_promtool
def test_promtool_accepts_the_alert_rules() -> None:
    result = subprocess.run(
        [str(PROMTOOL), "check", "rules", "alerts.yml"],
        cwd=PROMETHEUS, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr


@needs_promtool
def test_alert_rule_unit_tests_pass() -> None:
    result = subprocess.run(
        [str(PROMTOOL), "test", "rules", "alerts_test.yml"],
        cwd=PROMETHEUS, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr


def _rules() -> list[dict[str, Any]]:
    groups = yaml.safe_load((PROMETHEUS / "alerts.yml").read_text())["groups"]
    return [rule for group in groups for rule in group["rules"]]


def test_alert_rules_of_the_spec_exist_and_read_only_known_metrics() -> None:
    rules = {rule["alert"]: rule for rule in _rules()}
    for name in (
        "GtvHighErrorRate", "GtvHighLatencyP95", "GtvLowCacheHitRate",
        "GtvStreamFailures", "GtvDiskSpaceLow", "GtvMemoryHigh",
    ):  # fmt: skip
        assert name in rules
    unknown = {
        name: sorted(metric_names(rule["expr"]) - CONTRACT - INFRA)
        for name, rule in rules.items()
        if metric_names(rule["expr"]) - CONTRACT - INFRA
    }
    assert unknown == {}
    assert "0.05" in rules["GtvHighErrorRate"]["expr"]
    assert "0.5" in rules["GtvHighLatencyP95"]["expr"]
    assert "0.7" in rules["GtvLowCacheHitRate"]["expr"]
    assert "0.2" in rules["GtvDiskSpaceLow"]["expr"]
    assert "0.9" in rules["GtvMemoryHigh"]["expr"]


def test_scrape_config_covers_both_services_and_the_infrastructure() -> None:
    config = yaml.safe_load((PROMETHEUS / "prometheus.yml").read_text())
    jobs = {job["job_name"] for job in config["scrape_configs"]}
    assert {"admin", "streaming", "haproxy", "mediamtx", "rabbitmq", "kong"} <= jobs


def _dashboards() -> dict[str, dict[str, Any]]:
    return {path.name: json.loads(path.read_text()) for path in sorted(DASHBOARDS.glob("*.json"))}


def _panels(dashboard: dict[str, Any]) -> list[dict[str, Any]]:
    panels = []
    for panel in dashboard["panels"]:
        panels.append(panel)
        panels.extend(panel.get("panels", []))  # rows
    return panels


def test_the_five_dashboards_of_the_spec_exist_with_unique_uids() -> None:
    dashboards = _dashboards()
    titles = {d["title"].split(" / ")[-1] for d in dashboards.values()}
    assert titles == {
        "System Overview", "API Performance", "Streaming Health",
        "AI Detection Stats", "Business Metrics",
    }  # fmt: skip
    uids = [d["uid"] for d in dashboards.values()]
    assert len(set(uids)) == len(uids)


def test_every_panel_reads_only_contract_metrics() -> None:
    unknown = {}
    for file, dashboard in _dashboards().items():
        for panel in _panels(dashboard):
            for target in panel.get("targets", []):
                extra = metric_names(target["expr"]) - CONTRACT - INFRA
                if extra:
                    unknown[f"{file}: {panel['title']}"] = sorted(extra)
    assert unknown == {}


def test_every_panel_has_a_query_and_the_provisioned_datasource() -> None:
    datasource = yaml.safe_load((PROVISIONING / "datasources" / "prometheus.yml").read_text())
    uid = datasource["datasources"][0]["uid"]
    for file, dashboard in _dashboards().items():
        for panel in _panels(dashboard):
            if panel["type"] == "row":
                continue
            assert panel["targets"], f"{file}: {panel['title']} has no query"
            assert panel["datasource"]["uid"] == uid


def test_dashboard_provider_points_at_the_mounted_folder() -> None:
    provider = yaml.safe_load((PROVISIONING / "dashboards" / "gt-vision.yml").read_text())
    compose = yaml.safe_load((REPO_ROOT / "docker-compose.yml").read_text())
    mounts = compose["services"]["grafana"]["volumes"]
    path = provider["providers"][0]["options"]["path"]
    assert f"./deploy/grafana/dashboards:{path}:ro" in mounts


def test_every_contract_metric_is_shown_somewhere() -> None:
    used: set[str] = set()
    for dashboard in _dashboards().values():
        for panel in _panels(dashboard):
            for target in panel.get("targets", []):
                used |= metric_names(target["expr"])
    assert sorted(CONTRACT - used) == []


def test_exported_names_parse_histograms_and_counters() -> None:
    text = (
        "# TYPE gtv_lpr_latency_seconds histogram\n"
        'gtv_lpr_latency_seconds_bucket{le="0.1"} 1.0\n'
        "# TYPE gtv_plates_detected counter\n"
        "gtv_plates_detected_total 3.0\n"
    )
    names = exported_metric_names(text)
    assert {"gtv_lpr_latency_seconds_bucket", "gtv_plates_detected_total"} <= names


def test_observability_doc_exists() -> None:
    assert Path(OBSERVABILITY_DOC).exists()


def test_label_drift_is_detected() -> None:
    contract = documented_metric_labels()
    assert contract["gtv_streams_active"] == {"service", "engine"}
    assert contract["http_request_duration_seconds_bucket"] == {"service", "method", "route", "le"}
    text = 'gtv_streams_active 3.0\ngtv_outbox_pending{service="admin_service"} 1.0\n'
    assert metric_label_drift(text, "streaming_service", contract) == {
        "gtv_streams_active": ["labels [] != ['engine', 'service']"],
        "gtv_outbox_pending": ["service=admin_service"],
    }


def test_streaming_and_lpr_metrics_carry_the_contract_labels() -> None:
    from prometheus_client import generate_latest

    from streaming_service.infrastructure.metrics import StreamingMetrics
    from streaming_service.workers.lpr_worker import LprMetrics

    metrics = StreamingMetrics()
    metrics.streams_running(2, engine="mediamtx")
    metrics.stream_restarted("timeout")
    metrics.stream_failed("unreachable")
    metrics.outbox_pending.set(4)
    metrics.requests.labels("streaming_service", "GET", "/health", "200").inc()
    lpr = LprMetrics()
    lpr.frames.labels("streaming_service").inc()
    lpr.latency.labels("streaming_service", "detect").observe(0.1)
    contract = documented_metric_labels()
    exposition = (generate_latest(metrics.registry) + generate_latest(lpr.registry)).decode()
    assert metric_label_drift(exposition, "streaming_service", contract) == {}
    names = exported_metric_names(exposition)
    assert {"gtv_streams_active", "gtv_stream_restarts_total", "gtv_stream_failures_total",
            "gtv_outbox_pending", "gtv_lpr_latency_seconds_bucket"} <= names
    assert 'gtv_stream_failures_total{reason="unreachable",service="streaming_service"} 1.0' \
        in exposition


def test_admin_outbox_gauge_has_the_name_and_labels_the_alert_reads() -> None:
    from outbox.relay import RelayMetrics
    from prometheus_client import REGISTRY, generate_latest

    RelayMetrics().pending(7)
    exposition = generate_latest(REGISTRY).decode()
    assert 'gtv_outbox_pending{service="admin_service"} 7.0' in exposition
    assert metric_label_drift(exposition, "admin_service", documented_metric_labels()) == {}
    backlog = next(rule for rule in _rules() if rule["alert"] == "GtvOutboxBacklog")
    assert metric_names(backlog["expr"]) == {"gtv_outbox_pending"}


def test_every_metric_alerts_and_dashboards_read_is_documented() -> None:
    assert sorted(referenced_metric_names() - CONTRACT - INFRA) == []


def test_label_values_with_braces_are_parsed_whole() -> None:
    text = ('http_requests_total{service="s",method="GET",route="/api/x/{id}",status="200"} 1\n'
            'gtv_outbox_pending 2\n')
    assert exported_metric_samples(text) == {
        "http_requests_total": {frozenset({("service", "s"), ("method", "GET"),
                                          ("route", "/api/x/{id}"), ("status", "200")})},
        "gtv_outbox_pending": {frozenset()},
    }
