"""Helpers of the deployment tests: repository paths, the shared contracts, free ports."""

from __future__ import annotations

import os
import socket
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[3]
DEPLOY = REPO_ROOT / "deploy"


def shared_dir() -> Path:
    """The project's shared contracts (SPEC, compose schema, MediaMTX reference).

    CI clones the repository with ``shared/`` beside it; ``GTV_SHARED_DIR`` overrides.
    """
    override = os.environ.get("GTV_SHARED_DIR")
    candidates = [Path(override)] if override else []
    candidates += [REPO_ROOT.parent / "shared", REPO_ROOT / "shared"]
    for candidate in candidates:
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"shared/ not found (looked in {[str(c) for c in candidates]})")


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now (the kernel picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
