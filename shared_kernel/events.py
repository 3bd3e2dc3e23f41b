"""Domain event envelope and the versioned event catalogue shared by every service.

An event travels as JSON: an envelope (id, type, version, time, tenant, correlation id,
producer) around a payload whose schema is fixed by ``(type, version)``. Producers build
events with :func:`new_event`; consumers call :func:`parse_event`, which raises
:class:`InvalidEvent` for anything malformed, unknown or of an unsupported version so the
consumer can dead-letter it instead of crashing.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from shared_kernel.correlation import get_correlation_id


class InvalidEvent(ValueError):
    """The message is not a well-formed event of a known type and version."""


class EventPayload(BaseModel):
    """Base of every payload; subclasses set ``event_type`` and ``version``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    event_type: ClassVar[str]
    version: ClassVar[int] = 1


class EventEnvelope(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    event_id: uuid.UUID = Field(default_factory=uuid.uuid4)
    type: str
    version: int = Field(ge=1)
    occurred_at: datetime
    tenant_id: uuid.UUID | None = None
    correlation_id: str = Field(min_length=1, max_length=128)
    producer: str = Field(min_length=1, max_length=64)
    payload: dict[str, Any]

    def to_json(self) -> bytes:
        return self.model_dump_json().encode()

    def typed_payload(self) -> EventPayload:
        """The payload validated against its catalogue schema."""
        model = CATALOGUE[(self.type, self.version)]
        return model.model_validate(self.payload)


# --- Admin / Cidades context -------------------------------------------------------------


class TenantCreated(EventPayload):
    event_type = "TenantCreated"
    tenant_id: uuid.UUID
    name: str
    slug: str
    timezone: str = "America/Sao_Paulo"


class TenantUpdated(EventPayload):
    event_type = "TenantUpdated"
    tenant_id: uuid.UUID
    name: str
    slug: str
    is_active: bool
    timezone: str = "America/Sao_Paulo"


RecordingMode = Literal["off", "continuous", "events"]


class CameraSnapshot(EventPayload):
    """Full state of a camera as the streaming side needs it.

    ``rtsp_url_encrypted`` is the camera URL (credentials included) encrypted with the
    shared camera-credentials key: the bus and its logs never carry plaintext credentials.
    """

    camera_id: uuid.UUID
    tenant_id: uuid.UUID
    name: str
    rtsp_url_encrypted: str
    rtsp_url_masked: str
    recording_mode: RecordingMode = "off"
    retention_days: int = Field(default=90, ge=1, le=3650)
    lpr_enabled: bool = False
    status: str = "active"
    latitude: float | None = None
    longitude: float | None = None
    location_id: uuid.UUID | None = None
    zone_id: uuid.UUID | None = None
    revision: int = Field(default=1, ge=1)


class CameraSnapshotV2(CameraSnapshot):
    """Version 2 adds the camera's ONVIF side: ``onvif_encrypted`` is its ONVIF device
    endpoint as JSON (``url``, ``username``, ``password``, ``profile``) encrypted with the
    camera-credentials key, like the RTSP URL; ``ptz`` whether the camera can be steered
    (issue 12)."""

    onvif_encrypted: str | None = Field(default=None, max_length=4096)
    ptz: bool = False


class CameraRegisteredV1(CameraSnapshot):
    """Version 1 (no ONVIF fields): still parsed, for events already in an outbox or a
    queue."""

    event_type = "CameraRegistered"


class CameraUpdatedV1(CameraSnapshot):
    event_type = "CameraUpdated"


class CameraRegistered(CameraSnapshotV2):
    event_type = "CameraRegistered"
    version = 2


class CameraUpdated(CameraSnapshotV2):
    event_type = "CameraUpdated"
    version = 2


class CameraDecommissioned(EventPayload):
    event_type = "CameraDecommissioned"
    camera_id: uuid.UUID
    tenant_id: uuid.UUID
    revision: int = Field(default=1, ge=1)


class UserRoleChanged(EventPayload):
    event_type = "UserRoleChanged"
    user_id: uuid.UUID
    tenant_id: uuid.UUID | None
    roles: list[str]
    is_superadmin: bool = False


# --- Streaming context -------------------------------------------------------------------


class StreamStarted(EventPayload):
    event_type = "StreamStarted"
    camera_id: uuid.UUID
    tenant_id: uuid.UUID
    engine: str
    hls_url: str


class StreamStopped(EventPayload):
    event_type = "StreamStopped"
    camera_id: uuid.UUID
    tenant_id: uuid.UUID
    reason: str = "requested"


class StreamFailedV1(EventPayload):
    """Version 1 carried ffmpeg's own error text in ``reason`` (addresses, ports, the
    camera's answer): no longer produced, still parsed so events already in an outbox or
    a queue are not dead-lettered."""

    event_type = "StreamFailed"
    version = 1
    camera_id: uuid.UUID
    tenant_id: uuid.UUID
    reason: str
    attempt: int = Field(ge=0)
    will_retry: bool


StreamFailureCode = Literal[
    "unreachable", "auth_failed", "not_a_stream", "timeout", "address_not_allowed",
    "stream_error",
]


class StreamFailed(EventPayload):
    """A stream is reconnecting (``will_retry``) or gave up. ``code`` is the stable
    reason and ``message`` its fixed human text; the engine's own words stay in the
    streaming service's log."""

    event_type = "StreamFailed"
    version = 2
    camera_id: uuid.UUID
    tenant_id: uuid.UUID
    code: StreamFailureCode
    message: str = Field(max_length=200)
    attempt: int = Field(ge=0)
    will_retry: bool


class RecordingCompleted(EventPayload):
    event_type = "RecordingCompleted"
    recording_id: uuid.UUID
    camera_id: uuid.UUID
    tenant_id: uuid.UUID
    started_at: datetime
    ended_at: datetime
    object_key: str
    size_bytes: int = Field(ge=0)


class RecordingGap(EventPayload):
    """Continuous recording of a camera has a hole: no segment covers ``gap_started_at`` to
    ``gap_ended_at`` (the replica recording it died, the camera was lost, recording was
    switched off and on). Announced when the first segment after the hole is stored."""

    event_type = "RecordingGap"
    camera_id: uuid.UUID
    tenant_id: uuid.UUID
    gap_started_at: datetime
    gap_ended_at: datetime
    seconds: float = Field(ge=0)
    recording_id: uuid.UUID


class RecordingAccessed(EventPayload):
    """A playback or export of recorded video (LGPD: audited by the admin service)."""

    event_type = "RecordingAccessed"
    tenant_id: uuid.UUID
    user_id: uuid.UUID
    camera_id: uuid.UUID
    action: Literal["playback", "export"]
    recording_id: uuid.UUID | None = None
    export_id: uuid.UUID | None = None
    range_start: datetime | None = None
    range_end: datetime | None = None
    ip: str | None = None


class UserActivityRecorded(EventPayload):
    """Something a user did or looked at in the streaming service that the audit log must
    keep (LGPD: live views, snapshots, plate searches, watchlist changes, stream control).
    The admin service owns the audit log and writes one entry per event."""

    event_type = "UserActivityRecorded"
    tenant_id: uuid.UUID | None
    user_id: uuid.UUID | None
    username: str = Field(default="", max_length=150)
    action: str = Field(pattern=r"^[a-z][a-z_]*(\.[a-z][a-z_]*)+$", max_length=64)
    object_type: str = Field(pattern=r"^[a-z][a-z_]*$", max_length=64)
    object_id: str | None = Field(default=None, max_length=64)
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None
    ip: str | None = Field(default=None, max_length=64)
    user_agent: str = Field(default="", max_length=256)


# --- AI context --------------------------------------------------------------------------


class PlateDetected(EventPayload):
    event_type = "PlateDetected"
    detection_id: uuid.UUID
    camera_id: uuid.UUID
    tenant_id: uuid.UUID
    plate: str
    confidence: float = Field(ge=0.0, le=1.0)
    detected_at: datetime
    crop_url: str | None = None
    bbox: list[int] | None = None


class AlertRaised(EventPayload):
    event_type = "AlertRaised"
    alert_id: uuid.UUID
    detection_id: uuid.UUID
    watchlist_entry_id: uuid.UUID
    camera_id: uuid.UUID
    tenant_id: uuid.UUID
    plate: str
    severity: Literal["low", "medium", "high", "critical"]
    reason: str
    raised_at: datetime
    crop_url: str | None = None


class AlertUpdated(EventPayload):
    """An alert raised on a provisional read (the first confident read of a vehicle,
    before the tracker's vote) whose read the vote changed: ``corrected`` when the voted
    plate still hits the same watchlist entry (``plate`` is the voted one), ``retracted``
    when it no longer does. Never sent for an alert the vote confirms."""

    event_type = "AlertUpdated"
    alert_id: uuid.UUID
    detection_id: uuid.UUID
    watchlist_entry_id: uuid.UUID
    camera_id: uuid.UUID
    tenant_id: uuid.UUID
    change: Literal["corrected", "retracted"]
    plate: str
    previous_plate: str
    severity: Literal["low", "medium", "high", "critical"]
    reason: str
    updated_at: datetime
    crop_url: str | None = None


class AlertAcknowledgedV1(EventPayload):
    """Version 1 (no client address): still parsed, for events already in an outbox or a
    queue."""

    event_type = "AlertAcknowledged"
    alert_id: uuid.UUID
    tenant_id: uuid.UUID
    user_id: uuid.UUID
    acknowledged_at: datetime


class AlertAcknowledged(AlertAcknowledgedV1):
    """An operator acknowledged an alert, from ``ip`` with ``user_agent`` (the audit
    log records every change with its client address)."""

    version = 2
    ip: str | None = Field(default=None, max_length=64)
    user_agent: str = Field(default="", max_length=256)


CATALOGUE: dict[tuple[str, int], type[EventPayload]] = {
    (model.event_type, model.version): model
    for model in (
        TenantCreated,
        TenantUpdated,
        CameraRegisteredV1,
        CameraUpdatedV1,
        CameraRegistered,
        CameraUpdated,
        CameraDecommissioned,
        UserRoleChanged,
        StreamStarted,
        StreamStopped,
        StreamFailedV1,
        StreamFailed,
        RecordingCompleted,
        RecordingGap,
        RecordingAccessed,
        UserActivityRecorded,
        PlateDetected,
        AlertRaised,
        AlertUpdated,
        AlertAcknowledgedV1,
        AlertAcknowledged,
    )
}


def new_event(
    payload: EventPayload,
    *,
    producer: str,
    tenant_id: uuid.UUID | None = None,
    correlation_id: str | None = None,
    occurred_at: datetime | None = None,
) -> EventEnvelope:
    """Wrap a catalogue payload in an envelope, taking the correlation id from context."""
    if (payload.event_type, payload.version) not in CATALOGUE:
        raise InvalidEvent(f"{payload.event_type} v{payload.version} is not in the catalogue")
    return EventEnvelope(
        type=payload.event_type,
        version=payload.version,
        occurred_at=occurred_at or datetime.now(UTC),
        tenant_id=tenant_id,
        correlation_id=correlation_id or get_correlation_id() or str(uuid.uuid4()),
        producer=producer,
        payload=payload.model_dump(mode="json"),
    )


def parse_event(body: bytes | str) -> EventEnvelope:
    """Parse and validate an event; raise :class:`InvalidEvent` for anything unusable."""
    try:
        raw = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidEvent(f"not JSON: {exc}") from exc
    if not isinstance(raw, dict):
        raise InvalidEvent("event must be a JSON object")
    try:
        envelope = EventEnvelope.model_validate(raw)
    except ValidationError as exc:
        raise InvalidEvent(f"bad envelope: {exc.errors(include_url=False)}") from exc
    key = (envelope.type, envelope.version)
    if key not in CATALOGUE:
        known = sorted(v for (t, v) in CATALOGUE if t == envelope.type)
        if known:
            raise InvalidEvent(
                f"unsupported version {envelope.version} of {envelope.type} (known: {known})"
            )
        raise InvalidEvent(f"unknown event type {envelope.type!r}")
    try:
        envelope.typed_payload()
    except ValidationError as exc:
        raise InvalidEvent(
            f"bad {envelope.type} payload: {exc.errors(include_url=False)}"
        ) from exc
    return envelope
