"""``python -m tools.demo``: the whole of GT-Vision on one machine, with simulated cameras.

Migrates both services, seeds a demo prefeitura (a user per role, cameras, a watchlist),
starts the camera simulator, both services, their workers and HAProxy in front, prints
the URLs and credentials, and runs until Ctrl-C or SIGTERM, when it stops every process it
started. Running it again needs no clean-up: seeding is idempotent.

Ports and credentials come from the environment (``GTV_HTTP_PORT``,
``GTV_SUPERADMIN_USERNAME``/``GTV_SUPERADMIN_PASSWORD``, ``GTV_DEMO_*``); see docs/demo.md.
The database (``GTV_DEMO_DB_NAME``, else ``GTV_DB_NAME``, else ``gtvision``) must exist;
the demo bootstraps the production roles in it (tools/db_roles.py, as the superuser
``GTV_DB_SUPERUSER_URL``), migrates each service as its owner role and runs each as its
least-privilege role, as a deployment does.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import secrets
import signal
import socket
import string
import subprocess
import sys
import time
from pathlib import Path
from types import FrameType

import httpx

from tools import db_roles
from tools.demo import monitoring
from tools.demo.supervisor import ProcessSpec, Supervisor

ROOT = Path(__file__).resolve().parents[2]
PY = sys.executable
MANAGE = [PY, str(ROOT / "admin_service" / "manage.py")]

# Each simulated camera shows a stream of vehicles (about 1.5 s apart) with these plates,
# in a loop of ~45 s, so a plate comes back after the LPR de-duplication window the demo
# sets (GTV_LPR_DEDUPE_WINDOW_SECONDS=20). Camera 01 is the LPR camera and shows the
# watchlisted plate once per loop.
VEHICLES_PER_CAMERA = 30
WATCHLISTED_PLATE = "BRA2E19"
# The simulator listens on loopback, which the camera network policy refuses unless it is
# allowed explicitly (docs/security.md): the demo allows it for every process,
# on top of whatever networks the environment already allows.
SIMULATOR_NETWORKS = "127.0.0.0/8,::1/128"
# The simulated ONVIF PTZ camera to discover and onboard (docs/onvif_ptz.md).
ONVIF_CAMERA = "ptz1"


def allowed_camera_networks(current: str | None) -> str:
    """``GTV_CAMERA_ALLOWED_NETWORKS`` for the demo: the given value plus loopback."""
    current = (current or "").strip()
    if current.startswith("["):
        return json.dumps([*json.loads(current), *SIMULATOR_NETWORKS.split(",")])
    return f"{current},{SIMULATOR_NETWORKS}" if current else SIMULATOR_NETWORKS


def camera_plates(index: int) -> list[str]:
    """A deterministic mix of old (ABC1234) and Mercosul (ABC1D23) plates for a camera."""
    rng = random.Random(f"gt-vision-demo-camera-{index}")  # noqa: S311 - not security
    letters, digits = string.ascii_uppercase, string.digits
    plates: list[str] = [WATCHLISTED_PLATE] if index == 1 else []
    while len(plates) < VEHICLES_PER_CAMERA:
        head = "".join(rng.choices(letters, k=3))
        if rng.random() < 0.5:
            plate = head + "".join(rng.choices(digits, k=4))
        else:
            plate = f"{head}{rng.choice(digits)}{rng.choice(letters)}{rng.choice(digits)}" \
                f"{rng.choice(digits)}"
        if plate not in plates and plate != WATCHLISTED_PLATE:
            plates.append(plate)
    return plates


def _env_int(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


def _port_free(port: int, kind: socket.SocketKind = socket.SOCK_STREAM) -> bool:
    with socket.socket(socket.AF_INET, kind) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


class Demo:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.http_port = _env_int("GTV_HTTP_PORT", 8080)
        self.admin_port = _env_int("GTV_DEMO_ADMIN_PORT", 8000)
        self.streaming_port = _env_int("GTV_DEMO_STREAMING_PORT", 8001)
        self.dashboard_port = _env_int("GTV_DEMO_DASHBOARD_PORT", 8002)
        self.rtsp_port = _env_int("GTV_DEMO_RTSP_PORT", 8554)
        # UDP, on 127.0.0.1: the simulator's WS-Discovery responder.
        self.discovery_port = _env_int("GTV_DEMO_DISCOVERY_PORT", 3702)
        self.stats_port = _env_int("GTV_DEMO_STATS_PORT", 8404)
        self.lpr_metrics_port = _env_int("GTV_DEMO_LPR_METRICS_PORT", 9200)
        self.relay_metrics_port = _env_int("GTV_DEMO_ADMIN_RELAY_METRICS_PORT", 9201)
        # GTV_DEMO_MONITORING=1: Prometheus and Alertmanager watch the demo (monitoring.py).
        self.monitoring = os.environ.get("GTV_DEMO_MONITORING", "") == "1"
        self.prometheus_port = _env_int("GTV_DEMO_PROMETHEUS_PORT", 9090)
        self.alertmanager_port = _env_int("GTV_DEMO_ALERTMANAGER_PORT", 9093)
        self.cameras = max(1, min(16, _env_int("GTV_DEMO_CAMERAS", 3)))
        self.state_dir = Path(os.environ.get("GTV_DEMO_STATE_DIR", ROOT / "var" / "demo"))
        self.gateway = f"http://127.0.0.1:{self.http_port}"
        # Generated once and kept in the state folder: the seeded cameras' URLs embed the
        # simulator's password, so a second run must present the same one.
        kept = _kept_secrets(self.state_dir / "secrets.json")
        self.camera_password = os.environ.get("GTV_DEMO_CAMERA_PASSWORD") or kept["camera"]
        self.user_password = os.environ.get("GTV_DEMO_PASSWORD") or kept["users"]
        self.superadmin_user = os.environ.get("GTV_SUPERADMIN_USERNAME", "superadmin")
        self.superadmin_password = os.environ.get("GTV_SUPERADMIN_PASSWORD") or kept["superadmin"]
        self.stats_password = os.environ.get("GTV_HAPROXY_STATS_PASSWORD") or kept["stats"]
        self.db_name = (os.environ.get("GTV_DEMO_DB_NAME") or os.environ.get("GTV_DB_NAME")
                        or "gtvision")
        # Each service's processes: its runtime role, and its owner for the migrations.
        roles = db_roles.service_environment(self.db_name)
        self.admin_env, self.streaming_env = roles["admin"], roles["streaming"]
        env = dict(os.environ)
        env.pop("GTV_DB_NAME", None)
        env.pop("GTV_STREAMING_DB_NAME", None)
        env.update(
            {
                "PYTHONPATH": f"{ROOT}{os.pathsep}{ROOT / 'admin_service'}",
                "DJANGO_SETTINGS_MODULE": "config.settings",
                "PYTHONUNBUFFERED": "1",
                "GTV_SUPERADMIN_USERNAME": self.superadmin_user,
                "GTV_SUPERADMIN_PASSWORD": self.superadmin_password,
                "GTV_PUBLIC_BASE_URL": env.get("GTV_PUBLIC_BASE_URL", self.gateway),
                "GTV_MEDIA_ROOT": str(self.state_dir / "media"),
                "GTV_OBJECT_STORE_ROOT": str(self.state_dir / "objects"),
                "GTV_SEGMENT_SECONDS": env.get("GTV_SEGMENT_SECONDS", "10"),
                "GTV_METRICS_PORT": "0",
                "GTV_CAMERA_ALLOWED_NETWORKS": allowed_camera_networks(
                    env.get("GTV_CAMERA_ALLOWED_NETWORKS")),
                # The admin service's WS-Discovery probes go to the simulator's responder.
                "GTV_ONVIF_DISCOVERY_TARGETS": env.get(
                    "GTV_ONVIF_DISCOVERY_TARGETS", f"127.0.0.1:{self.discovery_port}"),
                # HAProxy runs on this machine: both services believe its X-Forwarded-For
                # (and nobody else's), so audit entries name the real client address.
                "GTV_TRUSTED_PROXIES": env.get("GTV_TRUSTED_PROXIES", "127.0.0.1,::1"),
            }
        )
        self.env = env
        self.supervisor = Supervisor(
            self.state_dir / "logs", env, pid_file=self.state_dir / "pids.json"
        )

    # --- steps --------------------------------------------------------------------------

    def check_ports(self) -> None:
        ports = {
            "gateway": self.http_port, "admin": self.admin_port,
            "streaming": self.streaming_port, "dashboard": self.dashboard_port,
            "rtsp": self.rtsp_port, "haproxy stats": self.stats_port,
            "lpr metrics": self.lpr_metrics_port,
            "admin relay metrics": self.relay_metrics_port,
        }
        if self.monitoring:
            ports.update({"prometheus": self.prometheus_port,
                          "alertmanager": self.alertmanager_port})
        busy = [f"{name} :{port}" for name, port in ports.items() if not _port_free(port)]
        if not _port_free(self.discovery_port, socket.SOCK_DGRAM):
            busy.append(f"ws-discovery udp :{self.discovery_port}")
        if busy:
            raise SystemExit(
                "ports in use: " + ", ".join(busy)
                + " (another demo running? set GTV_HTTP_PORT / GTV_DEMO_*_PORT)"
            )

    def setup(self) -> list[str]:
        say(f"preparing the database roles in {self.db_name}")
        try:
            db_roles.bootstrap_roles(self.db_name)
        except RuntimeError as exc:
            raise SystemExit(f"database roles: {exc}") from exc
        say("migrating the admin service")
        self.supervisor.run_once(ProcessSpec(
            "admin-migrate", [*MANAGE, "migrate", "--noinput"], env=self.admin_env))
        self.supervisor.run_once(ProcessSpec(
            "admin-static", [*MANAGE, "collectstatic", "--noinput", "-v0"], env=self.admin_env))
        say("migrating the streaming service")
        self.supervisor.run_once(ProcessSpec(
            "streaming-migrate", [PY, "-m", "streaming_service.migrate"], env=self.streaming_env))
        self.supervisor.run_once(ProcessSpec(
            "superadmin", [*MANAGE, "bootstrap_superadmin", "--reset-password"],
            env=self.admin_env))
        urls = [self.camera_url(i) for i in range(1, self.cameras + 1)]
        say("seeding the demo prefeitura")
        result = subprocess.run(
            [*MANAGE, "seed_demo", f"--password={self.user_password}", "--lpr-camera", "1",
             "--cameras", str(self.cameras), *(a for u in urls for a in ("--camera-url", u))],
            env={**self.env, **self.admin_env}, capture_output=True, text=True, timeout=120,
            check=False,
        )
        if result.returncode != 0:
            sys.stderr.write(result.stdout + result.stderr)
            raise SystemExit("seeding the demo failed")
        return [line for line in result.stdout.splitlines() if line.strip()]

    def camera_url(self, index: int) -> str:
        return f"rtsp://demo:{self.camera_password}@127.0.0.1:{self.rtsp_port}/cam{index}"

    def start_processes(self) -> None:
        # "--opt=value": a generated secret may start with "-".
        sim_args = [PY, "-m", "tools.camera_sim", "--port", str(self.rtsp_port),
                    "--user", "demo", f"--password={self.camera_password}",
                    # One more camera, not seeded: an ONVIF PTZ camera that a newcomer
                    # discovers (WS-Discovery on loopback, GTV_ONVIF_DISCOVERY_TARGETS)
                    # and onboards. The seeded cameras keep their traffic for LPR.
                    "--camera", ONVIF_CAMERA, "--onvif-camera", ONVIF_CAMERA,
                    "--discovery-port", str(self.discovery_port)]
        for index in range(1, self.cameras + 1):
            sim_args += ["--camera", f"cam{index}:{','.join(camera_plates(index))}"]
        specs = [
            ProcessSpec("camera-sim", sim_args),
            ProcessSpec("admin", [
                str(Path(PY).parent / "gunicorn"),
                "-c", str(ROOT / "admin_service" / "gunicorn.conf.py"),
                "--bind", f"127.0.0.1:{self.admin_port}", "--graceful-timeout", "5",
            ], env={**self.admin_env,
                    "PROMETHEUS_MULTIPROC_DIR": str(self.state_dir / "prometheus-admin")}),
            ProcessSpec("admin-outbox-relay", [*MANAGE, "run_outbox_relay"],
                        env={**self.admin_env,
                             "GTV_METRICS_PORT": str(self.relay_metrics_port)}),
            ProcessSpec("admin-event-consumer", [*MANAGE, "consume_domain_events"],
                        env=self.admin_env),
            ProcessSpec("admin-onvif-health", [*MANAGE, "run_onvif_health"],
                        env={**self.admin_env, "GTV_ONVIF_HEALTH_INTERVAL_SECONDS": self.env.get(
                            "GTV_ONVIF_HEALTH_INTERVAL_SECONDS", "60")}),
            # One worker per CPU (streaming_service/serve.py); each camera's ffmpeg runs in
            # the worker that owns it.
            ProcessSpec("streaming", [
                PY, "-m", "streaming_service.serve", "--host", "127.0.0.1",
                "--port", str(self.streaming_port), "--timeout-graceful-shutdown", "5",
            ], env=self.streaming_env),
            ProcessSpec("streaming-event-consumer",
                        [PY, "-m", "streaming_service.workers.event_consumer"],
                        env=self.streaming_env),
            ProcessSpec("streaming-outbox-relay",
                        [PY, "-m", "streaming_service.workers.outbox_relay"],
                        env=self.streaming_env),
            ProcessSpec("lpr-worker", [PY, "-m", "streaming_service.workers.lpr_worker"],
                        env={**self.streaming_env,
                             "GTV_LPR_DEDUPE_WINDOW_SECONDS": self.env.get(
                                 "GTV_LPR_DEDUPE_WINDOW_SECONDS", "20"),
                             "GTV_METRICS_PORT": str(self.lpr_metrics_port)}),
            ProcessSpec("notifier", [PY, "-m", "streaming_service.workers.notifier"],
                        env=self.streaming_env),
            ProcessSpec("thumbnailer", [PY, "-m", "streaming_service.workers.thumbnailer"],
                        env=self.streaming_env),
            ProcessSpec("retention", [PY, "-m", "streaming_service.workers.retention"],
                        env=self.streaming_env),
        ]
        dist = ROOT / "dashboard" / "dist"
        if dist.is_dir():
            specs.append(ProcessSpec("dashboard", [
                PY, str(ROOT / "tools" / "static_server.py"), "--root", str(dist),
                "--port", str(self.dashboard_port),
            ]))
        specs.append(ProcessSpec("haproxy", [
            "haproxy", "-W", "-db", "-f", str(ROOT / "deploy" / "haproxy" / "haproxy.cfg"),
        ], env={
            "GTV_HTTP_PORT": str(self.http_port),
            "GTV_ADMIN_ADDR": f"127.0.0.1:{self.admin_port}",
            "GTV_STREAMING_ADDR": f"127.0.0.1:{self.streaming_port}",
            "GTV_DASHBOARD_ADDR": (
                f"127.0.0.1:{self.dashboard_port}" if dist.is_dir()
                else f"127.0.0.1:{self.streaming_port}"
            ),
            "GTV_HAPROXY_STATS_BIND": f"127.0.0.1:{self.stats_port}",
            "GTV_HAPROXY_STATS_PASSWORD": self.stats_password,
        }))
        specs += self.monitoring_specs()
        for spec in specs:
            self.supervisor.start(spec)

    def monitoring_specs(self) -> list[ProcessSpec]:
        """Prometheus scraping every process that serves metrics, evaluating the alert
        rules, and Alertmanager routing them (receivers: GTV_DEMO_ALERT_WEBHOOK_URL and
        the SMTP server GTV_DEMO_ALERT_SMTP, default 127.0.0.1:1025)."""
        if not self.monitoring:
            return []
        directory = self.state_dir / "monitoring"
        local = "127.0.0.1:{}".format
        monitoring.write_configs(
            directory,
            jobs={"admin": [local(self.admin_port)], "streaming": [local(self.streaming_port)],
                  "lpr-worker": [local(self.lpr_metrics_port)],
                  "workers": [local(self.relay_metrics_port)],
                  "prometheus": [local(self.prometheus_port)]},
            alertmanager_port=self.alertmanager_port,
            webhook_url=os.environ.get("GTV_DEMO_ALERT_WEBHOOK_URL",
                                       "http://127.0.0.1:9095/oncall"),
            smtp_address=os.environ.get("GTV_DEMO_ALERT_SMTP", "127.0.0.1:1025"))
        prometheus, alertmanager = monitoring.commands(
            directory, prometheus_port=self.prometheus_port,
            alertmanager_port=self.alertmanager_port)
        return [ProcessSpec("alertmanager", alertmanager), ProcessSpec("prometheus", prometheus)]

    def wait_ready(self, timeout: float = 120.0) -> None:
        deadline = time.monotonic() + timeout
        pending = {"/api/admin/schema/": "admin", "/api/streaming/openapi.json": "streaming"}
        with httpx.Client(base_url=self.gateway, timeout=3.0) as client:
            while pending:
                self.fail_on_dead()
                for path in list(pending):
                    try:
                        if client.get(path).status_code == 200:
                            pending.pop(path)
                    except httpx.HTTPError:
                        pass
                if time.monotonic() > deadline:
                    raise SystemExit(f"not ready after {timeout:.0f} s: {sorted(pending)}")
                time.sleep(0.5)

    def seed_live_data(self) -> dict[str, str]:
        """Watchlist the demo plate and start the cameras' streams, as an operator would."""
        with httpx.Client(base_url=self.gateway, timeout=10.0) as client:
            token = client.post(
                "/api/admin/auth/token",
                json={"username": "demo-operator", "password": self.user_password},
            ).raise_for_status().json()["access"]
            headers = {"Authorization": f"Bearer {token}"}
            lists = client.get(
                "/api/ai/watchlists/", params={"page_size": 200}, headers=headers
            ).raise_for_status().json()
            watchlist = next(
                (w for w in lists["results"] if w.get("name") == "Veículos roubados"), None
            )
            if watchlist is None:
                watchlist = client.post(
                    "/api/ai/watchlists/", headers=headers,
                    json={"name": "Veículos roubados", "description": "Demo watchlist"},
                ).raise_for_status().json()
            entries = client.get(
                f"/api/ai/watchlists/{watchlist['id']}/entries/",
                params={"page_size": 200}, headers=headers,
            ).raise_for_status().json()["results"]
            if not any(e.get("plate") == WATCHLISTED_PLATE for e in entries):
                client.post(
                    f"/api/ai/watchlists/{watchlist['id']}/entries/", headers=headers,
                    json={"plate": WATCHLISTED_PLATE, "reason": "Roubo (demo)",
                          "severity": "high"},
                ).raise_for_status()
            cameras = self._wait_for_cameras(client, headers)
            live: dict[str, str] = {}
            for camera in cameras:
                # The streaming side learns a camera from its event a moment after the
                # admin service commits it: a 404 (or a 5xx while the engine warms up)
                # is retried for a while, then reported.
                deadline = time.monotonic() + 30.0
                while True:
                    started = client.post(
                        f"/api/streaming/streams/{camera['id']}/start", headers=headers
                    )
                    if started.status_code < 300:
                        live[camera["name"]] = started.json()["hls_url"]
                        break
                    if time.monotonic() > deadline or started.status_code in (400, 401, 403):
                        print(f"[demo] could not start {camera['name']}: "
                              f"{started.status_code} {started.text[:200]}", flush=True)
                        break
                    time.sleep(0.5)
            return live

    def _wait_for_cameras(
        self, client: httpx.Client, headers: dict[str, str], timeout: float = 30.0
    ) -> list[dict[str, str]]:
        cameras = client.get("/api/cidades/cameras/", headers=headers).raise_for_status().json()
        items: list[dict[str, str]] = cameras.get("results", [])
        # The streaming side learns cameras from events; wait until it knows the first one.
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and items:
            probe = client.get("/api/streaming/streams/", headers=headers)
            if probe.status_code == 200:
                break
            time.sleep(0.5)
        return items

    def fail_on_dead(self) -> None:
        dead = self.supervisor.dead()
        if dead:
            names = ", ".join(f"{r.spec.name} (exit {r.popen.returncode}, log {r.log_path})"
                              for r in dead)
            raise SystemExit(f"stopped unexpectedly: {names}")

    def print_banner(self, seed_lines: list[str], live: dict[str, str]) -> None:
        users = [line.split("user: ", 1)[1] for line in seed_lines if line.startswith("user: ")]
        lines = [
            "",
            "GT-Vision demo is running.",
            f"  Dashboard            {self.gateway}/",
            f"  API (HAProxy)        {self.gateway}/api/",
            f"  Django admin         {self.gateway}/admin/",
            f"  Admin OpenAPI        {self.gateway}/api/admin/docs/",
            f"  Streaming OpenAPI    {self.gateway}/api/streaming/docs",
            f"  Alerts WebSocket     ws://127.0.0.1:{self.http_port}/ws/alerts?token=<access>",
            f"  HAProxy stats        http://127.0.0.1:{self.stats_port}/stats"
            f" (admin / {self.stats_password})",
            f"  Superadmin           {self.superadmin_user} / {self.superadmin_password}",
            *(f"  User                 {u}" for u in users),
            *(f"  Live HLS ({name})   {url}" for name, url in live.items()),
            f"  Watchlisted plate    {WATCHLISTED_PLATE} (passes Camera 01 regularly)",
            f"  ONVIF PTZ camera     {ONVIF_CAMERA}: discover it as demo-tenant-admin, onboard"
            f" it with demo / {self.camera_password}",
            *([f"  Prometheus           http://127.0.0.1:{self.prometheus_port}/alerts",
               f"  Alertmanager         http://127.0.0.1:{self.alertmanager_port}/"]
              if self.monitoring else []),
            f"  Logs                 {self.supervisor.log_dir}",
            "Press Ctrl-C to stop.",
            "",
        ]
        print("\n".join(lines), flush=True)
        summary = {
            "gateway": self.gateway, "users": users, "password": self.user_password,
            "superadmin": [self.superadmin_user, self.superadmin_password], "live": live,
            "watchlisted_plate": WATCHLISTED_PLATE,
            # The ONVIF PTZ camera to discover and onboard, and its device credentials.
            "onvif_camera": {"name": ONVIF_CAMERA, "username": "demo",
                             "password": self.camera_password},
            "metrics": [
                f"http://127.0.0.1:{self.admin_port}/metrics",
                f"http://127.0.0.1:{self.streaming_port}/metrics",
                f"http://127.0.0.1:{self.lpr_metrics_port}/metrics",
                f"http://127.0.0.1:{self.relay_metrics_port}/metrics",
            ],
            # The service each /metrics belongs to (the `service` label it must carry).
            "metrics_services": {
                f"http://127.0.0.1:{self.admin_port}/metrics": "admin_service",
                f"http://127.0.0.1:{self.relay_metrics_port}/metrics": "admin_service",
                f"http://127.0.0.1:{self.streaming_port}/metrics": "streaming_service",
                f"http://127.0.0.1:{self.lpr_metrics_port}/metrics": "streaming_service",
            },
        }
        (self.state_dir / "demo.json").write_text(json.dumps(summary, indent=2))
        (self.state_dir / "demo.json").chmod(0o600)


