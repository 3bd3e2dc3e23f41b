"""Kubernetes manifests (deploy/k8s): every overlay renders, every object is valid against
the pinned Kubernetes schema (kubernetes-validate, strict), and the manifests keep the
promises of docs/operations.md: every process of the demo has a Deployment, probes on
/health and /ready, resources on every container, HPAs, PDBs, network policies and
secrets only from Secret objects."""

from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest

from tests.integration.deploy.deploy_support import DEPLOY, REPO_ROOT
from tools.kustomize import KustomizeError, render, strategic_merge

K8S = DEPLOY / "k8s"
OVERLAYS = sorted(p.parent for p in (K8S / "overlays").glob("*/kustomization.yaml"))
KUBERNETES_VERSION = "1.33.0"
# Processes of tools/demo that are not workloads of a cluster: database set-up steps run
# as Jobs there (db-roles, migrations), collectstatic runs at image build time, and the
# superadmin bootstrap is a one-off `kubectl exec` (docs/operations.md); Prometheus and
# Alertmanager (GTV_DEMO_MONITORING=1) are the cluster's monitoring stack, which scrapes
# the pods by their prometheus.io annotations.
NOT_DEPLOYMENTS = {"admin-static", "superadmin", "prometheus", "alertmanager"}
JOBS_FOR = {"admin-migrate": "admin-migrate", "streaming-migrate": "streaming-migrate"}
# Demo process name -> Deployment name, where they differ.
DEPLOYMENT_FOR = {"camera-sim": "camera-sim"}

Obj = dict[str, Any]


def _by_kind(objects: list[Obj], kind: str) -> dict[str, Obj]:
    return {o["metadata"]["name"]: o for o in objects if o["kind"] == kind}


@pytest.fixture(scope="module", params=[p.name for p in OVERLAYS])
def overlay(request: pytest.FixtureRequest) -> list[Obj]:
    return render(K8S / "overlays" / request.param)


def test_both_overlays_exist() -> None:
    assert {p.name for p in OVERLAYS} == {"production", "demo"}


def test_every_object_is_valid_against_the_pinned_kubernetes_schema(overlay: list[Obj]) -> None:
    errors = {}
    for obj in overlay:
        try:
            kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)
        except kubernetes_validate.ValidationError as exc:
            errors[f"{obj['kind']}/{obj['metadata']['name']}"] = str(exc)[:300]
    assert errors == {}


def test_validation_would_catch_a_wrong_field() -> None:
    broken = render(K8S / "overlays" / "production")
    deployment = _by_kind(broken, "Deployment")["admin"]
    deployment["spec"]["template"]["spec"]["containers"][0]["livenesProbe"] = {}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, KUBERNETES_VERSION, strict=True)


def _demo_processes() -> set[str]:
    """The names of every ProcessSpec tools/demo starts or runs once."""
    tree = ast.parse((REPO_ROOT / "tools" / "demo" / "__main__.py").read_text())
    names = set()
    for node in ast.walk(tree):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                and node.func.id == "ProcessSpec" and node.args
                and isinstance(node.args[0], ast.Constant)):
            names.add(str(node.args[0].value))
    return names


def test_every_process_the_demo_runs_has_a_deployment_or_a_job() -> None:
    processes = _demo_processes()
    assert {"admin", "streaming", "lpr-worker", "retention", "haproxy"} <= processes
    demo = render(K8S / "overlays" / "demo")
    deployments, jobs = _by_kind(demo, "Deployment"), _by_kind(demo, "Job")
    missing = []
    for process in sorted(processes - NOT_DEPLOYMENTS):
        if process in JOBS_FOR:
            if JOBS_FOR[process] not in jobs:
                missing.append(process)
        elif DEPLOYMENT_FOR.get(process, process) not in deployments:
            missing.append(process)
    assert missing == []
    production = _by_kind(render(K8S / "overlays" / "production"), "Deployment")
    assert sorted(set(deployments) - set(production)) == ["camera-sim"]


