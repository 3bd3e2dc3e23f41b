"""Live streams: what state a camera's stream is in, and the rules for retrying it."""

from __future__ import annotations

import enum
import uuid
from dataclasses import dataclass
from datetime import datetime


class StreamState(enum.StrEnum):
    STARTING = "starting"
    LIVE = "live"
    RECONNECTING = "reconnecting"
    FAILED = "failed"
    STOPPED = "stopped"


@dataclass(frozen=True)
class StreamSource:
    """What a media engine needs to pull one camera. ``url`` may hold credentials: it
    never leaves the engine (no log line, no API response, no URL given to clients)."""

    camera_id: uuid.UUID
    tenant_id: uuid.UUID
    url: str
    record: bool = False
    segment_seconds: int = 60
    retention_days: int | None = None
    """How long the engine may keep local segments; None: the engine's default."""


@dataclass(frozen=True)
class StreamStatus:
    camera_id: uuid.UUID
    tenant_id: uuid.UUID
    state: StreamState
    engine: str
    started_at: datetime | None = None
    last_frame_at: datetime | None = None
    bitrate_kbps: float | None = None
    restarts: int = 0
    recording: bool = False
    error: str | None = None


@dataclass(frozen=True)
class Backoff:
    """Exponential backoff with a ceiling; ``max_attempts`` None means retry forever."""

    initial_seconds: float = 1.0
    factor: float = 2.0
    max_seconds: float = 30.0
    max_attempts: int | None = None

    def delay(self, attempt: int) -> float:
        return float(min(self.max_seconds, self.initial_seconds * self.factor ** max(0, attempt)))

    def gives_up_after(self, attempt: int) -> bool:
        return self.max_attempts is not None and attempt >= self.max_attempts
