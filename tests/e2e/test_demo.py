"""The whole system as a newcomer runs it: `python -m tools.demo`, driven through HAProxy.

One demo instance (one simulated LPR camera, its own database and RabbitMQ vhost, ports
of its own) serves every test in this module; the last test stops it with SIGTERM and
checks that nothing is left behind.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
import websockets

from tests.integration.deploy.deploy_support import (
    documented_metric_labels,
    documented_metric_names,
    exported_metric_names,
    metric_label_drift,
    referenced_metric_names,
)
from tools import db_roles
from tools.demo.isolated import DemoRun, run_isolated_demo

ROOT = Path(__file__).resolve().parents[2]
WATCHLISTED = "BRA2E19"
pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def demo(amqp_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoRun]:
    with run_isolated_demo(amqp_url, tmp_path_factory.mktemp("demo"), label="e2e") as run:
        yield run


def _login(client: httpx.Client, username: str, password: str) -> str:
    response = client.post("/api/admin/auth/token",
                           json={"username": username, "password": password})
    assert response.status_code == 200, response.text
    return str(response.json()["access"])


@pytest.fixture(scope="module")
def gateway(demo: DemoRun) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=demo.gateway, timeout=15.0) as client:
        yield client


@pytest.fixture(scope="module")
def operator_token(demo: DemoRun, gateway: httpx.Client) -> str:
    return _login(gateway, "demo-operator", demo.summary["password"])


def test_printed_credentials_log_in_and_me_shows_the_tenant(
    demo: DemoRun, gateway: httpx.Client, operator_token: str
) -> None:
    me = gateway.get("/api/admin/me", headers={"Authorization": f"Bearer {operator_token}"})
    assert me.status_code == 200
    assert me.json()["username"] == "demo-operator"
    assert demo.summary["users"], "the demo prints a user per role"
    root, root_password = demo.summary["superadmin"]
    assert root == "e2e-root"
    _login(gateway, root, root_password)


def test_every_api_and_the_admin_answer_through_haproxy(gateway: httpx.Client) -> None:
    for path in ("/api/admin/schema/", "/api/streaming/openapi.json", "/admin/login/"):
        response = gateway.get(path)
        assert response.status_code == 200, (path, response.status_code)
        assert response.headers.get("x-correlation-id"), path


def test_live_hls_plays_through_the_gateway(demo: DemoRun, gateway: httpx.Client) -> None:
    live = demo.summary["live"]
    assert live, "the demo starts the cameras' streams"
    hls_url = next(iter(live.values()))
    assert "demo:" not in hls_url and "@" not in hls_url, "no camera credentials in URLs"
    deadline = time.monotonic() + 60
    segments: list[str] = []
    while time.monotonic() < deadline:
        playlist = gateway.get(hls_url)
        if playlist.status_code == 200:
            segments = [line for line in playlist.text.splitlines()
                        if line and not line.startswith("#")]
            if segments:
                break
        time.sleep(1)
    assert segments, "the playlist never listed a segment"
    segment_url = httpx.URL(hls_url).join(segments[-1])
    segment = gateway.get(str(segment_url))
    assert segment.status_code == 200 and len(segment.content) > 1000
    path = demo.state_dir / "segment.ts"
    path.write_bytes(segment.content)
    probe = subprocess.run(
        ["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries",
         "stream=codec_name", "-of", "csv=p=0", str(path)],
        capture_output=True, text=True, timeout=30, check=False,
    )
    assert set(probe.stdout.split()) == {"h264"}, probe.stderr


async def _collect(url: str, seconds: float, stop_on: str | None = None) -> list[dict[str, Any]]:
    received: list[dict[str, Any]] = []
    async with websockets.connect(url, open_timeout=10) as socket_:
        deadline = asyncio.get_running_loop().time() + seconds
        while (remaining := deadline - asyncio.get_running_loop().time()) > 0:
            try:
                raw = await asyncio.wait_for(socket_.recv(), timeout=remaining)
            except TimeoutError:
                break
            message = json.loads(raw)
            received.append(message)
            if stop_on and message.get("type") == stop_on:
                break
    return received


def _other_tenant_token(demo: DemoRun, gateway: httpx.Client) -> str:
    root, root_password = demo.summary["superadmin"]
    admin = {"Authorization": f"Bearer {_login(gateway, root, root_password)}"}
    slug = f"outra-{uuid.uuid4().hex[:6]}"
    tenant = gateway.post("/api/cidades/prefeituras/", headers=admin,
                          json={"name": "Outra Cidade", "slug": slug})
    assert tenant.status_code == 201, tenant.text
    password = "Outra-" + uuid.uuid4().hex
    user = gateway.post("/api/admin/users/", headers=admin, json={
        "username": f"{slug}-op", "password": password,
        "tenant": tenant.json()["id"], "role": "operator",
    })
    assert user.status_code == 201, user.text
    return _login(gateway, f"{slug}-op", password)


def test_watchlisted_plate_alert_arrives_live_and_is_acknowledged(
    demo: DemoRun, gateway: httpx.Client, operator_token: str
) -> None:
    ws_base = f"ws://127.0.0.1:{demo.ports['http']}/ws/alerts?token="
    other_token = _other_tenant_token(demo, gateway)

    async def both() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        return await asyncio.gather(
            _collect(ws_base + operator_token, 150, stop_on="AlertRaised"),
            _collect(ws_base + other_token, 20),
        )

    mine, theirs = asyncio.run(both())
    alerts = [m for m in mine if m.get("type") == "AlertRaised"]
    assert alerts, f"no alert within the window; got {[m.get('type') for m in mine]}"
    alert = alerts[0]["payload"]
    assert alert["plate"] == WATCHLISTED
    assert all(m.get("type") in {"welcome", "ping"} for m in theirs), (
        "another tenant's client must receive none of this tenant's events"
    )

    headers = {"Authorization": f"Bearer {operator_token}"}
    ack = gateway.post(f"/api/ai/alerts/{alert['alert_id']}/ack", headers=headers)
    assert ack.status_code == 200, ack.text
    assert ack.json()["status"] == "acknowledged"

    found = gateway.get("/api/ai/detections/", params={"plate": WATCHLISTED}, headers=headers)
    assert found.status_code == 200
    assert any(d["plate"] == WATCHLISTED for d in found.json()["results"])


def test_operator_and_viewer_use_the_dashboard_in_a_real_browser(demo: DemoRun) -> None:
    """The dashboard's own browser script (playwright-core driving Debian's Chromium):
    live tile playing, a live watchlist alert acknowledged, plate search, its recording;
    then a viewer without operator or admin actions. Screenshots stay in var/."""
    dashboard = ROOT / "dashboard"
    assert (dashboard / "dist" / "index.html").exists(), "build the dashboard: make dashboard"
    assert (dashboard / "node_modules" / "playwright-core").is_dir(), "run: make dashboard"
    artifacts = ROOT / "var" / "test-artifacts" / "dashboard-e2e"
    artifacts.mkdir(parents=True, exist_ok=True)
    password = demo.summary["password"]
    result = subprocess.run(
        ["node", "scripts/e2e.mjs", str(artifacts)], cwd=dashboard,
        env={**os.environ, "GTV_E2E_BASE_URL": demo.gateway,
             "GTV_E2E_OPERATOR_USER": "demo-operator", "GTV_E2E_OPERATOR_PASS": password,
             "GTV_E2E_VIEWER_USER": "demo-viewer", "GTV_E2E_VIEWER_PASS": password,
             "GTV_E2E_PLATE": WATCHLISTED, "GTV_E2E_ALERT_TIMEOUT_S": "200"},
        capture_output=True, text=True, timeout=900, check=False,
    )
    assert result.returncode == 0, (result.stdout + result.stderr)[-4000:]
    summary = json.loads((artifacts / "summary.json").read_text())
    assert summary["ok"] is True
    assert list(artifacts.glob("*.png")), "screenshots are kept as artifacts"


def test_running_processes_export_every_metric_dashboards_and_alerts_use(
    demo: DemoRun,
) -> None:
    """Grafana panels and alert rules are written against docs/observability.md's contract;
    after real traffic (the tests above), the running processes must export all of it."""
    exported: set[str] = set()
    per_service: dict[str, set[str]] = {}
    contract = documented_metric_labels()
    drift = {}
    for url, service in demo.summary["metrics_services"].items():
        response = httpx.get(url, timeout=10)
        assert response.status_code == 200, url
        names = exported_metric_names(response.text)
        exported |= names
        per_service.setdefault(service, set()).update(names)
        drift.update({f"{url} {name}": problems for name, problems
                      in metric_label_drift(response.text, service, contract).items()})
    assert sorted(documented_metric_names("metric-contract") - exported) == []
    # Names AND label sets, per service: what the docs, dashboards and rules group by.
    assert drift == {}
    both = {"http_requests_total", "http_request_duration_seconds_bucket", "gtv_outbox_pending"}
    assert sorted(both - per_service["admin_service"]) == []
    assert sorted(both - per_service["streaming_service"]) == []
    assert sorted({"gtv_streams_active", "gtv_stream_restarts_total", "gtv_stream_failures_total",
                   "gtv_lpr_frames_total"} - per_service["streaming_service"]) == []
    # Every series an alert rule or a dashboard reads, unless third-party software exports it.
    referenced = referenced_metric_names() - documented_metric_names("infra-metrics")
    assert sorted(referenced - exported) == []


def test_every_service_process_connects_as_its_least_privilege_role(demo: DemoRun) -> None:
    """As in a deployment (deploy/postgres/roles.sql): services and workers run as
    gtv_admin / gtv_streaming, never as the superuser; the owners only ran migrations."""
    with psycopg.connect(db_roles.database_url(demo.db_name)) as conn:
        users = {row[0] for row in conn.execute(
            "SELECT DISTINCT usename FROM pg_stat_activity "
            "WHERE datname = %s AND pid <> pg_backend_pid()", [demo.db_name])}
        owners = {row[0] for row in conn.execute(
            "SELECT DISTINCT pg_get_userbyid(relowner) FROM pg_class "
            "WHERE relnamespace::regnamespace::text IN ('admin', 'cidades', 'streaming', 'ai') "
            "AND relkind IN ('r', 'p')")}
    assert users == {db_roles.ADMIN, db_roles.STREAMING}
    assert owners == {db_roles.ADMIN_OWNER, db_roles.STREAMING_OWNER}


def test_a_tenant_admin_discovers_onboards_and_steers_the_simulated_ptz_camera(
    demo: DemoRun, gateway: httpx.Client, operator_token: str
) -> None:
    """Issue 12 through HAProxy, as a newcomer: WS-Discovery finds the simulator's ONVIF
    camera, onboarding registers it (the RTSP URL is never typed), its health shows,
    and the streaming service steers it."""
    device = demo.summary["onvif_camera"]
    admin = {"Authorization": "Bearer " + _login(
        gateway, "demo-tenant-admin", demo.summary["password"])}
    found = gateway.post("/api/cidades/cameras/discover/", headers=admin, json={})
    assert found.status_code == 200, found.text
    by_name = {d["name"]: d for d in found.json()["results"]}
    assert set(by_name) == {device["name"]}
    ptz = by_name[device["name"]]
    assert ptz["already_registered_camera_id"] is None
    created = gateway.post("/api/cidades/cameras/onboard/", headers=admin, json={
        "name": "PTZ Praça", "device_url": ptz["device_url"],
        "username": device["username"], "password": device["password"]})
    assert created.status_code == 201, created.text
    camera = created.json()
    assert camera["ptz"] is True
    listed = gateway.get("/api/cidades/cameras/discover/", headers=admin).json()["results"]
    assert listed[0]["already_registered_camera_id"] == camera["id"]
    health = gateway.get(f"/api/cidades/cameras/{camera['id']}/onvif-health/",
                         headers=admin).json()
    assert (health["reachable"], health["authorized"]) == (True, True)
    assert gateway.get(f"/api/cidades/cameras/{camera['id']}/", headers=admin
                       ).json()["onvif_health"]["reachable"] is True
    operator = {"Authorization": f"Bearer {operator_token}"}
    absolute = f"/api/streaming/cameras/{camera['id']}/ptz/absolute"
    deadline = time.monotonic() + 30  # the streaming side learns the camera from its event
    while True:
        moved = gateway.post(absolute, headers=operator, json={"pan": 0.5, "tilt": 0.0})
        if moved.status_code != 404 or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert moved.status_code < 300, moved.text
    status = gateway.get(f"/api/streaming/cameras/{camera['id']}/ptz/status",
                         headers=operator)
    assert status.status_code == 200, status.text


def test_sigterm_stops_every_process_and_frees_the_ports(demo: DemoRun) -> None:
    os.killpg(demo.process.pid, signal.SIGTERM)
    # `make demo` stopped by Ctrl-C or SIGTERM delivers the signal twice (make forwards
    # it): the second must not interrupt the clean-up.
    time.sleep(0.3)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(demo.process.pid, signal.SIGTERM)
    assert demo.process.wait(timeout=60) == 0, demo.log_tail()
    groups = json.loads((demo.state_dir / "pids.json").read_text())
    assert {"camera-sim", "admin", "streaming", "lpr-worker", "haproxy",
            "admin-onvif-health"} <= set(groups)
    leftovers = []
    for name, pgid in groups.items():
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            continue
        leftovers.append(name)
    assert not leftovers, f"process groups left behind: {leftovers}"
    for name in ("http", "admin", "streaming", "rtsp"):
        with socket.socket() as sock:
            assert sock.connect_ex(("127.0.0.1", demo.ports[name])) != 0, name
