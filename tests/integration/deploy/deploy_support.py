"""Helpers of the deployment tests: repository paths, the shared contracts, free ports."""

from __future__ import annotations

import os
import re
import socket
from pathlib import Path

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
