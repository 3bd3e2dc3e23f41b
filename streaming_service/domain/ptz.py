"""Pan/tilt/zoom control of a camera: the values a command carries, who holds a
camera's control lock, and the ports the use case (``application/ptz.py``) needs.

Coordinates are ONVIF's generic spaces: pan and tilt in [-1, 1], zoom in [0, 1] for
positions; velocities and relative moves in [-1, 1] on every axis; speeds in (0, 1].
"""

from __future__ import annotations

import json
import math
import uuid
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Protocol

from streaming_service.domain.errors import InvalidPtzCommand


def _check(name: str, value: float | None, low: float, high: float) -> None:
    if value is not None and (not math.isfinite(value) or not low <= value <= high):
        raise InvalidPtzCommand(f"{name} must be between {low} and {high}",
                                {"field": name, "min": low, "max": high})


@dataclass(frozen=True)
class PtzVector:
    """A velocity or a relative move: every axis in [-1, 1]."""

    pan: float = 0.0
    tilt: float = 0.0
    zoom: float = 0.0

    def __post_init__(self) -> None:
        for axis in ("pan", "tilt", "zoom"):
            _check(axis, getattr(self, axis), -1.0, 1.0)

    @property
    def is_still(self) -> bool:
        return self.pan == 0.0 and self.tilt == 0.0 and self.zoom == 0.0


@dataclass(frozen=True)
class PtzTarget:
    """An absolute position; an axis left out keeps where it is."""

    pan: float | None = None
    tilt: float | None = None
    zoom: float | None = None

    def __post_init__(self) -> None:
        _check("pan", self.pan, -1.0, 1.0)
        _check("tilt", self.tilt, -1.0, 1.0)
        _check("zoom", self.zoom, 0.0, 1.0)
        if self.pan is None and self.tilt is None and self.zoom is None:
            raise InvalidPtzCommand("give at least one of pan, tilt and zoom")


def check_speed(speed: float | None) -> float | None:
    if speed is not None and (not math.isfinite(speed) or not 0.0 < speed <= 1.0):
        raise InvalidPtzCommand("speed must be above 0 and at most 1",
                                {"field": "speed", "min": 0, "max": 1})
    return speed


@dataclass(frozen=True)
class PtzPosition:
    pan: float | None
    tilt: float | None
    zoom: float | None
    moving: bool


@dataclass(frozen=True)
class PtzPreset:
    token: str
    name: str


@dataclass(frozen=True)
class OnvifEndpoint:
    """Where and how to reach a camera's ONVIF services (decrypted: never log it)."""

    url: str
    username: str
    password: str
    profile: str
    # The device wants HTTP Digest authentication too (learnt at onboarding).
    http_digest: bool = False

    @classmethod
    def from_json(cls, text: str) -> OnvifEndpoint:
        """The decrypted ``onvif_encrypted`` of a camera event (written by the admin
        service's onboarding); ``ValueError`` when it is not one."""
        try:
            data = json.loads(text)
            return cls(url=str(data["url"]), username=str(data["username"]),
                       password=str(data["password"]), profile=str(data.get("profile") or ""),
                       http_digest=data.get("http_digest") is True)
        except (KeyError, TypeError, AttributeError) as exc:
            raise ValueError("not an ONVIF endpoint") from exc


@dataclass(frozen=True)
class LockHolder:
    """Who steers a camera: one user at a time. ``rank`` orders roles (a higher rank
    may take the lock over); ``expires_in`` seconds of idleness are left."""

    user_id: uuid.UUID
    username: str
    rank: int
    expires_in: float = 0.0


class PtzDevice(Protocol):
    """One camera's PTZ service, for one command (adapters translate their errors to
    ``PtzDeviceError``/``PtzPresetNotFound``)."""

    async def status(self) -> PtzPosition: ...

    async def continuous_move(self, velocity: PtzVector, *, timeout: float) -> None: ...

    async def stop(self) -> None: ...

    async def relative_move(self, delta: PtzVector, *, speed: float | None) -> None: ...

    async def absolute_move(self, target: PtzTarget, *, speed: float | None) -> None: ...

    async def presets(self) -> list[PtzPreset]: ...

    async def set_preset(self, name: str, token: str | None) -> str: ...

    async def goto_preset(self, token: str, *, speed: float | None) -> None: ...

    async def remove_preset(self, token: str) -> None: ...

    async def goto_home(self, *, speed: float | None) -> None: ...


PtzDevices = Callable[[OnvifEndpoint], AbstractAsyncContextManager[PtzDevice]]
"""Opens a camera's PTZ service: ``async with devices(endpoint) as device``."""


class PtzLocks(Protocol):
    """The per-camera control lock, shared by every replica (expires when idle)."""

    async def acquire(self, camera_id: uuid.UUID, holder: LockHolder, *, ttl: float,
                      takeover: bool) -> LockHolder:
        """Take or refresh the lock for ``holder``; returns whoever holds it afterwards
        (someone else when refused). ``takeover``: replace a holder of lower rank."""
        ...

    async def holder(self, camera_id: uuid.UUID) -> LockHolder | None: ...

    async def release(self, camera_id: uuid.UUID, user_id: uuid.UUID) -> bool: ...


class RateLimiter(Protocol):
    async def allow(self, key: str, *, limit: int, window_seconds: float) -> bool:
        """Count one hit for ``key``; False once ``limit`` hits fell in the window."""
        ...

