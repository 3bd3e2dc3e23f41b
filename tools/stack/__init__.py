"""The production compose stack on one host, with rootful podman (docs/operations.md).

``python -m tools.stack up|down|status`` brings docker-compose.yml up with compose.test.yml
on top (the images of ``make images``), waits until every healthcheck is green and every
one-shot job (roles, migrations) has exited 0, and tears it all down again, volumes
included. The e2e stack tests (tests/e2e/stack) drive the same class.

What this podman (Debian bookworm's 4.3) does not do by itself, done here:

- ``depends_on``: podman-compose ignores ``condition: service_healthy`` below podman 4.6,
  and the ``--requires`` links it gives podman fail to start a container whose dependency
  is an exited one-shot job (podman 4.3 builds the dependency graph from direct links
  only). So the stack comes up in the order depends_on describes, stage by stage, each
  started with ``--no-deps`` and waited for: data stores healthy → roles and bucket setup
  exited 0 → migrations exited 0 (once: the replicas never run them) → everything else.
- with no systemd on the host, no timer runs the containers' healthchecks: :meth:`health`
  runs each one (``podman healthcheck run``), which also records the container's status.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import sys
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
PROJECT = "gt-vision"
FILES = ("docker-compose.yml", "compose.test.yml")
# The stages of `up` (see the module docstring): long-running ones wait for healthy,
# one-shot jobs for "exited 0"; the last stage is every other service.
DATA_STORES = ("postgres", "redis", "rabbitmq", "minio")
STAGES: tuple[tuple[str, ...], ...] = (
    DATA_STORES, ("db-roles", "minio-setup"), ("admin-migrate", "streaming-migrate"))


@dataclass(frozen=True)
class Container:
    name: str
    service: str
    state: str  # podman's: running, exited, ...
    exit_code: int
    has_healthcheck: bool


@dataclass
class Stack:
    """One stack on this host, its published ports and the simulator's password."""

    http_port: int = 8080
    https_port: int = 8443
    stats_port: int = 8404
    prometheus_port: int = 9090
    camera_password: str = field(default_factory=lambda: secrets.token_urlsafe(12))
    camera_plates: Sequence[str] = ("BRA2E19",)
    log: list[str] = field(default_factory=list)

    @property
    def environment(self) -> dict[str, str]:
        return {
            **os.environ,
            "GTV_HTTP_PORT": str(self.http_port),
            "GTV_HTTPS_PORT": str(self.https_port),
            "GTV_STATS_PORT": str(self.stats_port),
            "GTV_PROMETHEUS_PORT": str(self.prometheus_port),
            # podman 4.3's IPAM hands out the last address of an ip_range, here the
            # subnet's broadcast address (172.28.0.255), where nothing answers: a range
            # that ends below it.
            "GTV_INTERNAL_DYNAMIC_RANGE": "172.28.0.128/26",
            "GTV_CAMERA_SIM_PASSWORD": self.camera_password,
            "GTV_CAMERA_SIM_PLATES": ",".join(self.camera_plates),
        }

    # --- commands ------------------------------------------------------------------------

    def compose(self, *args: str, timeout: float = 600.0) -> subprocess.CompletedProcess[str]:
        command = [_podman_compose(), *(a for f in FILES for a in ("-f", f)), *args]
        result = subprocess.run(command, cwd=ROOT, env=self.environment, capture_output=True,
                                text=True, timeout=timeout, check=False)
        self.log.append(f"$ {' '.join(command[1:])} -> {result.returncode}")
        if result.returncode != 0:
            raise StackError(f"podman-compose {' '.join(args)} failed ({result.returncode}):\n"
                             f"{_tail(result.stdout + result.stderr)}")
        return result

    def prepare(self) -> None:
        """Secrets and .env as for production (tools/scripts/compose_prepare.sh)."""
        subprocess.run([str(ROOT / "tools" / "scripts" / "compose_prepare.sh")], cwd=ROOT,
                       check=True, capture_output=True, timeout=120)

    def up(self, timeout: float = 300.0) -> float:
        """Everything up and healthy; the seconds it took."""
        started = time.monotonic()
        self.prepare()
        rest = [name for name in self.services() if not any(name in s for s in STAGES)]
        for stage in (*STAGES, tuple(rest)):
            self.compose("up", "-d", "--no-deps", *stage, timeout=timeout)
            self.wait_healthy(stage, max(30.0, timeout - (time.monotonic() - started)))
        return time.monotonic() - started

    def services(self) -> list[str]:
        """The services of both files, as podman-compose merges them."""
        config = yaml.safe_load(self.compose("config").stdout)
        return list(config["services"])

    def down(self) -> None:
        """Every container, network and volume of the stack."""
        # podman-compose interpolates .env even to tear down: a fresh checkout has none.
        self.prepare()
        try:
            self.compose("down", "-v", "-t", "5", timeout=180)
        finally:
            names = _podman("ps", "-aq", "--filter", f"label=io.podman.compose.project={PROJECT}")
            if names.split():
                _podman("rm", "-f", "-t", "2", *names.split())
            volumes = _podman("volume", "ls", "-q", "--filter",
                              f"label=io.podman.compose.project={PROJECT}")
            if volumes.split():
                _podman("volume", "rm", "-f", *volumes.split())

    # --- state ---------------------------------------------------------------------------

    def containers(self) -> list[Container]:
        raw = _podman("ps", "-a", "--format", "json", "--filter",
                      f"label=io.podman.compose.project={PROJECT}")
        items = json.loads(raw or "[]")
        names = [item["Names"][0] for item in items]
        # One `podman inspect` for all of them (one each took seconds per poll).
        inspected = {}
        if names:
            for entry in json.loads(_podman("inspect", "--type", "container", *names)):
                inspected[entry["Name"].lstrip("/")] = entry
        found = []
        for item, name in zip(items, names, strict=True):
            labels = item.get("Labels") or {}
            inspect = inspected.get(name, {})
            healthcheck = (inspect.get("Config") or {}).get("Healthcheck") or {}
            found.append(Container(
                name=name, service=labels.get("com.docker.compose.service", ""),
                state=item["State"], exit_code=int(item.get("ExitCode") or 0),
                has_healthcheck=bool(healthcheck.get("Test"))
                and healthcheck["Test"][0] != "NONE",
            ))
        return found

    def replicas(self, service: str) -> list[Container]:
        return sorted((c for c in self.containers() if c.service == service),
                      key=lambda c: c.name)

    def health(self, services: Sequence[str] | None = None) -> dict[str, str]:
        """Each container's state: "healthy", "exited 0", or what is wrong with it."""
        states = {}
        checked = []
        for container in self.containers():
            if services is not None and container.service not in services:
                continue
            if container.state in ("exited", "stopped"):  # podman says either
                states[container.name] = f"exited {container.exit_code}"
            elif container.state != "running":
                states[container.name] = f"{container.state} {container.exit_code}"
            elif not container.has_healthcheck:
                states[container.name] = "running, no healthcheck"
            else:
                checked.append(container.name)

        def check(name: str) -> str:
            run = subprocess.run(["podman", "healthcheck", "run", name],
                                 capture_output=True, text=True, timeout=60, check=False)
            return "healthy" if run.returncode == 0 else (
                f"unhealthy: {(run.stdout + run.stderr).strip()[:200]}")

        # The checks at once: one after another, a poll of the whole stack took a minute.
        with ThreadPoolExecutor(max_workers=8) as pool:
            states.update(zip(checked, pool.map(check, checked), strict=True))
        return dict(sorted(states.items()))

    def wait_healthy(self, services: Sequence[str] | None, timeout: float) -> dict[str, str]:
        deadline = time.monotonic() + timeout
        while True:
            states = self.health(services)
            bad = {n: s for n, s in states.items() if s not in ("healthy", "exited 0")}
            one_shot_failed = {n: s for n, s in bad.items() if s.startswith("exited")}
            if states and not bad:
                return states
            if one_shot_failed:
                raise StackError(f"stopped with an error: {one_shot_failed}\n"
                                 + "\n".join(self.logs(n, 30) for n in one_shot_failed))
            if time.monotonic() > deadline:
                raise StackError(f"not healthy after {timeout:.0f} s: {bad}\n"
                                 + "\n".join(self.logs(n, 30) for n in bad))
            time.sleep(2.0)

    def logs(self, container: str, lines: int = 50) -> str:
        result = subprocess.run(["podman", "logs", "--tail", str(lines), container],
                                capture_output=True, text=True, timeout=30, check=False)
        return f"--- {container}\n{result.stdout}{result.stderr}"

    def exec(self, container: str, *command: str, timeout: float = 60.0) -> str:
        return _podman("exec", container, *command, timeout=timeout)


class StackError(RuntimeError):
    pass


def _podman(*args: str, timeout: float = 120.0) -> str:
    result = subprocess.run(["podman", *args], capture_output=True, text=True,
                            timeout=timeout, check=False)
    if result.returncode != 0:
        raise StackError(f"podman {' '.join(args[:3])} failed: {_tail(result.stderr)}")
    return result.stdout


def _podman_compose() -> str:
    here = Path(sys.executable).parent / "podman-compose"
    return str(here) if here.exists() else (shutil.which("podman-compose") or "podman-compose")


def _tail(text: str, lines: int = 40) -> str:
    return "\n".join(text.strip().splitlines()[-lines:])
