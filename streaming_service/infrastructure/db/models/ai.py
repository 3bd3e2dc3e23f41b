"""SQLAlchemy models of the ``ai`` schema: detections, watchlists, alerts and the LPR
workers' camera leases.

Detections are range-partitioned by month on ``detected_at`` (the primary key includes
it, as PostgreSQL requires); partitions are created ahead of time by the SQL function
``ai.ensure_detections_partition(timestamptz)`` that the migration installs. Plates are
stored normalised (``ABC1234`` / ``ABC1D23``) and indexed for exact, prefix
(``text_pattern_ops``) and similarity search: a whole plate by its neighbour keys
(``plate_keys``, a generated column, GIN: plates one character apart), a partial one by
``pg_trgm`` (GIN).

The tables live on their own ``MetaData`` (schema ``ai``), so the streaming schema's
autogenerate never sees them.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    Computed,
    DateTime,
    FetchedValue,
    Float,
    ForeignKey,
    Index,
    Integer,
    PrimaryKeyConstraint,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from streaming_service.infrastructure.db.declarative import now_column, schema_metadata, uuid_pk

AI_SCHEMA = "ai"

#: ``domain.ai.watchlist.plate_neighbour_keys`` in SQL, for the generated column (a test
#: checks the two agree).
PLATE_KEYS_SQL = "ARRAY[" + ", ".join(
    f"substr(plate, 1, {i}) || '_' || substr(plate, {i + 2})" for i in range(7)) + "]"


class AiBase(DeclarativeBase):
    metadata = schema_metadata(AI_SCHEMA, name_foreign_keys=True)


class Detection(AiBase):
    """One passing vehicle as reported by the tracker (one row per vehicle, not per frame)."""

    __tablename__ = "detections"
    __table_args__ = (
        PrimaryKeyConstraint("id", "detected_at"),
        Index("ix_detections_tenant_plate_detected", "tenant_id", "plate", "detected_at"),
        Index("ix_detections_tenant_camera_detected", "tenant_id", "camera_id", "detected_at"),
        Index("ix_detections_tenant_detected", "tenant_id", "detected_at",
              postgresql_include=["camera_id", "prev_at", "prev2_at"]),
        Index(
            "ix_detections_plate_trgm",
            "plate",
            postgresql_using="gin",
            postgresql_ops={"plate": "gin_trgm_ops"},
        ),
        Index(
            "ix_detections_plate_prefix", "plate", postgresql_ops={"plate": "text_pattern_ops"}
        ),
        Index("ix_detections_plate_keys", "plate_keys", postgresql_using="gin",
              postgresql_with={"fastupdate": "off"}),
        {"postgresql_partition_by": "RANGE (detected_at)"},
    )

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), default=uuid.uuid4)
    detected_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    tenant_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    camera_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    plate: Mapped[str] = mapped_column(String(7))
    plate_keys: Mapped[list[str]] = mapped_column(
        ARRAY(Text), Computed(PLATE_KEYS_SQL, persisted=True))
    plate_style: Mapped[str] = mapped_column(String(8))
    confidence: Mapped[float] = mapped_column(Float)
    # The plate's previous two reads, set by a trigger (migration 0011) for the reports.
    prev_at: Mapped[datetime | None] = mapped_column(
        DateTime(timezone=True), nullable=True, server_default=FetchedValue())
    prev2_at: Mapped[datetime | None] = mapped_column(
        DateTime(timezone=True), nullable=True, server_default=FetchedValue())
    crop_key: Mapped[str | None] = mapped_column(Text, nullable=True)
    bbox: Mapped[list[float] | None] = mapped_column(JSONB, nullable=True)
    track_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    reads: Mapped[int] = mapped_column(Integer, default=1)
    support: Mapped[float | None] = mapped_column(Float, nullable=True)
    details: Mapped[dict[str, Any]] = mapped_column("metadata", JSONB, default=dict)
    created_at: Mapped[datetime] = now_column()


class Watchlist(AiBase):
    __tablename__ = "watchlists"
    __table_args__ = (UniqueConstraint("tenant_id", "name"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    tenant_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), index=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True), nullable=True)
    created_at: Mapped[datetime] = now_column()
    updated_at: Mapped[datetime] = now_column()


class WatchlistEntry(AiBase):
    """A plate (or pattern) to alert on. ``is_exact`` lets the matcher look exact plates up
    by index and only scan the tenant's wildcard patterns."""

    __tablename__ = "watchlist_entries"
    __table_args__ = (
        Index("ix_watchlist_entries_tenant_pattern", "tenant_id", "plate_pattern"),
        Index("ix_watchlist_entries_watchlist", "watchlist_id"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    watchlist_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("ai.watchlists.id", ondelete="CASCADE")
    )
    tenant_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    plate_pattern: Mapped[str] = mapped_column(String(32))
    is_exact: Mapped[bool] = mapped_column(Boolean)
    reason: Mapped[str] = mapped_column(Text, default="")
    severity: Mapped[str] = mapped_column(String(16))
    active_from: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    active_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    created_by: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True), nullable=True)
    created_at: Mapped[datetime] = now_column()


class Alert(AiBase):
    """A watchlist hit. One per (detection, entry), so a retried record is a no-op."""

    __tablename__ = "alerts"
    __table_args__ = (
        UniqueConstraint("detection_id", "watchlist_entry_id"),
        Index("ix_alerts_tenant_status_raised", "tenant_id", "status", "raised_at"),
        Index("ix_alerts_tenant_raised", "tenant_id", "raised_at"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    tenant_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    detection_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    watchlist_entry_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    watchlist_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True), nullable=True)
    camera_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    plate: Mapped[str] = mapped_column(String(7))
    severity: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(Text, default="")
    crop_key: Mapped[str | None] = mapped_column(Text, nullable=True)
    status: Mapped[str] = mapped_column(String(16), default="new")
    raised_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    acknowledged_by: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True), nullable=True)
    acknowledged_at: Mapped[datetime | None] = mapped_column(
        DateTime(timezone=True), nullable=True
    )


class LprSettings(AiBase):
    """A tenant's plate-reading policy (``domain.ai.lpr_settings.LprPolicy``); no row means
    the defaults."""

    __tablename__ = "lpr_settings"

    tenant_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    min_confidence: Mapped[float] = mapped_column(Float, default=0.0)
    match_distance: Mapped[int] = mapped_column(Integer, default=0)
    fuzzy_min_severity: Mapped[str] = mapped_column(String(16), default="high")
    updated_by: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True), nullable=True)
    updated_at: Mapped[datetime] = now_column()


class CameraAssignment(AiBase):
    """Which LPR worker holds a camera, until when. A row with an expired lease (or no
    worker) is free for any worker to claim."""

    __tablename__ = "camera_assignments"

    camera_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    tenant_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    worker_id: Mapped[str | None] = mapped_column(String(128), nullable=True)
    lease_expires_at: Mapped[datetime | None] = mapped_column(
        DateTime(timezone=True), nullable=True
    )
    updated_at: Mapped[datetime] = now_column()
