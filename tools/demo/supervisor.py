"""Start a set of long-running processes, watch them, and stop them all together.

Every child runs in its own process group so that stopping it also stops whatever it
spawned (ffmpeg under the camera simulator, gunicorn's workers...). Stopping sends
SIGTERM, waits, then SIGKILL: nothing is left behind.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO


@dataclass
class ProcessSpec:
    name: str
    argv: list[str]
    env: dict[str, str] = field(default_factory=dict)
    cwd: Path | None = None


@dataclass
class Running:
    spec: ProcessSpec
    popen: subprocess.Popen[bytes]
    log_path: Path


class Supervisor:
    def __init__(
        self, log_dir: Path, base_env: dict[str, str], pid_file: Path | None = None
    ) -> None:
        self.log_dir = log_dir
        self.base_env = base_env
        self.pid_file = pid_file
        self.running: list[Running] = []
        self._stopping = threading.Event()

    def start(self, spec: ProcessSpec) -> Running:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        log_path = self.log_dir / f"{spec.name}.log"
        log_file: IO[bytes] = open(log_path, "ab")  # noqa: SIM115 - owned by the child
        popen = subprocess.Popen(
            spec.argv,
            cwd=spec.cwd,
            env={**self.base_env, **spec.env},
            stdout=log_file,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        log_file.close()
        running = Running(spec, popen, log_path)
        self.running.append(running)
        if self.pid_file is not None:
            # Process-group ids, so a check can prove nothing of the demo is left running.
            self.pid_file.write_text(
                json.dumps({r.spec.name: r.popen.pid for r in self.running}, indent=2)
            )
        return running

    def run_once(self, spec: ProcessSpec, timeout: float = 300) -> None:
        """Run a setup command to completion; exit the demo with its output on failure."""
        result = subprocess.run(
            spec.argv, cwd=spec.cwd, env={**self.base_env, **spec.env},
            capture_output=True, text=True, timeout=timeout, check=False,
        )
        if result.returncode != 0:
            sys.stderr.write(result.stdout + result.stderr)
            raise SystemExit(f"{spec.name} failed with exit code {result.returncode}")
        return None

    def dead(self) -> list[Running]:
        return [r for r in self.running if r.popen.poll() is not None]

    def stop_all(self, grace_seconds: float = 10.0) -> None:
        self._stopping.set()
        for r in reversed(self.running):
            _signal_group(r.popen, signal.SIGTERM)
        deadline = time.monotonic() + grace_seconds
        for r in reversed(self.running):
            remaining = max(0.1, deadline - time.monotonic())
            with contextlib.suppress(subprocess.TimeoutExpired):
                r.popen.wait(timeout=remaining)
            # The group may hold grandchildren even when the leader is gone.
            _signal_group(r.popen, signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                r.popen.wait(timeout=5)
        self.running.clear()


def _signal_group(popen: subprocess.Popen[bytes], sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(popen.pid, sig)
