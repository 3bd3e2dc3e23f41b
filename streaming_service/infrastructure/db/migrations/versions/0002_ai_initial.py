"""AI schema: detections (partitioned by month, plate indexes for exact, prefix and
pg_trgm similarity search), watchlists and their entries, alerts, and the LPR workers'
camera leases. Installs ``ai.ensure_detections_partition(timestamptz)`` and
``ai.ensure_detections_partitions_ahead(int)``, which create monthly partitions.

Revision ID: 0002_ai_initial
Revises: 0001_streaming_initial
Create Date: 2025-01-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0002_ai_initial"
down_revision: str | None = "0001_streaming_initial"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

S = "ai"
UUID = postgresql.UUID(as_uuid=True)
TS = sa.DateTime(timezone=True)

ENSURE_PARTITION = """
CREATE OR REPLACE FUNCTION ai.ensure_detections_partition(at timestamptz)
RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    month_start timestamp := date_trunc('month', at AT TIME ZONE 'UTC');
    part text := 'detections_y' || to_char(month_start, 'YYYY') || 'm' || to_char(month_start, 'MM');
BEGIN
    IF to_regclass('ai.' || quote_ident(part)) IS NULL THEN
        -- Concurrent writers take turns; CREATE ... IF NOT EXISTS alone can still race.
        PERFORM pg_advisory_xact_lock(hashtext('ai.' || part));
        EXECUTE format(
            'CREATE TABLE IF NOT EXISTS ai.%I PARTITION OF ai.detections '
            'FOR VALUES FROM (%L) TO (%L)',
            part,
            (month_start AT TIME ZONE 'UTC'),
            ((month_start + interval '1 month') AT TIME ZONE 'UTC')
        );
    END IF;
    RETURN part;
END $$;
"""

ENSURE_AHEAD = """
CREATE OR REPLACE FUNCTION ai.ensure_detections_partitions_ahead(months int DEFAULT 2)
RETURNS SETOF text LANGUAGE plpgsql AS $$
DECLARE
    i int;
BEGIN
    FOR i IN 0..months LOOP
        RETURN NEXT ai.ensure_detections_partition(now() + make_interval(months => i));
    END LOOP;
