"""Request and response bodies of the streaming API."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from shared_kernel.events import StreamFailureCode
from streaming_service.api.validation import Instant, RequestModel


class StreamStatusOut(BaseModel):
    camera_id: uuid.UUID
    state: str
    engine: str
    started_at: datetime | None = None
    last_frame_at: datetime | None = None
    bitrate_kbps: float | None = None
    restarts: int = 0
    recording: bool = False
    error_code: StreamFailureCode | None = Field(
        default=None,
        description="Why the stream is reconnecting or failed: unreachable, auth_failed, "
                    "not_a_stream, timeout, address_not_allowed (the camera network policy "
                    "refuses the camera's address) or stream_error. Never the engine's own "
                    "error text.")
    error: str | None = Field(
        default=None, description="The fixed human message of error_code (English); "
                                  "clients translate error_code.")


class StreamStartOut(BaseModel):
    camera_id: uuid.UUID
    hls_url: str = Field(description="Playlist URL with a short-lived media token; "
                                     "never contains camera credentials")
    webrtc_url: str | None = None
    status: str
    expires_in: int = Field(description="Seconds the media token in the URLs stays valid")


class RecordingOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    camera_id: uuid.UUID
    started_at: datetime
    ended_at: datetime
    size_bytes: int


class RecordingGapOut(BaseModel):
    """No recording from ``started_at`` (the previous segment's end) to ``ended_at``."""

    started_at: datetime
    ended_at: datetime
    seconds: float


class PlaybackOut(BaseModel):
    recording_id: uuid.UUID
    url: str
    expires_at: datetime


class ExportIn(RequestModel):
    camera_id: uuid.UUID
    start: Instant
    end: Instant


class ExportOut(BaseModel):
    id: uuid.UUID
    camera_id: uuid.UUID
    start: datetime
    end: datetime
    status: str
    error: str | None = None
    size_bytes: int | None = None
    download_url: str | None = None
    created_at: datetime | None = None
    completed_at: datetime | None = None


class SnapshotOut(BaseModel):
    id: uuid.UUID
    camera_id: uuid.UUID
    taken_at: datetime
    content_type: str
    size_bytes: int
    width: int | None = None
    height: int | None = None
    url: str
