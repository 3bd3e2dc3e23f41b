"""SQLAlchemy models of the ``streaming`` schema.

Tenants and cameras are projections of the admin service's events; ``processed_events``
records which events each consumer has applied (written in the same transaction as the
projection change, so a redelivered event is a no-op). Recordings are range-partitioned
by month on ``started_at`` (see :mod:`.partitions`). ``outbox_events`` holds the events
this service produces, written in the transaction of the change they describe and
published by the outbox relay.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    FetchedValue,
    Float,
    Index,
    Integer,
    PrimaryKeyConstraint,
    String,
    Text,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from streaming_service.infrastructure.db.declarative import now_column, schema_metadata, uuid_pk

SCHEMA = "streaming"


class Base(DeclarativeBase):
    metadata = schema_metadata(SCHEMA)


class Tenant(Base):
    __tablename__ = "tenants"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    slug: Mapped[str] = mapped_column(String(100))
    timezone: Mapped[str] = mapped_column(String(64), default="America/Sao_Paulo")
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    updated_at: Mapped[datetime] = now_column()


class Camera(Base):
    """The streaming side's copy of a camera. No foreign key to ``tenants``: events of
    two aggregates may arrive in any order."""

    __tablename__ = "cameras"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    tenant_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), index=True)
    name: Mapped[str] = mapped_column(String(200))
    rtsp_url_encrypted: Mapped[str] = mapped_column(Text)
    rtsp_url_masked: Mapped[str] = mapped_column(Text)
    recording_mode: Mapped[str] = mapped_column(String(16), default="off")
    retention_days: Mapped[int] = mapped_column(Integer, default=90)
    lpr_enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(32), default="active")
    latitude: Mapped[float | None] = mapped_column(Float, nullable=True)
    longitude: Mapped[float | None] = mapped_column(Float, nullable=True)
    revision: Mapped[int] = mapped_column(Integer, default=1)
    # The ONVIF endpoint (JSON: url, username, password, profile), encrypted like the
    # RTSP URL; None for a camera onboarded without ONVIF. ``ptz``: it can be steered.
    onvif_encrypted: Mapped[str | None] = mapped_column(Text, nullable=True)
    ptz: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    decommissioned_at: Mapped[datetime | None] = mapped_column(
        DateTime(timezone=True), nullable=True
    )
    updated_at: Mapped[datetime] = now_column()

    @property
    def is_decommissioned(self) -> bool:
        return self.decommissioned_at is not None


class ProcessedEvent(Base):
    __tablename__ = "processed_events"
    __table_args__ = (PrimaryKeyConstraint("consumer", "event_id"),)

    consumer: Mapped[str] = mapped_column(String(100))
    event_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    event_type: Mapped[str] = mapped_column(String(64))
    processed_at: Mapped[datetime] = now_column()


class Recording(Base):
    """One recorded segment. Partitioned by month on ``started_at``, so the primary key
    includes it (PostgreSQL requires the partition key in every unique constraint)."""

    __tablename__ = "recordings"
    __table_args__ = (
        PrimaryKeyConstraint("id", "started_at"),
        Index("ix_recordings_camera_started", "camera_id", "started_at"),
        Index("ix_recordings_tenant_started", "tenant_id", "started_at"),
        {"postgresql_partition_by": "RANGE (started_at)"},
    )

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), default=uuid.uuid4)
    tenant_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    camera_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    ended_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    object_key: Mapped[str] = mapped_column(Text)
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = now_column()
    # The camera's previous segment's end, set by a trigger (migration 0011): outages.
    prev_ended_at: Mapped[datetime | None] = mapped_column(
        DateTime(timezone=True), nullable=True, server_default=FetchedValue())


class Export(Base):
    __tablename__ = "exports"
    __table_args__ = (Index("ix_exports_tenant_created", "tenant_id", "created_at"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    tenant_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    camera_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    range_start: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    range_end: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    status: Mapped[str] = mapped_column(String(16), default="pending")
    object_key: Mapped[str | None] = mapped_column(Text, nullable=True)
    size_bytes: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    requested_by: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    created_at: Mapped[datetime] = now_column()
    updated_at: Mapped[datetime] = now_column()
    completed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class Snapshot(Base):
    """A still image of a camera: on demand (``snapshot``) or periodic (``thumbnail``)."""

    __tablename__ = "snapshots"
    __table_args__ = (Index("ix_snapshots_camera_taken", "camera_id", "taken_at"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    tenant_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), index=True)
    camera_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    kind: Mapped[str] = mapped_column(String(16), default="snapshot")
    taken_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    bucket: Mapped[str] = mapped_column(String(64))
    object_key: Mapped[str] = mapped_column(Text)
    content_type: Mapped[str] = mapped_column(String(64), default="image/jpeg")
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    width: Mapped[int | None] = mapped_column(Integer, nullable=True)
    height: Mapped[int | None] = mapped_column(Integer, nullable=True)
    requested_by: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True), nullable=True)
    details: Mapped[dict[str, object]] = mapped_column(JSONB, default=dict)


class OutboxEvent(Base):
    """An event to publish: written with the change it describes, published by the relay
    (``published_at`` set once the broker confirmed it). ``exchange`` and ``routing_key``
    say where it goes (``domain.events`` by default; alerts also go to ``notifications``
    under ``alerts.<tenant>.<severity>``, as a row of their own)."""

    __tablename__ = "outbox_events"
    __table_args__ = (
        Index("ix_outbox_events_pending", "created_at",
              postgresql_where="published_at IS NULL"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    event_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), index=True)
    event_type: Mapped[str] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(Integer)
    tenant_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True), nullable=True)
    exchange: Mapped[str] = mapped_column(String(64), default="domain.events")
    routing_key: Mapped[str] = mapped_column(String(255), default="")
    envelope: Mapped[dict[str, object]] = mapped_column(JSONB)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.clock_timestamp())
    published_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
