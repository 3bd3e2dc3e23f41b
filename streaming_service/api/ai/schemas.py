"""Request and response bodies of the AI API (watchlists, detections, alerts, LPR)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Self

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from shared_kernel.plates import PlatePattern
from streaming_service.api.validation import Instant, OneLine, RequestModel
from streaming_service.domain.ai.watchlist import Severity


class WatchlistIn(RequestModel):
    """A new, empty watchlist: entries are added one by one through
    ``POST /api/ai/watchlists/{id}/entries/`` (each validated, audited and announced on
    its own), so an ``entries`` field here is refused like any unknown field."""

    name: OneLine = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=2000)


class WatchlistPatch(RequestModel):
    name: OneLine | None = Field(default=None, min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=2000)


class WatchlistOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str
    description: str
    created_by: uuid.UUID | None
    created_at: datetime
    updated_at: datetime


class EntryIn(RequestModel):
    plate: OneLine = Field(
        min_length=1, max_length=32,
        description="Exact plate (ABC1234 or ABC1D23, either layout matches both) or a "
                    "pattern: '*' any run of characters (ABC*), '?' one character",
    )
    reason: str = Field(default="", max_length=2000)
    severity: Severity = Severity.MEDIUM
    active_from: Instant | None = None
    active_until: Instant | None = None

    @field_validator("plate")
    @classmethod
    def _pattern(cls, value: str) -> str:
        return PlatePattern.parse(value).text  # ValueError → 400 validation_error

    @model_validator(mode="after")
    def _window(self) -> Self:
        if self.active_from and self.active_until and self.active_until <= self.active_from:
            raise ValueError("active_until must be after active_from")
        return self


class EntryOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    watchlist_id: uuid.UUID
    plate: str = Field(validation_alias="plate_pattern")
    is_exact: bool
    reason: str
    severity: Severity
    active_from: datetime | None
    active_until: datetime | None
    created_by: uuid.UUID | None
    created_at: datetime


class DetectionOut(BaseModel):
    id: uuid.UUID
    camera_id: uuid.UUID
    plate: str
    plate_style: str
    confidence: float
    detected_at: datetime
    bbox: list[float] | None
    crop_url: str | None
    clip_url: str | None = Field(
        default=None, description="Where to ask for the event clip's URL (cameras with "
                                  "recording_mode = events, once cut)")
    score: float | None = Field(default=None, description="Similarity (~ searches only)")


class AlertOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    detection_id: uuid.UUID
    watchlist_id: uuid.UUID | None
    watchlist_entry_id: uuid.UUID
    camera_id: uuid.UUID
    plate: str
    severity: Severity
    reason: str
    status: str
    raised_at: datetime
    acknowledged_by: uuid.UUID | None
    acknowledged_at: datetime | None
    clip_url: str | None = Field(
        default=None, description="Where to ask for the event clip of the alert's detection")


class PlateFoundOut(BaseModel):
    plate: str
    plate_style: str
    confidence: float
    bbox: list[float] = Field(description="x1, y1, x2, y2 in image pixels")
    raw_text: str


class RecognizeOut(BaseModel):
    width: int
    height: int
    plates: list[PlateFoundOut]
    elapsed_ms: float


class LprSettingsIn(RequestModel):
    """The whole policy (a PUT replaces it)."""

    min_confidence: float = Field(
        ge=0.0, le=1.0, description="A plate read must be at least this confident to raise "
                                    "an alert; weaker reads are still stored and searchable")
    match_distance: int = Field(
        ge=0, le=1, description="0: watchlist plates match exactly (either layout); 1: a read "
                                "one OCR-confusable character away (5/S, 1/I, 2/Z, 8/B, 4/A, "
                                "0/O/D/Q, 6/G, 7/T) also hits lists of fuzzy_min_severity and "
                                "above")
    fuzzy_min_severity: Severity = Severity.HIGH


class LprSettingsOut(BaseModel):
    min_confidence: float
    match_distance: int
    fuzzy_min_severity: Severity


class ClipOut(BaseModel):
    url: str
    expires_at: datetime
