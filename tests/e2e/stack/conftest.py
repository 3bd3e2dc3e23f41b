"""The production compose stack, built and started once for this package (issue 13).

``make images`` (tools/scripts/build_images.sh) and ``python -m tools.stack up`` run here:
every image from the local Debian base, then docker-compose.yml with compose.test.yml on
top, all healthchecks green. The stack is torn down (containers, networks, volumes) after
the package's last test, so the rest of the run does not share the CPU with it. The tests
skip only when podman cannot be installed on this machine;
any other failure (a build, a healthcheck) fails them. Build, start and test durations go
to var/bench/stack.md, not into assertions.
"""

from __future__ import annotations

import os
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.integration.deploy.deploy_support import free_port
from tools.demo.__main__ import WATCHLISTED_PLATE, camera_plates
from tools.stack import Stack

ROOT = Path(__file__).resolve().parents[3]
TIMINGS: dict[str, float] = {}


def _run(*command: str, timeout: float) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=timeout,
                          check=False)


@pytest.fixture(scope="package")
def stack() -> Iterator[Stack]:
    started = time.monotonic()
    install = _run(str(ROOT / "tools" / "scripts" / "install_containers.sh"), timeout=900)
    if install.returncode != 0:
        pytest.skip(f"podman cannot be installed here: {install.stderr.strip()[-500:]}")
    build = _run(str(ROOT / "tools" / "scripts" / "build_images.sh"), timeout=1800)
    assert build.returncode == 0, (build.stdout + build.stderr)[-4000:]
    TIMINGS["install and build (s)"] = time.monotonic() - started
    running = Stack(http_port=free_port(), https_port=free_port(), stats_port=free_port(),
                    prometheus_port=free_port(), camera_plates=camera_plates(1))
    running.down()  # what an interrupted earlier run may have left
    try:
        TIMINGS["start until every healthcheck is green (s)"] = running.up(timeout=420)
        tests_started = time.monotonic()
        yield running
        TIMINGS["stack tests (s)"] = time.monotonic() - tests_started
    finally:
        down_started = time.monotonic()
        running.down()
        TIMINGS["tear-down (s)"] = time.monotonic() - down_started
        _report()


def _report() -> None:
    lines = ["## The compose stack (tests/e2e/stack)", "",
             f"podman, {os.cpu_count()} CPUs; images from var/bench/images.md.", "",
             "| measurement | value |", "|---|---|"]
    lines += [f"| {name} | {seconds:.0f} |" for name, seconds in TIMINGS.items()]
    out = ROOT / "var" / "bench"
    out.mkdir(parents=True, exist_ok=True)
    (out / "stack.md").write_text("\n".join(lines) + "\n")


@dataclass
class Tenant:
    """A prefeitura made through the stack's API, its operator, and its LPR camera."""

    gateway: str
    operator_token: str
    admin_token: str
    camera_id: str = ""
    hls_url: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def headers(self, token: str | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {token or self.operator_token}"}


def login(client: httpx.Client, username: str, password: str) -> str:
    response = client.post("/api/admin/auth/token",
                           json={"username": username, "password": password})
    assert response.status_code == 200, response.text
    return str(response.json()["access"])


@pytest.fixture(scope="package")
def gateway(stack: Stack) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=f"http://127.0.0.1:{stack.http_port}", timeout=20.0) as client:
        yield client


@pytest.fixture(scope="package")
def tenant(stack: Stack, gateway: httpx.Client) -> Tenant:
    """Superadmin bootstrapped in an admin replica (as docs/operations.md says), then
    everything else through HAProxy: a prefeitura, its admin and operator, a watchlist with
    the simulator's watchlisted plate, and the LPR camera with continuous recording."""
    root_password = "Root-" + uuid.uuid4().hex
    admin_replica = stack.replicas("admin")[0].name
    subprocess.run(
        ["podman", "exec", "-e", "GTV_SUPERADMIN_USERNAME=stack-root",
         "-e", f"GTV_SUPERADMIN_PASSWORD={root_password}", admin_replica,
         "python", "admin_service/manage.py", "bootstrap_superadmin", "--reset-password"],
        check=True, capture_output=True, timeout=120)
    root = {"Authorization": f"Bearer {login(gateway, 'stack-root', root_password)}"}
    slug = f"stack-{uuid.uuid4().hex[:6]}"
    created = gateway.post("/api/cidades/prefeituras/", headers=root,
                           json={"name": "Cidade da Pilha", "slug": slug})
    assert created.status_code == 201, created.text
    password = "Pilha-" + uuid.uuid4().hex
    for role in ("tenant_admin", "operator"):
        user = gateway.post("/api/admin/users/", headers=root, json={
            "username": f"{slug}-{role}", "password": password,
            "tenant": created.json()["id"], "role": role})
        assert user.status_code == 201, user.text
    made = Tenant(gateway=str(gateway.base_url),
                  operator_token=login(gateway, f"{slug}-operator", password),
                  admin_token=login(gateway, f"{slug}-tenant_admin", password))
    made.extra.update(slug=slug, password=password)

    watchlist = gateway.post("/api/ai/watchlists/", headers=made.headers(),
                             json={"name": "Veículos roubados", "description": "stack e2e"})
    assert watchlist.status_code == 201, watchlist.text
    entry = gateway.post(f"/api/ai/watchlists/{watchlist.json()['id']}/entries/",
                         headers=made.headers(),
                         json={"plate": WATCHLISTED_PLATE, "reason": "Roubo", "severity": "high"})
    assert entry.status_code == 201, entry.text

    camera_url = f"rtsp://demo:{stack.camera_password}@camera-sim:8554/cam1"
    camera = gateway.post("/api/cidades/cameras/", headers=made.headers(made.admin_token),
                          json={"name": "Camera 01", "rtsp_url": camera_url,
                                "lpr_enabled": True, "recording_mode": "continuous"})
    assert camera.status_code == 201, camera.text
    assert stack.camera_password not in camera.text
    made.camera_id = camera.json()["id"]
    return made


def eventually(probe: Any, timeout: float, what: str, interval: float = 1.0) -> Any:
    """``probe()`` until it returns something truthy; its last value otherwise fails."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = probe()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"{what}: not within {timeout:.0f} s (last: {str(last)[:300]})")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """A failed stack test carries the last 200 lines of every container's log: the stack is
    torn down after the package, so a CI run's output is the only place to read them."""
    outcome = yield
    report = outcome.get_result()  # type: ignore[attr-defined]
    running = getattr(item, "funcargs", {}).get("stack")
    if report.when != "call" or not report.failed or not isinstance(running, Stack):
        return
    for container in running.containers():
        report.sections.append(
            (f"podman logs {container.name} ({container.state})", running.logs(container.name, 200))
        )
