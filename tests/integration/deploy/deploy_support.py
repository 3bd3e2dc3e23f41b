"""Helpers of the deployment tests: repository paths, the shared contracts, free ports."""

from __future__ import annotations

import json
import os
import re
import socket
from pathlib import Path

import yaml

REPO_ROOT = Path(__file__).resolve().parents[3]
DEPLOY = REPO_ROOT / "deploy"
OBSERVABILITY_DOC = REPO_ROOT / "docs" / "observability.md"


def shared_dir() -> Path:
    """The project's shared contracts (SPEC, compose schema, MediaMTX reference).

    CI clones the repository with ``shared/`` beside it; ``GTV_SHARED_DIR`` overrides.
    """
    override = os.environ.get("GTV_SHARED_DIR")
    candidates = [Path(override)] if override else []
    candidates += [REPO_ROOT.parent / "shared", REPO_ROOT / "shared"]
    for candidate in candidates:
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"shared/ not found (looked in {[str(c) for c in candidates]})")


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now (the kernel picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def exported_metric_names(exposition: str) -> set[str]:
    """Series names a Prometheus text exposition offers (histograms as ``_bucket``)."""
    exported: set[str] = set()
    for line in exposition.splitlines():
        if line.startswith("# TYPE "):
            name, kind = line.split()[2:4]
            exported.add(name)
            if kind == "histogram":
                exported.add(f"{name}_bucket")
            if kind == "counter" and not name.endswith("_total"):
                exported.add(f"{name}_total")
        elif line and not line.startswith("#"):
            exported.add(re.split(r"[{ ]", line, maxsplit=1)[0])
    return exported


def documented_metric_names(marker: str) -> set[str]:
    """Metric names in the table between ``<!-- marker:begin/end -->`` of
    docs/observability.md (the contract dashboards and alerts are built on)."""
    text = OBSERVABILITY_DOC.read_text()
    body = text.split(f"<!-- {marker}:begin -->")[1].split(f"<!-- {marker}:end -->")[0]
    names: set[str] = set()
    for line in body.splitlines():
        cells = line.split("|")
        if len(cells) > 2:
            names |= set(re.findall(r"`([a-zA-Z_:][a-zA-Z0-9_:]*)`", cells[1]))
    return names


def documented_metric_labels(marker: str = "metric-contract") -> dict[str, frozenset[str]]:
    """Each contract metric's label names (the table's third column)."""
    text = OBSERVABILITY_DOC.read_text()
    body = text.split(f"<!-- {marker}:begin -->")[1].split(f"<!-- {marker}:end -->")[0]
    labels: dict[str, frozenset[str]] = {}
    for line in body.splitlines():
        cells = [cell.strip() for cell in line.split("|")]
        if len(cells) > 4 and cells[1].startswith("`"):
            names = {n.strip() for n in cells[3].split(",") if n.strip() and n.strip() != "—"}
            for metric in re.findall(r"`([a-zA-Z_:][a-zA-Z0-9_:]*)`", cells[1]):
                labels[metric] = frozenset(names)
    return labels


def exported_metric_samples(exposition: str) -> dict[str, set[frozenset[tuple[str, str]]]]:
    """Each series name of an exposition with the label sets of its samples."""
    samples: dict[str, set[frozenset[tuple[str, str]]]] = {}
    for line in exposition.splitlines():
        if not line or line.startswith("#"):
            continue
        name = re.split(r"[{ ]", line, maxsplit=1)[0]
        # Label values may hold braces (route="/api/x/{id}"): match whole quoted values.
        block = re.match(r'[^{ ]+\{((?:\s*[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*"\s*,?)*)\}',
                         line)
        pairs = re.findall(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"',
                           block.group(1)) if block else []
        samples.setdefault(name, set()).add(frozenset(pairs))
    return samples


def metric_label_drift(
    exposition: str, service: str, contract: dict[str, frozenset[str]]
) -> dict[str, list[str]]:
    """Contract metrics in ``exposition`` whose samples carry other labels than the
    contract's, or another ``service`` than ``service``: {metric: [what is wrong]}."""
    drift: dict[str, list[str]] = {}
    for name, label_sets in exported_metric_samples(exposition).items():
        if name not in contract:
            continue
        for pairs in label_sets:
            keys = {key for key, _ in pairs}
            problems = []
            if keys != contract[name]:
                problems.append(f"labels {sorted(keys)} != {sorted(contract[name])}")
            if "service" in keys and dict(pairs)["service"] != service:
                problems.append(f"service={dict(pairs)['service']}")
            if problems:
                drift.setdefault(name, []).extend(problems)
    return {name: sorted(set(problems)) for name, problems in drift.items()}


PROMQL_WORDS = {
    "by", "without", "on", "ignoring", "group_left", "group_right", "bool", "and", "or",
    "unless", "offset", "inf", "nan", "le",
}  # fmt: skip


def metric_names(expr: str) -> set[str]:
    """Metric names a PromQL expression reads (functions, labels, keywords removed)."""
    expr = re.sub(r'"(?:[^"\\]|\\.)*"', "", expr)  # string literals
    expr = re.sub(r"\{[^}]*\}", "", expr)  # label matchers
    expr = re.sub(r"\[[^\]]*\]", "", expr)  # range selectors
    expr = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", "", expr)
    names = set()
    for match in re.finditer(r"[a-zA-Z_:][a-zA-Z0-9_:]*", expr):
        following = expr[match.end() :].lstrip()
        if following.startswith("("):
            continue  # a function or aggregation
        if match.group().lower() in PROMQL_WORDS:
            continue
        names.add(match.group())
    return names


def referenced_metric_names() -> set[str]:
    """Every metric an alert rule (deploy/prometheus/alerts.yml) or a Grafana panel reads."""
    names: set[str] = set()
    for group in yaml.safe_load((DEPLOY / "prometheus" / "alerts.yml").read_text())["groups"]:
        for rule in group["rules"]:
            names |= metric_names(rule["expr"])
    for path in sorted((DEPLOY / "grafana" / "dashboards").glob("*.json")):
        for panel in json.loads(path.read_text())["panels"]:
            for inner in [panel, *panel.get("panels", [])]:
                for target in inner.get("targets", []):
                    names |= metric_names(target["expr"])
    return names
