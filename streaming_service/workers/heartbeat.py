"""Liveness for worker processes without an HTTP port (shared_kernel/heartbeat.py)."""

from __future__ import annotations

from shared_kernel.heartbeat import beat

__all__ = ["beat"]