def test_migrations_and_roles_run_as_jobs_with_the_owner_urls(overlay: list[Obj]) -> None:
    jobs = _by_kind(overlay, "Job")
    assert {"db-roles", "admin-migrate", "streaming-migrate"} <= set(jobs)
    for name in ("admin-migrate", "streaming-migrate"):
        container = jobs[name]["spec"]["template"]["spec"]["containers"][0]
        env = {e["name"]: e for e in container["env"]}
        key = env["GTV_MIGRATION_DATABASE_URL"]["valueFrom"]["secretKeyRef"]["key"]
        assert key == f"{name.split('-')[0]}-migration-database-url"
        assert jobs[name]["spec"]["template"]["spec"]["restartPolicy"] == "Never"


def test_apis_probe_health_and_ready_and_workers_their_heartbeat(overlay: list[Obj]) -> None:
    deployments = _by_kind(overlay, "Deployment")
    for name in ("admin", "streaming"):
        container = deployments[name]["spec"]["template"]["spec"]["containers"][0]
        assert container["livenessProbe"]["httpGet"]["path"] == "/health"
        assert container["readinessProbe"]["httpGet"]["path"] == "/ready"
    workers = [d for d in deployments.values()
               if d["spec"]["template"]["metadata"]["labels"].get("gtv/tier") == "worker"]
    assert len(workers) >= 8
    for worker in workers:
        probe = worker["spec"]["template"]["spec"]["containers"][0]["livenessProbe"]
        assert "GTV_HEARTBEAT_FILE" in " ".join(probe["exec"]["command"])


def test_every_container_has_requests_limits_and_a_probe(overlay: list[Obj]) -> None:
    for obj in overlay:
        if obj["kind"] not in ("Deployment", "Job"):
            continue
        for container in obj["spec"]["template"]["spec"]["containers"]:
            where = f"{obj['kind']}/{obj['metadata']['name']}"
            assert {"cpu", "memory"} <= set(container["resources"]["requests"]), where
            assert {"cpu", "memory"} <= set(container["resources"]["limits"]), where
            assert container["securityContext"]["allowPrivilegeEscalation"] is False, where
            if obj["kind"] == "Deployment":
                assert "livenessProbe" in container, where


# Pods that reach PostgreSQL, Redis or RabbitMQ by name: every one but the edge, the media
# server and the demo's camera.
NO_DATA_CLIENTS = {"haproxy", "dashboard", "mediamtx", "camera-sim"}


def test_pods_that_reach_the_data_stores_give_up_a_silent_dns_server_quickly(
    overlay: list[Obj],
) -> None:
    """As in the compose file (x-dns): 1 s a try, twice round, not glibc's 5 s."""
    checked = []
    for obj in overlay:
        if obj["kind"] not in ("Deployment", "Job") or obj["metadata"]["name"] in NO_DATA_CLIENTS:
            continue
        options = obj["spec"]["template"]["spec"].get("dnsConfig", {}).get("options", [])
        assert {o["name"]: o["value"] for o in options} == {"timeout": "1", "attempts": "2"}, \
            obj["metadata"]["name"]
        checked.append(obj["metadata"]["name"])
    assert {"admin", "streaming", "lpr-worker", "streaming-migrate"} <= set(checked)


def test_hpas_scale_streaming_and_lpr_on_cpu_and_their_queue(overlay: list[Obj]) -> None:
    hpas = _by_kind(overlay, "HorizontalPodAutoscaler")
    deployments = _by_kind(overlay, "Deployment")
    assert set(hpas) == {"streaming", "lpr-worker"}
    for name, hpa in hpas.items():
        assert hpa["spec"]["scaleTargetRef"]["name"] in deployments
        kinds = {m["type"] for m in hpa["spec"]["metrics"]}
        assert "Resource" in kinds and kinds & {"Pods", "External"}, name
        assert hpa["spec"]["minReplicas"] <= hpa["spec"]["maxReplicas"]
    external = [m["external"]["metric"]["name"] for m in hpas["lpr-worker"]["spec"]["metrics"]
                if m["type"] == "External"]
    queries = (DEPLOY / "prometheus" / "postgres-exporter-queries.yaml").read_text()
    adapter = (K8S / "prometheus-adapter-rules.yaml").read_text()
    for metric in external:  # the queue metric is really exported and served to the HPA
        prefix, _, column = metric.rpartition("_")
        assert re.search(rf"^{prefix}:", queries, re.M) and f"- {column}:" in queries
        assert metric in adapter


