"""Streaming schema: tenant and camera projections, processed events, recordings
(partitioned by month), exports and snapshots. Also makes sure the ``ai`` schema exists
for the LPR work.

Revision ID: 0001_streaming_initial
Revises:
Create Date: 2025-01-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001_streaming_initial"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

S = "streaming"
UUID = postgresql.UUID(as_uuid=True)
TS = sa.DateTime(timezone=True)


def _now() -> sa.Column[object]:
    return sa.Column("updated_at", TS, server_default=sa.func.now(), nullable=False)


def upgrade() -> None:
    op.execute("CREATE SCHEMA IF NOT EXISTS streaming")
    op.execute("CREATE SCHEMA IF NOT EXISTS ai")

    op.create_table(
        "tenants",
        sa.Column("id", UUID, primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("slug", sa.String(100), nullable=False),
        sa.Column("timezone", sa.String(64), nullable=False),
        sa.Column("is_active", sa.Boolean, nullable=False),
        _now(),
        sa.PrimaryKeyConstraint("id", name="pk_tenants"),
        schema=S,
    )
    op.create_table(
        "cameras",
        sa.Column("id", UUID),
        sa.Column("tenant_id", UUID, nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("rtsp_url_encrypted", sa.Text, nullable=False),
        sa.Column("rtsp_url_masked", sa.Text, nullable=False),
        sa.Column("recording_mode", sa.String(16), nullable=False),
        sa.Column("retention_days", sa.Integer, nullable=False),
        sa.Column("lpr_enabled", sa.Boolean, nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("latitude", sa.Float, nullable=True),
        sa.Column("longitude", sa.Float, nullable=True),
        sa.Column("revision", sa.Integer, nullable=False),
        sa.Column("decommissioned_at", TS, nullable=True),
        _now(),
        sa.PrimaryKeyConstraint("id", name="pk_cameras"),
        schema=S,
    )
    op.create_index("ix_cameras_tenant_id", "cameras", ["tenant_id"], schema=S)
    op.create_table(
        "processed_events",
        sa.Column("consumer", sa.String(100), nullable=False),
        sa.Column("event_id", UUID, nullable=False),
        sa.Column("event_type", sa.String(64), nullable=False),
        sa.Column("processed_at", TS, server_default=sa.func.now(), nullable=False),
        sa.PrimaryKeyConstraint("consumer", "event_id", name="pk_processed_events"),
        schema=S,
    )
    op.create_table(
        "recordings",
        sa.Column("id", UUID, nullable=False),
        sa.Column("tenant_id", UUID, nullable=False),
        sa.Column("camera_id", UUID, nullable=False),
        sa.Column("started_at", TS, nullable=False),
        sa.Column("ended_at", TS, nullable=False),
        sa.Column("object_key", sa.Text, nullable=False),
        sa.Column("size_bytes", sa.BigInteger, nullable=False),
        sa.Column("created_at", TS, server_default=sa.func.now(), nullable=False),
        sa.PrimaryKeyConstraint("id", "started_at", name="pk_recordings"),
        schema=S,
        postgresql_partition_by="RANGE (started_at)",
    )
    op.create_index(
        "ix_recordings_camera_started", "recordings", ["camera_id", "started_at"], schema=S
    )
    op.create_index(
        "ix_recordings_tenant_started", "recordings", ["tenant_id", "started_at"], schema=S
    )
    op.create_table(
        "exports",
        sa.Column("id", UUID),
        sa.Column("tenant_id", UUID, nullable=False),
        sa.Column("camera_id", UUID, nullable=False),
        sa.Column("range_start", TS, nullable=False),
        sa.Column("range_end", TS, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("object_key", sa.Text, nullable=True),
        sa.Column("size_bytes", sa.BigInteger, nullable=True),
        sa.Column("error", sa.Text, nullable=True),
        sa.Column("requested_by", UUID, nullable=False),
        sa.Column("created_at", TS, server_default=sa.func.now(), nullable=False),
        _now(),
        sa.Column("completed_at", TS, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_exports"),
        schema=S,
    )
    op.create_index("ix_exports_tenant_created", "exports", ["tenant_id", "created_at"], schema=S)
    op.create_table(
        "snapshots",
        sa.Column("id", UUID),
        sa.Column("tenant_id", UUID, nullable=False),
        sa.Column("camera_id", UUID, nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("taken_at", TS, nullable=False),
        sa.Column("bucket", sa.String(64), nullable=False),
        sa.Column("object_key", sa.Text, nullable=False),
        sa.Column("content_type", sa.String(64), nullable=False),
        sa.Column("size_bytes", sa.BigInteger, nullable=False),
        sa.Column("width", sa.Integer, nullable=True),
        sa.Column("height", sa.Integer, nullable=True),
        sa.Column("requested_by", UUID, nullable=True),
        sa.Column("details", postgresql.JSONB, nullable=False, server_default="{}"),
        sa.PrimaryKeyConstraint("id", name="pk_snapshots"),
        schema=S,
    )
    op.create_index("ix_snapshots_tenant_id", "snapshots", ["tenant_id"], schema=S)
    op.create_index("ix_snapshots_camera_taken", "snapshots", ["camera_id", "taken_at"], schema=S)


def downgrade() -> None:
    for table in ("snapshots", "exports", "recordings", "processed_events", "cameras", "tenants"):
        op.drop_table(table, schema=S)
