"""ONVIF onboarding and PTZ control as a city uses them, through HAProxy, in a real browser
(issue 12), against the demo (``python -m tools.demo``, isolated) and its simulated ONVIF
PTZ camera ``ptz1`` (not registered; its WS-Discovery responder is the admin service's
discovery target). The browser script (``dashboard/scripts/e2e-onvif-ptz.mjs``) has a
tenant admin discover it and onboard it by ONVIF (the RTSP URL is never typed), watch it
live, an operator steer it with the joystick and the keyboard, save and recall a preset,
a second operator refused by the lock and the tenant admin take over. This module then
proves the moves from the frames the browser saved (the pose the simulator burns into
each frame, and the pixels), and checks through the API that every command is in the
audit log, a viewer gets 403 and another tenant 404. Screenshots and frames stay in
``var/test-artifacts/onvif-ptz-e2e/``."""

from __future__ import annotations

import json
import os
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from PIL import Image

from tools.camera_sim.scene import read_pose
from tools.demo.isolated import DemoRun, run_isolated_demo

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "var" / "test-artifacts" / "onvif-ptz-e2e"
# The demo's simulated ONVIF PTZ camera: not registered, found by WS-Discovery.
DEMO_ONVIF_CAMERA = "ptz1"
pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def demo(amqp_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoRun]:
    with run_isolated_demo(amqp_url, tmp_path_factory.mktemp("onvif-demo"),
                           label="onvif-ptz") as run:
        yield run


def _login(client: httpx.Client, username: str, password: str) -> dict[str, str]:
    response = client.post("/api/admin/auth/token",
                           json={"username": username, "password": password})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access']}"}


def _user(client: httpx.Client, headers: dict[str, str], **fields: Any) -> str:
    password = "E2e-" + uuid.uuid4().hex + "-Pass9"
    response = client.post("/api/admin/users/", headers=headers,
                           json={**fields, "password": password})
    assert response.status_code == 201, response.text
    return password


def _pose(name: str) -> tuple[float, float, float]:
    pose = read_pose(Image.open(ARTIFACTS / name))
    assert pose is not None, f"no pose readable in {name}"
    return pose


def _pixels(name: str) -> np.ndarray:
    """The picture's grey pixels, without the clock and timestamp strips above and below
    it (they change with every frame)."""
    grey = np.asarray(Image.open(ARTIFACTS / name).convert("L"), dtype=np.float32)
    height = grey.shape[0]
    return grey[int(height * 0.19):int(height * 0.88)]


def _close(pose: tuple[float, float, float], status: dict[str, float],
           tolerance: float = 0.02) -> bool:
    return all(abs(a - status[k]) <= tolerance for a, k in zip(pose, ("pan", "tilt", "zoom"),
                                                              strict=True))


def _audit(client: httpx.Client, headers: dict[str, str], camera_id: str,
           wanted: set[str], timeout: float = 120.0) -> list[dict[str, Any]]:
    """The camera's PTZ audit entries once every wanted action is there (the streaming
    service reports them through its outbox and the bus)."""
    deadline = time.monotonic() + timeout
    while True:
        page = client.get("/api/admin/audit-logs/", headers=headers, params={
            "object_id": camera_id, "action_prefix": "ptz.", "page_size": 200})
        assert page.status_code == 200, page.text
        entries: list[dict[str, Any]] = page.json()["results"]
        if wanted <= {e["action"] for e in entries} or time.monotonic() > deadline:
            return entries
        time.sleep(2.0)


