"""Recordings: where segments are stored and which time ranges may be asked for."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from streaming_service.domain.errors import InvalidTimeRange

RECORDINGS_BUCKET = "recordings"
EXPORTS_BUCKET = "exports"
SNAPSHOTS_BUCKET = "snapshots"
THUMBNAILS_BUCKET = "thumbnails"


@dataclass(frozen=True)
class TimeRange:
    start: datetime
    end: datetime

    @classmethod
    def validated(cls, start: datetime, end: datetime, *, max_span: timedelta) -> TimeRange:
        """A range that starts before it ends and spans at most ``max_span``.
        Naive datetimes are taken as UTC."""
        start, end = _aware(start), _aware(end)
        if end <= start:
            raise InvalidTimeRange(
                "end must be after start",
                {"start": start.isoformat(), "end": end.isoformat()},
            )
        if end - start > max_span:
            raise InvalidTimeRange(
                f"time range is longer than the maximum of {_human(max_span)}",
                {"max_seconds": int(max_span.total_seconds()),
                 "requested_seconds": int((end - start).total_seconds())},
            )
        return cls(start, end)


def _aware(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _human(span: timedelta) -> str:
    if span.total_seconds() % 86400 == 0:
        return f"{span.days} days"
    return f"{int(span.total_seconds() // 3600)} hours"


def _dated_key(tenant_id: uuid.UUID, camera_id: uuid.UUID, at: datetime, suffix: str) -> str:
    """``<tenant>/<camera>/<yyyy>/<mm>/<dd>/<yyyymmddThhmmssmmm>Z<suffix>`` (UTC, ms): the
    one stamp format of every time-named object (recordings, thumbnails)."""
    moment = _aware(at)
    stamp = moment.strftime("%Y%m%dT%H%M%S") + f"{moment.microsecond // 1000:03d}Z"
    return f"{tenant_id}/{camera_id}/{moment:%Y/%m/%d}/{stamp}{suffix}"


def recording_object_key(
    tenant_id: uuid.UUID, camera_id: uuid.UUID, started_at: datetime, suffix: str = ".mp4"
) -> str:
    """``<tenant>/<camera>/<yyyy>/<mm>/<dd>/<start>.mp4`` inside the ``recordings`` bucket."""
    return _dated_key(tenant_id, camera_id, started_at, suffix)


def export_object_key(tenant_id: uuid.UUID, camera_id: uuid.UUID, export_id: uuid.UUID) -> str:
    return f"{tenant_id}/{camera_id}/{export_id}.mp4"


def snapshot_object_key(
    tenant_id: uuid.UUID, camera_id: uuid.UUID, snapshot_id: uuid.UUID, taken_at: datetime
) -> str:
    return f"{tenant_id}/{camera_id}/{_aware(taken_at):%Y/%m/%d}/{snapshot_id}.jpg"


def thumbnail_object_key(tenant_id: uuid.UUID, camera_id: uuid.UUID, taken_at: datetime) -> str:
    """``<tenant>/<camera>/<yyyy>/<mm>/<dd>/<time>.jpg`` in the ``thumbnails`` bucket."""
    return _dated_key(tenant_id, camera_id, taken_at, ".jpg")


def thumbnail_latest_key(tenant_id: uuid.UUID, camera_id: uuid.UUID) -> str:
    """``<tenant>/<camera>/latest.jpg``: always the camera's newest thumbnail."""
    return f"{tenant_id}/{camera_id}/latest.jpg"
