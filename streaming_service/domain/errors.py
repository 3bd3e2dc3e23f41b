"""Errors of the streaming context. The API translates each one, once, into the shared
error shape (see ``streaming_service.api.errors``)."""

from __future__ import annotations

from typing import Any

from streaming_service.domain.stream import StreamFailure


class StreamingError(Exception):
    """Base of every domain error; ``code`` is the stable machine-readable error code."""

    code = "streaming_error"

    def __init__(self, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or {}


class NotFound(StreamingError):
    """Missing, or owned by another tenant (never tell the two apart)."""

    code = "not_found"


class CameraNotFound(NotFound):
    code = "camera_not_found"


class RecordingNotFound(NotFound):
    code = "recording_not_found"


class ExportNotFound(NotFound):
    code = "export_not_found"


class ThumbnailNotFound(NotFound):
    code = "thumbnail_not_found"


class InvalidTimeRange(StreamingError):
    code = "invalid_time_range"


class CameraUnavailable(StreamingError):
    """The camera exists but cannot stream (decommissioned, disabled)."""

    code = "camera_unavailable"


class CameraSourceRefused(StreamingError):
    """The camera cannot be connected to: its address is not allowed by the camera
    network policy, or does not resolve. ``failure`` is the stream failure clients see."""

    code = "camera_source_refused"

    def __init__(self, failure: StreamFailure, details: dict[str, Any] | None = None) -> None:
        super().__init__(failure.message, details)
        self.failure = failure
        self.code = failure.value


class StreamNotRunning(StreamingError):
    code = "stream_not_running"


class MediaEngineError(StreamingError):
    """The media engine failed to do what was asked (a dependency failure, 502)."""

    code = "media_engine_error"


class SnapshotFailed(StreamingError):
    code = "snapshot_failed"


class MediaAccessDenied(StreamingError):
    """The caller may not have a camera's live media. ``needs_credentials``: missing or
    no-good credentials, a player should ask again (401); otherwise known and not
    allowed (403)."""

    def __init__(self, code: str, message: str, *, needs_credentials: bool) -> None:
        super().__init__(message)
        self.code = code
        self.needs_credentials = needs_credentials


class TooManyExports(StreamingError):
    """The tenant already runs as many exports as it may (429)."""

    code = "too_many_exports"


class AuditUnavailable(StreamingError):
    """An access could not be written to the audit trail, so it is refused (503):
    personal data never leaves unaudited."""

    code = "audit_unavailable"


# Raised by the media-engine adapters (MediaMTX client): transport failures translated once.
class MediaEngineUnavailable(MediaEngineError):
    """The media engine could not be reached (after bounded retries) or timed out."""

    code = "media_engine_unavailable"


class MediaEngineNotFound(MediaEngineError):
    """The engine does not know the path, stream or recording asked for."""

    code = "media_engine_not_found"


class MediaEngineRejected(MediaEngineError):
    """The engine rejected the request as invalid; ``message`` is the engine's own."""

    code = "media_engine_rejected"


# Raised by the object-store adapters (S3, filesystem).
class ObjectStoreError(StreamingError):
    code = "object_store_error"


class ObjectNotFound(ObjectStoreError, NotFound):
    """No object under that bucket and key."""

    code = "object_not_found"

    def __init__(self, bucket: str, key: str) -> None:
        super().__init__(f"object not found: {bucket}/{key}", {"bucket": bucket, "key": key})
        self.bucket = bucket
        self.key = key


# PTZ control (issue 12).
class InvalidPtzCommand(StreamingError):
    code = "invalid_ptz_command"


class PtzNotAvailable(StreamingError):
    """The camera has no ONVIF PTZ endpoint (409)."""

    code = "ptz_not_available"


class PtzLocked(StreamingError):
    """Another user steers this camera (409); ``details.holder`` says who."""

    code = "ptz_locked"


class PtzRateLimited(StreamingError):
    """Too many PTZ commands from this user (429)."""

    code = "ptz_rate_limited"


class PtzPresetNotFound(NotFound):
    code = "ptz_preset_not_found"


class PtzDeviceError(StreamingError):
    """The camera refused or did not answer a PTZ command (502)."""

    code = "ptz_device_error"