@pytest.mark.timeout(900)  # includes starting the demo (up to 4 minutes) and the browser
def test_onvif_camera_onboarded_steered_and_audited(demo: DemoRun) -> None:
    dashboard = ROOT / "dashboard"
    assert (dashboard / "dist" / "index.html").exists(), "build the dashboard: make dashboard"
    assert (dashboard / "node_modules" / "playwright-core").is_dir(), "run: make dashboard"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for old in ARTIFACTS.glob("*.png"):
        old.unlink()
    password = demo.summary["password"]
    with httpx.Client(base_url=demo.gateway, timeout=30.0) as client:
        admin = _login(client, "demo-tenant-admin", password)
        operator2 = f"demo-operator-2-{uuid.uuid4().hex[:6]}"
        operator2_password = _user(client, admin, username=operator2, role="operator",
                                   email=f"{operator2}@example.org")
        root = _login(client, *demo.summary["superadmin"])
        slug = f"outra-{uuid.uuid4().hex[:6]}"
        tenant = client.post("/api/cidades/prefeituras/", headers=root,
                             json={"name": "Outra Cidade", "slug": slug})
        assert tenant.status_code == 201, tenant.text
        other_password = _user(client, root, username=f"{slug}-admin", role="tenant_admin",
                               tenant=tenant.json()["id"])

    device_password = json.loads((demo.state_dir / "secrets.json").read_text())["camera"]
    result = subprocess.run(
        ["node", "scripts/e2e-onvif-ptz.mjs", str(ARTIFACTS)], cwd=dashboard,
        env={**os.environ, "GTV_E2E_BASE_URL": demo.gateway,
             "GTV_E2E_ADMIN_USER": "demo-tenant-admin", "GTV_E2E_ADMIN_PASS": password,
             "GTV_E2E_OPERATOR_USER": "demo-operator", "GTV_E2E_OPERATOR_PASS": password,
             "GTV_E2E_OPERATOR2_USER": operator2, "GTV_E2E_OPERATOR2_PASS": operator2_password,
             "GTV_E2E_VIEWER_USER": "demo-viewer", "GTV_E2E_VIEWER_PASS": password,
             "GTV_E2E_DISCOVER_NAME": DEMO_ONVIF_CAMERA,
             "GTV_E2E_DEVICE_USER": "demo", "GTV_E2E_DEVICE_PASS": device_password},
        capture_output=True, text=True, timeout=900, check=False,
    )
    assert result.returncode == 0, (result.stdout + result.stderr)[-4000:]
    summary = json.loads((ARTIFACTS / "summary.json").read_text())
    assert summary["ok"] is True and all(step["ok"] for step in summary["steps"])
    assert summary["steps"][0]["discovered"] >= 1, summary["steps"][0]
    assert len(list(ARTIFACTS.glob("o*.png"))) >= 11, "a screenshot per step"
    camera_id, statuses = summary["camera_id"], summary["statuses"]

    # The picture moved: each saved frame carries the pose it was drawn at, which is
    # where the camera said it was; and the pixels differ.
    before, after = _pose("f01-before-move.png"), _pose("f02-after-move.png")
    assert _close(before, statuses["before_move"]), (before, statuses["before_move"])
    assert _close(after, statuses["after_move"]), (after, statuses["after_move"])
    assert after[0] > before[0] + 0.1
    moved = np.abs(_pixels("f01-before-move.png") - _pixels("f02-after-move.png")).mean()
    assert moved > 10, f"mean pixel difference after the move: {moved:.1f}"
    # The preset: away from it, then back where it was saved.
    at, away = _pose("f03-at-preset.png"), _pose("f04-away.png")
    back = _pose("f05-recalled.png")
    assert _close(at, statuses["preset"]) and _close(back, statuses["preset"]), (at, back)
    assert not _close(away, statuses["preset"], tolerance=0.1), (away, at)
    assert np.abs(_pixels("f03-at-preset.png") - _pixels("f05-recalled.png")).mean() < moved / 4

    with httpx.Client(base_url=demo.gateway, timeout=30.0) as client:
        admin = _login(client, "demo-tenant-admin", password)
        # Every command is in the audit log, with who gave it.
        wanted = {"ptz.move", "ptz.stop", "ptz.preset.set", "ptz.preset.goto",
                  "ptz.lock.takeover"}
        entries = _audit(client, admin, camera_id, wanted)
        actions = {e["action"] for e in entries}
        assert wanted <= actions, sorted(actions)
        by = {(e["action"], e["username"]) for e in entries}
        assert ("ptz.move", "demo-operator") in by and ("ptz.move", "demo-tenant-admin") in by
        assert ("ptz.lock.takeover", "demo-tenant-admin") in by
        preset_set = next(e for e in entries if e["action"] == "ptz.preset.set")
        assert summary["preset_name"] in json.dumps(preset_set["after"], ensure_ascii=False)
        # The onboarding itself is audited, and no secret of the device reached the log.
        onboarded = client.get("/api/admin/audit-logs/", headers=admin, params={
            "object_id": camera_id, "object_type": "camera"}).json()["results"]
        assert onboarded and device_password not in json.dumps(onboarded)

        # A viewer may not steer; another tenant does not see the camera at all.
        viewer = _login(client, "demo-viewer", password)
        other = _login(client, f"{slug}-admin", other_password)
        ptz = f"/api/streaming/cameras/{camera_id}/ptz"
        for method, path in (("GET", "/status"), ("POST", "/move"), ("GET", "/presets")):
            body = {"pan": 0.5} if path == "/move" else None
            refused = client.request(method, ptz + path, headers=viewer, json=body)
            assert refused.status_code == 403, (path, refused.text)
            hidden = client.request(method, ptz + path, headers=other, json=body)
            assert hidden.status_code == 404, (path, hidden.text)
        assert client.get(f"/api/cidades/cameras/{camera_id}/", headers=other).status_code == 404
