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


class StreamFailure(enum.StrEnum):
    """Why a camera's stream (or a frame grab) failed, as clients are told it: a stable
    code and a fixed message. The engine's own text (ffmpeg's stderr) stays in the server
    logs: it quotes addresses and ports, which would turn the status into a scanner."""

    UNREACHABLE = "unreachable"
    AUTH_FAILED = "auth_failed"
    NOT_A_STREAM = "not_a_stream"
    TIMEOUT = "timeout"
    ADDRESS_NOT_ALLOWED = "address_not_allowed"
    STREAM_ERROR = "stream_error"

    @property
    def message(self) -> str:
        return _FAILURE_MESSAGES[self]


_FAILURE_MESSAGES = {
    StreamFailure.UNREACHABLE: "The camera could not be reached.",
    StreamFailure.AUTH_FAILED: "The camera refused the configured credentials.",
    StreamFailure.NOT_A_STREAM: "The camera address does not serve a usable video stream.",
    StreamFailure.TIMEOUT: "The camera did not answer or send video in time.",
    StreamFailure.ADDRESS_NOT_ALLOWED: "The camera address is not in a network cameras may "
                                       "use.",
    StreamFailure.STREAM_ERROR: "The stream failed; the server log has the details.",
}


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
    event_buffer: bool = False
    """``recording_mode = events``: keep the recent past on the engine's own disk (not
    uploaded, not a recording) so that event clips can be cut from it."""


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
    error: StreamFailure | None = None
    """Why the stream is reconnecting or failed (None while it is fine)."""


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
