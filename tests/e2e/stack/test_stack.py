"""The production stack runs for real (issue 13): docker-compose.yml with compose.test.yml
on top, every image built from the local Debian base, driven through HAProxy as a city's
operator would — login, a camera, live HLS, a watchlist alert on the WebSocket, the
recording listed and played back."""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.stack.conftest import ROOT, Tenant, eventually
from tests.e2e.test_demo import _collect
from tests.integration.deploy.test_kubernetes import _demo_processes
from tests.integration.deploy.test_stack_drift import NOT_SERVICES
from tools.demo.__main__ import WATCHLISTED_PLATE
from tools.stack import Stack

# The session's stack fixture (images built, stack started: minutes on a cold machine)
# runs inside the first test that asks for it, so pytest's default 300 s cannot hold it.
pytestmark = [pytest.mark.e2e, pytest.mark.timeout(1800)]
PROJECT_IMAGES = ("admin", "streaming", "dashboard", "camera-sim", "test-infra")


def test_every_healthcheck_is_green_with_the_production_replicas(stack: Stack) -> None:
    states = stack.health()
    assert {n: s for n, s in states.items() if s not in ("healthy", "exited 0")} == {}
    assert len(stack.replicas("admin")) == 3
    assert len(stack.replicas("streaming")) == 2
    assert len(stack.replicas("lpr-worker")) == 2
    # Every long-running process of the demo runs in the stack, healthy.
    services = {c.service for c in stack.containers() if c.state == "running"}
    assert sorted(_demo_processes() - NOT_SERVICES - {"admin-migrate", "streaming-migrate"}
                  - services) == []
    # Migrations ran once, as jobs: one container each, exited 0; no replica migrates.
    for job in ("db-roles", "admin-migrate", "streaming-migrate"):
        runs = stack.replicas(job)
        assert [(c.state, c.exit_code) for c in runs] == [("exited", 0)], job
    for replica in stack.replicas("admin"):
        command = json.loads(subprocess.run(
            ["podman", "inspect", "--format", "{{json .Config.Cmd}}", replica.name],
            capture_output=True, text=True, check=True).stdout)
        assert "migrate" not in command and "gunicorn" in command


def _image_root(image: str) -> Path:
    mounted = subprocess.run(["podman", "image", "mount", image], capture_output=True,
                             text=True, check=True, timeout=60)
    return Path(mounted.stdout.strip())


def _secret_values() -> list[bytes]:
    """What must never be in an image: this checkout's keys and .env's secret values."""
    values = [p.read_bytes().strip() for p in (ROOT / ".secrets").glob("*") if p.is_file()]
    for line in (ROOT / ".env").read_text().splitlines():
        key, _, value = line.partition("=")
        if re.search(r"PASSWORD|SECRET|_KEY|TOKEN", key) and len(value) >= 12:
            values.append(value.encode())
    return [v for v in values if v]


@pytest.mark.parametrize("name", PROJECT_IMAGES)
def test_images_run_as_non_root_and_hold_no_secrets(stack: Stack, name: str) -> None:
    image = f"gt-vision/{name}:latest"
    user = subprocess.run(["podman", "image", "inspect", "--format", "{{.Config.User}}", image],
                          capture_output=True, text=True, check=True).stdout.strip()
    if name == "test-infra":
        # One image, one unprivileged user per service (compose.test.yml `user:`).
        assert all(c.service for c in stack.containers())
    else:
        assert user not in ("", "root", "0"), f"{image} runs as {user or 'root'}"
    history = subprocess.run(["podman", "history", "--no-trunc", "--format", "{{.CreatedBy}}",
                              image], capture_output=True, text=True, check=True).stdout
    secrets = _secret_values()
    assert secrets, "the checkout has keys and .env (tools/scripts/compose_prepare.sh)"
    assert not [s for s in secrets if s.decode(errors="replace") in history]
    root = _image_root(image)
    try:
        found = []
        for directory in ("app", "srv", "opt", "etc", "root", "home", "tmp", "var"):
            for path in (root / directory).rglob("*"):
                relative = path.relative_to(root)
                if path.name in (".env", ".secrets", ".erlang.cookie") or (
                        path.suffix in (".pem", ".key") and "PRIVATE KEY" in _head(path)):
                    found.append(str(relative))
                elif path.is_file() and not path.is_symlink() and path.stat().st_size < 2**20:
                    content = path.read_bytes()
                    found += [f"{relative}: a secret value" for s in secrets if s in content]
        assert found == []
    finally:
        subprocess.run(["podman", "image", "unmount", image], capture_output=True, check=False)