def _kept_secrets(path: Path) -> dict[str, str]:
    kept: dict[str, str] = json.loads(path.read_text()) if path.exists() else {}
    for name in ("camera", "users", "superadmin", "stats"):
        kept.setdefault(name, secrets.token_urlsafe(12))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(kept))
    path.chmod(0o600)
    return kept


def say(message: str) -> None:
    print(f"[demo] {message}", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.demo", description=__doc__)
    parser.add_argument("--no-wait", action="store_true",
                        help="set everything up, print the URLs, then stop (for checks)")
    args = parser.parse_args(argv)
    demo = Demo(args)
    demo.state_dir.mkdir(parents=True, exist_ok=True)

    stop_requested = False

    def request_stop(signum: int, _frame: FrameType | None) -> None:
        nonlocal stop_requested
        if stop_requested:
            return  # make and the terminal may both deliver the signal: stop once
        stop_requested = True
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    demo.check_ports()
    try:
        seed_lines = demo.setup()
        say("starting the camera simulator, services, workers and HAProxy")
        demo.start_processes()
        demo.wait_ready()
        live = demo.seed_live_data()
        demo.print_banner(seed_lines, live)
        if args.no_wait:
            return 0
        while True:
            demo.fail_on_dead()
            demo.supervisor.reap_orphans()
            time.sleep(1.0)
    except KeyboardInterrupt:
        say("stopping")
        return 0
    finally:
        # Nothing may interrupt the clean-up: every child must be stopped.
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        demo.supervisor.stop_all()
        say("all processes stopped")


if __name__ == "__main__":
    sys.exit(main())

