"""Stored recordings per camera (segments, bytes), kept by PostgreSQL.

The availability report shows each camera's storage against its retention; summing every
segment of 90 days of one-minute segments per request would read millions of rows.
Statement-level triggers with transition tables add each INSERT's segments and subtract
each DELETE's (the retention job deletes rows) in the same transaction. Existing
recordings are counted once here.

Revision ID: 0009_recording_totals
Revises: 0008_detection_hourly
Create Date: 2026-12-04
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0009_recording_totals"
down_revision: str | None = "0008_detection_hourly"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLE = """
CREATE TABLE streaming.recording_totals (
    camera_id uuid NOT NULL,
    tenant_id uuid NOT NULL,
    segments bigint NOT NULL,
    size_bytes bigint NOT NULL,
    CONSTRAINT pk_recording_totals PRIMARY KEY (camera_id)
)
"""

ADD_FUNCTION = """
CREATE FUNCTION streaming.recording_totals_add() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    INSERT INTO streaming.recording_totals AS t (camera_id, tenant_id, segments, size_bytes)
    SELECT camera_id, min(tenant_id::text)::uuid, count(*), sum(size_bytes)
      FROM inserted GROUP BY camera_id
    ON CONFLICT (camera_id) DO UPDATE
       SET segments = t.segments + EXCLUDED.segments,
           size_bytes = t.size_bytes + EXCLUDED.size_bytes;
    RETURN NULL;
END $$
"""

REMOVE_FUNCTION = """
CREATE FUNCTION streaming.recording_totals_remove() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    UPDATE streaming.recording_totals AS t
       SET segments = t.segments - d.segments, size_bytes = t.size_bytes - d.size_bytes
      FROM (SELECT camera_id, count(*) AS segments, sum(size_bytes) AS size_bytes
              FROM deleted GROUP BY camera_id) d
     WHERE t.camera_id = d.camera_id;
    RETURN NULL;
END $$
"""

# One statement per execute: asyncpg prepares each, and a prepared statement holds one.
TRIGGERS = (
    """CREATE TRIGGER recording_totals_add AFTER INSERT ON streaming.recordings
       REFERENCING NEW TABLE AS inserted FOR EACH STATEMENT
       EXECUTE FUNCTION streaming.recording_totals_add()""",
    """CREATE TRIGGER recording_totals_remove AFTER DELETE ON streaming.recordings
       REFERENCING OLD TABLE AS deleted FOR EACH STATEMENT
       EXECUTE FUNCTION streaming.recording_totals_remove()""",
)

BACKFILL = """
INSERT INTO streaming.recording_totals (camera_id, tenant_id, segments, size_bytes)
SELECT camera_id, min(tenant_id::text)::uuid, count(*), sum(size_bytes)
  FROM streaming.recordings GROUP BY camera_id
"""


def upgrade() -> None:
    op.execute(TABLE)
    op.execute(ADD_FUNCTION)
    op.execute(REMOVE_FUNCTION)
    for trigger in TRIGGERS:
        op.execute(trigger)
    op.execute(BACKFILL)


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS recording_totals_remove ON streaming.recordings")
    op.execute("DROP TRIGGER IF EXISTS recording_totals_add ON streaming.recordings")
    op.execute("DROP FUNCTION IF EXISTS streaming.recording_totals_remove()")
    op.execute("DROP FUNCTION IF EXISTS streaming.recording_totals_add()")
    op.execute("DROP TABLE IF EXISTS streaming.recording_totals")