def _head(path: Path) -> str:
    try:
        return path.read_bytes()[:4096].decode(errors="replace") if path.is_file() else ""
    except OSError:
        return ""


def _start_stream(gateway: httpx.Client, tenant: Tenant) -> str:
    def start() -> str:
        started = gateway.post(f"/api/streaming/streams/{tenant.camera_id}/start",
                               headers=tenant.headers())
        # 404 until the streaming side has the camera's event (a moment after the commit).
        assert started.status_code in (200, 404, 409, 503), started.text
        return str(started.json()["hls_url"]) if started.status_code == 200 else ""
    return str(eventually(start, 60, "the camera's stream starts"))


def test_live_hls_plays_through_the_stack(stack: Stack, gateway: httpx.Client,
                                          tenant: Tenant, tmp_path: Path) -> None:
    tenant.hls_url = _start_stream(gateway, tenant)
    assert stack.camera_password not in tenant.hls_url

    def segments() -> list[str]:
        playlist = gateway.get(tenant.hls_url)
        if playlist.status_code != 200:
            return []
        return [line for line in playlist.text.splitlines() if line and not line.startswith("#")]

    listed = eventually(segments, 90, "a live playlist with segments")
    segment = gateway.get(str(httpx.URL(tenant.hls_url).join(listed[-1])))
    assert segment.status_code == 200 and len(segment.content) > 1000
    path = tmp_path / "live.ts"
    path.write_bytes(segment.content)
    probe = subprocess.run(["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries",
                            "stream=codec_name", "-of", "csv=p=0", str(path)],
                           capture_output=True, text=True, timeout=30, check=False)
    assert set(probe.stdout.split()) == {"h264"}, probe.stderr


def test_watchlisted_plate_raises_an_alert_on_the_websocket(
    stack: Stack, gateway: httpx.Client, tenant: Tenant,
) -> None:
    if not tenant.hls_url:
        tenant.hls_url = _start_stream(gateway, tenant)
    url = f"ws://127.0.0.1:{stack.http_port}/ws/alerts?token={tenant.operator_token}"
    received = asyncio.run(_collect(url, 240, stop_on="AlertRaised"))
    alerts = [m for m in received if m.get("type") == "AlertRaised"]
    assert alerts, f"no alert; got {[m.get('type') for m in received]}"
    assert alerts[0]["payload"]["plate"] == WATCHLISTED_PLATE


def test_the_recording_is_listed_and_plays_back(
    stack: Stack, gateway: httpx.Client, tenant: Tenant, tmp_path: Path,
) -> None:
    if not tenant.hls_url:
        tenant.hls_url = _start_stream(gateway, tenant)
    since = datetime.now(UTC) - timedelta(hours=1)

    def recordings() -> list[dict[str, Any]]:
        listing = gateway.get("/api/streaming/recordings/", headers=tenant.headers(), params={
            "camera_id": tenant.camera_id, "start": since.isoformat(),
            "end": (datetime.now(UTC) + timedelta(minutes=1)).isoformat()})
        assert listing.status_code == 200, listing.text
        return list(listing.json()["results"])

    item = eventually(recordings, 90, "a completed recording segment")[0]
    assert item["size_bytes"] > 0
    playback = gateway.get(f"/api/streaming/recordings/{item['id']}/playback",
                           headers=tenant.headers())
    assert playback.status_code == 200, playback.text
    # The playback URL is presigned for the object store and handed out under the
    # gateway's origin (GTV_S3_PUBLIC_URL): a browser fetches it through HAProxy with
    # nothing but the URL (no bearer token, no cookie).
    url = playback.json()["url"]
    assert url.startswith(f"http://127.0.0.1:{stack.http_port}/objects/"), url
    assert "X-Amz-Signature=" in url
    with httpx.Client(timeout=30.0) as browser:
        fetched = browser.get(url)
        assert fetched.status_code == 200, fetched.text[:300]
        assert len(fetched.content) == item["size_bytes"]
        # Only a signed GET reaches the store: no listing, no write through the gateway.
        unsigned = browser.get(url.split("?", 1)[0])
        assert unsigned.status_code == 403, unsigned.text[:300]
        written = browser.put(url, content=b"x")
        assert written.status_code == 403, written.text[:300]
    path = tmp_path / "recording.mp4"
    path.write_bytes(fetched.content)
    probe = subprocess.run(["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries",
                            "stream=codec_name", "-of", "csv=p=0", str(path)],
                           capture_output=True, text=True, timeout=30, check=False)
    assert set(probe.stdout.split()) == {"h264"}, probe.stderr
