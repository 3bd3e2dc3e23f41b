"""Start a set of long-running processes, watch them, and stop them all together.

Every child runs in its own process group so that stopping it also stops whatever it
spawned (ffmpeg under the camera simulator, gunicorn's workers...). Stopping sends
SIGTERM, waits, then SIGKILL: nothing is left behind.

On Linux the supervisor is its children's subreaper (``PR_SET_CHILD_SUBREAPER``): what a
child leaves behind when it exits first (the resource tracker of uvicorn's workers, a
worker killed with its group) is re-parented here rather than to PID 1, which in some
sandboxes never reaps, and is reaped here (``reap_orphans``) instead of lingering as a
zombie of the demo's process groups.
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
        _become_subreaper()

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
        groups = {r.popen.pid for r in self.running}
        self.running.clear()
        deadline = time.monotonic() + 5
        while True:
            self.reap_orphans()
            if not _members_of(groups) or time.monotonic() > deadline:
                break
            time.sleep(0.05)

    def reap_orphans(self) -> int:
        """Reap the exited processes re-parented to this one that are not the children it
        started (their exit codes are the watch's to read); how many."""
        ours = {r.popen.pid for r in self.running}
        reaped = 0
        for pid, _, state in _processes():
            if state == "Z" and pid not in ours and _parent(pid) == os.getpid():
                with contextlib.suppress(ChildProcessError):
                    os.waitpid(pid, os.WNOHANG)
                    reaped += 1
        return reaped


def _signal_group(popen: subprocess.Popen[bytes], sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(popen.pid, sig)


PR_SET_CHILD_SUBREAPER = 36


def _become_subreaper() -> None:
    if not sys.platform.startswith("linux"):
        return
    import ctypes

    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)


def _processes() -> list[tuple[int, int, str]]:
    """(pid, process group, state) of every process (``/proc/<pid>/stat``)."""
    found = []
    for entry in Path("/proc").iterdir() if Path("/proc").is_dir() else ():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError, IndexError, ValueError):
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            found.append((int(entry.name), int(fields[2]), fields[0]))
    return found


def _parent(pid: int) -> int | None:
    with contextlib.suppress(OSError, IndexError, ValueError):
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    return None


def _members_of(groups: set[int]) -> list[int]:
    """Processes of these groups, zombies included (what ``killpg(g, 0)`` still finds)."""
    return [pid for pid, group, _ in _processes() if group in groups]