def test_every_replicated_deployment_has_a_disruption_budget(overlay: list[Obj]) -> None:
    budgets = _by_kind(overlay, "PodDisruptionBudget")
    for name in ("admin", "streaming", "lpr-worker", "haproxy"):
        assert budgets[name]["spec"]["selector"]["matchLabels"] == {
            "app.kubernetes.io/name": name}


def test_network_policies_deny_by_default_and_admit_only_named_peers(
    overlay: list[Obj],
) -> None:
    policies = _by_kind(overlay, "NetworkPolicy")
    default = policies["default-deny-ingress"]["spec"]
    assert default["podSelector"] == {} and "ingress" not in default
    admitted_pods: dict[str, list[Any]] = {}
    for policy in policies.values():
        selected = policy["spec"]["podSelector"].get("matchLabels", {}).get(
            "app.kubernetes.io/name")
        if selected:
            admitted_pods[selected] = policy["spec"].get("ingress", [])
    for internal in ("admin", "streaming", "dashboard"):  # never open to the world
        assert admitted_pods[internal], internal
        assert all(rule.get("from") for rule in admitted_pods[internal]), internal
    mediamtx_api = [r for r in admitted_pods["mediamtx"]
                    if any(p["port"] == 9997 for p in r.get("ports", []))]
    assert mediamtx_api and all(r.get("from") for r in mediamtx_api)
    # The playback server (event clips) is for the streaming service only.
    playback = [r for r in admitted_pods["mediamtx"]
                if any(p["port"] == 9996 for p in r.get("ports", []))]
    assert playback and all(r.get("from") for r in playback)


def _secret_refs(obj: Obj) -> set[str]:
    refs: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if "secretKeyRef" in node:
                refs.add(node["secretKeyRef"]["key"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(obj)
    return refs


def test_secrets_come_from_secret_objects_and_none_is_committed(overlay: list[Obj]) -> None:
    documented = {line.split("=")[0] for line in (K8S / "secrets.example.env").read_text()
                  .splitlines() if line and not line.startswith("#")}
    used: set[str] = set()
    for obj in overlay:
        assert obj["kind"] != "Secret", "secrets are created out of band, never committed"
        used |= _secret_refs(obj)
    assert used and used <= documented
    secret_words = re.compile(r"(PASSWORD|SECRET|_KEY$|DATABASE_URL|AMQP_URL|REDIS_URL)")
    for config in _by_kind(overlay, "ConfigMap").values():
        leaked = [k for k in config["data"] if secret_words.search(k) and "FILE" not in k]
        assert leaked == [], config["metadata"]["name"]


def test_the_renderer_refuses_what_it_does_not_implement(tmp_path: Path) -> None:
    (tmp_path / "kustomization.yaml").write_text("resources: []\ncommonLabels: {a: b}\n")
    with pytest.raises(KustomizeError):
        render(tmp_path)


def test_strategic_merge_merges_containers_by_name() -> None:
    target = {"containers": [{"name": "a", "image": "x", "env": [{"name": "A", "value": "1"}]},
                             {"name": "b", "image": "y"}]}
    patch = {"containers": [{"name": "a", "env": [{"name": "B", "value": "2"}]}]}
    merged = strategic_merge(target, patch)
    a = next(c for c in merged["containers"] if c["name"] == "a")
    assert a["image"] == "x"
    assert [e["name"] for e in a["env"]] == ["A", "B"]
    assert {c["name"] for c in merged["containers"]} == {"a", "b"}
