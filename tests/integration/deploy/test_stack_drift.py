"""The compose stack and the demo run the same processes (issue 13).

docker-compose.yml once lost the notifier and retention workers that the demo runs, so a
compose deployment never purged a recording nor sent an alert e-mail. These tests read
the demo's process list from tools/demo (every ``ProcessSpec`` it starts or runs once)
and the compose services from docker-compose.yml with compose.test.yml on top, and fail
when either side gains a process the other lacks, or runs it with another command. The
Kubernetes manifests are held to the same list by tests/integration/deploy/test_kubernetes.py
(shared here: its process reader and its exceptions).
"""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from tests.integration.deploy.deploy_support import REPO_ROOT
from tests.integration.deploy.test_kubernetes import K8S, _by_kind, _demo_processes
from tools.kustomize import render

COMPOSE = REPO_ROOT / "docker-compose.yml"
TEST_OVERLAY = REPO_ROOT / "compose.test.yml"
# Demo steps that are no long-running service in compose: collectstatic runs at image
# build time and the superadmin bootstrap is a one-off `exec` (docs/operations.md);
# Alertmanager (GTV_DEMO_MONITORING=1) belongs to the city's monitoring, not this stack.
NOT_SERVICES = {"admin-static", "superadmin", "alertmanager"}
ONE_SHOT = {"admin-migrate", "streaming-migrate"}
# In the stack only for tests (compose.test.yml): the demo's simulated cameras.
TEST_ONLY = {"camera-sim"}
# Compose services built from the project's own images that are not demo processes:
# none. Infrastructure (data stores, Kong, MediaMTX, MinIO, exporters, Grafana) is not a
# process of the demo, which uses the host's.
PROJECT_IMAGES = ("gt-vision/admin:", "gt-vision/streaming:", "gt-vision/dashboard:")


class _Loader(yaml.SafeLoader):  # type: ignore[misc]
    """PyYAML with compose's !reset and !override tags (compose.test.yml)."""


_Loader.add_constructor("!reset", lambda loader, node: None)
_Loader.add_constructor(
    "!override",
    lambda loader, node: loader.construct_sequence(node)
    if isinstance(node, yaml.SequenceNode) else loader.construct_mapping(node),
)


def _load(path: Any) -> dict[str, Any]:
    return dict(yaml.load(path.read_text(), Loader=_Loader))  # noqa: S506 - SafeLoader subclass


@pytest.fixture(scope="module")
def production() -> dict[str, dict[str, Any]]:
    return dict(_load(COMPOSE)["services"])


@pytest.fixture(scope="module")
def test_stack(production: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    services = {name: dict(s) for name, s in production.items()}
    for name, override in _load(TEST_OVERLAY)["services"].items():
        if override is None:
            services.pop(name, None)
        else:
            services[name] = {**services.get(name, {}), **override}
    return services


def _long_running(service: dict[str, Any]) -> bool:
    return bool(service.get("restart", "no") != "no")


def test_every_demo_process_is_a_compose_service_and_back(
    production: dict[str, dict[str, Any]],
) -> None:
    processes = _demo_processes() - NOT_SERVICES
    assert {"notifier", "retention", "thumbnailer", "lpr-worker"} <= processes
    services = {n for n, s in production.items() if _long_running(s)}
    jobs = {n for n, s in production.items() if not _long_running(s)}
    assert sorted(processes - ONE_SHOT - TEST_ONLY - services) == []
    assert sorted(ONE_SHOT - jobs) == []
    ours = {n for n, s in production.items()
            if str(s.get("image", "")).startswith(PROJECT_IMAGES) and _long_running(s)}
    assert sorted(ours - processes) == []


def test_the_test_stack_adds_only_the_camera_simulator(
    production: dict[str, dict[str, Any]], test_stack: dict[str, dict[str, Any]],
) -> None:
    assert sorted(set(test_stack) - set(production)) == sorted(TEST_ONLY)
    assert sorted(TEST_ONLY - _demo_processes()) == []
    for name in _demo_processes() - NOT_SERVICES:
        assert name in test_stack, f"{name}: the demo runs it, the test stack does not"


def _demo_module(process: str) -> str:
    """The module or management command the demo runs for a process (its last argument
    that names one)."""
    import ast

    tree = ast.parse((REPO_ROOT / "tools" / "demo" / "__main__.py").read_text())
    for node in ast.walk(tree):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                and node.func.id == "ProcessSpec" and node.args
                and isinstance(node.args[0], ast.Constant) and node.args[0].value == process
                and len(node.args) > 1):
            words = [n.value for n in ast.walk(node.args[1])
                     if isinstance(n, ast.Constant) and isinstance(n.value, str)]
            commands = {path.stem for path in
                        (REPO_ROOT / "admin_service").glob("*/management/commands/*.py")}
            named = [w for w in words if w.startswith(("streaming_service.", "tools."))
                     or w in commands]
            if named:
                return named[-1]
    return ""


@pytest.mark.parametrize("process", sorted(
    p for p in _demo_processes() - NOT_SERVICES - ONE_SHOT - TEST_ONLY
    if p not in ("admin", "haproxy", "dashboard", "prometheus")))
def test_compose_runs_the_same_command_as_the_demo(
    process: str, production: dict[str, dict[str, Any]],
) -> None:
    module = _demo_module(process)
    assert module, f"{process}: no module found in tools/demo"
    assert module in production[process]["command"], (
        f"{process}: demo runs {module}, compose runs {production[process]['command']}")


def test_replica_counts_match_the_kubernetes_base(
    production: dict[str, dict[str, Any]],
) -> None:
    """docker-compose.yml and deploy/k8s (production overlay) scale the same services the
    same way, and every Deployment of the cluster is a compose service."""
    deployments = _by_kind(render(K8S / "overlays" / "production"), "Deployment")
    assert sorted(set(deployments) - set(production)) == []
    for name in ("admin", "streaming", "lpr-worker"):
        assert production[name]["deploy"]["replicas"] == deployments[name]["spec"]["replicas"]
