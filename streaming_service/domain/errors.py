"""Errors of the streaming context that adapters raise and the API translates once.

Adapters (MediaMTX client, object stores) translate their transport's failures into
these, so use cases and the API never see httpx, minio or OS exceptions.
"""

from __future__ import annotations


class StreamingError(Exception):
    """Base of every error the streaming context raises on purpose."""


class MediaEngineError(StreamingError):
    """The media engine refused or failed an operation."""


class MediaEngineUnavailable(MediaEngineError):
    """The media engine could not be reached (after bounded retries) or timed out."""


class MediaEngineNotFound(MediaEngineError):
    """The engine does not know the path/stream/recording asked for."""


class MediaEngineRejected(MediaEngineError):
    """The engine rejected the request as invalid (its message is kept)."""

    def __init__(self, message: str, status_code: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status_code = status_code


class ObjectStoreError(StreamingError):
    """Object storage failed an operation."""


class ObjectNotFound(ObjectStoreError):
    """No object under that bucket/key."""

    def __init__(self, bucket: str, key: str) -> None:
        super().__init__(f"object not found: {bucket}/{key}")
        self.bucket = bucket
        self.key = key