END $$;
"""


def upgrade() -> None:
    op.execute("CREATE SCHEMA IF NOT EXISTS ai")
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")

    op.create_table(
        "detections",
        sa.Column("id", UUID, nullable=False),
        sa.Column("detected_at", TS, nullable=False),
        sa.Column("tenant_id", UUID, nullable=False),
        sa.Column("camera_id", UUID, nullable=False),
        sa.Column("plate", sa.String(7), nullable=False),
        sa.Column("plate_style", sa.String(8), nullable=False),
        sa.Column("confidence", sa.Float, nullable=False),
        sa.Column("crop_key", sa.Text, nullable=True),
        sa.Column("bbox", postgresql.JSONB, nullable=True),
        sa.Column("track_id", sa.String(64), nullable=True),
        sa.Column("reads", sa.Integer, nullable=False, server_default="1"),
        sa.Column("support", sa.Float, nullable=True),
        sa.Column("metadata", postgresql.JSONB, nullable=False, server_default="{}"),
        sa.Column("created_at", TS, server_default=sa.func.now(), nullable=False),
        sa.PrimaryKeyConstraint("id", "detected_at", name="pk_detections"),
        schema=S,
        postgresql_partition_by="RANGE (detected_at)",
    )
    op.create_index("ix_detections_tenant_plate", "detections", ["tenant_id", "plate"], schema=S)
    op.create_index(
        "ix_detections_tenant_camera_detected",
        "detections",
        ["tenant_id", "camera_id", "detected_at"],
        schema=S,
    )
    op.create_index(
        "ix_detections_tenant_detected", "detections", ["tenant_id", "detected_at"], schema=S
    )
    op.create_index(
        "ix_detections_plate_trgm",
        "detections",
        ["plate"],
        schema=S,
        postgresql_using="gin",
        postgresql_ops={"plate": "gin_trgm_ops"},
    )
    op.create_index(
        "ix_detections_plate_prefix",
        "detections",
        ["plate"],
        schema=S,
        postgresql_ops={"plate": "text_pattern_ops"},
    )
    op.execute(ENSURE_PARTITION)
    op.execute(ENSURE_AHEAD)
    op.execute("SELECT ai.ensure_detections_partitions_ahead(2)")

    op.create_table(
        "watchlists",
        sa.Column("id", UUID, nullable=False),
        sa.Column("tenant_id", UUID, nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("description", sa.Text, nullable=False, server_default=""),
        sa.Column("created_by", UUID, nullable=True),
        sa.Column("created_at", TS, server_default=sa.func.now(), nullable=False),
        sa.Column("updated_at", TS, server_default=sa.func.now(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_watchlists"),
        sa.UniqueConstraint("tenant_id", "name", name="uq_watchlists_tenant_id_name"),
        schema=S,
    )
    op.create_index("ix_watchlists_tenant_id", "watchlists", ["tenant_id"], schema=S)
    op.create_table(
        "watchlist_entries",
        sa.Column("id", UUID, nullable=False),
        sa.Column("watchlist_id", UUID, nullable=False),
        sa.Column("tenant_id", UUID, nullable=False),
        sa.Column("plate_pattern", sa.String(32), nullable=False),
        sa.Column("is_exact", sa.Boolean, nullable=False),
        sa.Column("reason", sa.Text, nullable=False, server_default=""),
        sa.Column("severity", sa.String(16), nullable=False),
        sa.Column("active_from", TS, nullable=True),
        sa.Column("active_until", TS, nullable=True),
        sa.Column("created_by", UUID, nullable=True),
        sa.Column("created_at", TS, server_default=sa.func.now(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_watchlist_entries"),
        sa.ForeignKeyConstraint(
            ["watchlist_id"],
            ["ai.watchlists.id"],
            ondelete="CASCADE",
            name="fk_watchlist_entries_watchlist_id_watchlists",
        ),
        sa.CheckConstraint(
            "severity IN ('low', 'medium', 'high', 'critical')",
            name="ck_watchlist_entries_severity",
        ),
        schema=S,
    )
    op.create_index(
        "ix_watchlist_entries_tenant_pattern",
        "watchlist_entries",
        ["tenant_id", "plate_pattern"],
        schema=S,
    )
    op.create_index(
        "ix_watchlist_entries_watchlist", "watchlist_entries", ["watchlist_id"], schema=S
    )
    op.create_table(
        "alerts",
        sa.Column("id", UUID, nullable=False),
        sa.Column("tenant_id", UUID, nullable=False),
        sa.Column("detection_id", UUID, nullable=False),
        sa.Column("watchlist_entry_id", UUID, nullable=False),
        sa.Column("watchlist_id", UUID, nullable=True),
        sa.Column("camera_id", UUID, nullable=False),
        sa.Column("plate", sa.String(7), nullable=False),
        sa.Column("severity", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text, nullable=False, server_default=""),
        sa.Column("crop_key", sa.Text, nullable=True),
        sa.Column("status", sa.String(16), nullable=False, server_default="new"),
        sa.Column("raised_at", TS, nullable=False),
        sa.Column("acknowledged_by", UUID, nullable=True),
        sa.Column("acknowledged_at", TS, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_alerts"),
        sa.UniqueConstraint(
            "detection_id",
            "watchlist_entry_id",
            name="uq_alerts_detection_id_watchlist_entry_id",
        ),
        sa.CheckConstraint("status IN ('new', 'acknowledged')", name="ck_alerts_status"),
        schema=S,
    )
    op.create_index(
        "ix_alerts_tenant_status_raised", "alerts", ["tenant_id", "status", "raised_at"], schema=S
    )
    op.create_index("ix_alerts_tenant_raised", "alerts", ["tenant_id", "raised_at"], schema=S)
    op.create_table(
        "camera_assignments",
        sa.Column("camera_id", UUID, nullable=False),
        sa.Column("tenant_id", UUID, nullable=False),
        sa.Column("worker_id", sa.String(128), nullable=True),
        sa.Column("lease_expires_at", TS, nullable=True),
        sa.Column("updated_at", TS, server_default=sa.func.now(), nullable=False),
        sa.PrimaryKeyConstraint("camera_id", name="pk_camera_assignments"),
        schema=S,
    )


def downgrade() -> None:
    for table in ("camera_assignments", "alerts", "watchlist_entries", "watchlists"):
        op.drop_table(table, schema=S)
    op.execute("DROP FUNCTION IF EXISTS ai.ensure_detections_partitions_ahead(int)")
    op.execute("DROP FUNCTION IF EXISTS ai.ensure_detections_partition(timestamptz)")
    op.drop_table("detections", schema=S)
