"""Plate reads per camera and hour, kept by PostgreSQL as detections are inserted.

The traffic report (``application/reports.py``) reads whole hours from
``ai.detection_hourly`` instead of counting every detection again: a city's month is
~720 rows per camera instead of every vehicle. A statement-level trigger with a
transition table adds each INSERT's rows, grouped, in the inserting transaction (so a
rolled-back detection is never counted); a DELETE subtracts. Existing detections are
counted once here. Dropping a detections partition bypasses triggers: the hourly counts,
which hold no plate, stay as history.

Revision ID: 0008_detection_hourly
Revises: 0007_ai_data_retention
Create Date: 2026-12-04
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0008_detection_hourly"
down_revision: str | None = "0007_ai_data_retention"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLE = """
CREATE TABLE ai.detection_hourly (
    tenant_id uuid NOT NULL,
    hour timestamptz NOT NULL,
    camera_id uuid NOT NULL,
    reads bigint NOT NULL,
    CONSTRAINT pk_detection_hourly PRIMARY KEY (tenant_id, hour, camera_id)
)
"""

ADD_FUNCTION = """
CREATE FUNCTION ai.detection_hourly_add() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    INSERT INTO ai.detection_hourly AS h (tenant_id, hour, camera_id, reads)
    SELECT tenant_id, date_trunc('hour', detected_at, 'UTC'), camera_id, count(*)
      FROM inserted GROUP BY 1, 2, 3
    ON CONFLICT (tenant_id, hour, camera_id) DO UPDATE SET reads = h.reads + EXCLUDED.reads;
    RETURN NULL;
END $$
"""

REMOVE_FUNCTION = """
CREATE FUNCTION ai.detection_hourly_remove() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    UPDATE ai.detection_hourly AS h SET reads = h.reads - d.n
      FROM (SELECT tenant_id, date_trunc('hour', detected_at, 'UTC') AS hour, camera_id,
                   count(*) AS n
              FROM deleted GROUP BY 1, 2, 3) d
     WHERE h.tenant_id = d.tenant_id AND h.hour = d.hour AND h.camera_id = d.camera_id;
    RETURN NULL;
END $$
"""

# One statement per execute: asyncpg prepares each, and a prepared statement holds one.
TRIGGERS = (
    """CREATE TRIGGER detection_hourly_add AFTER INSERT ON ai.detections
       REFERENCING NEW TABLE AS inserted FOR EACH STATEMENT
       EXECUTE FUNCTION ai.detection_hourly_add()""",
    """CREATE TRIGGER detection_hourly_remove AFTER DELETE ON ai.detections
       REFERENCING OLD TABLE AS deleted FOR EACH STATEMENT
       EXECUTE FUNCTION ai.detection_hourly_remove()""",
)

BACKFILL = """
INSERT INTO ai.detection_hourly (tenant_id, hour, camera_id, reads)
SELECT tenant_id, date_trunc('hour', detected_at, 'UTC'), camera_id, count(*)
  FROM ai.detections GROUP BY 1, 2, 3
"""


def upgrade() -> None:
    op.execute(TABLE)
    op.execute(ADD_FUNCTION)
    op.execute(REMOVE_FUNCTION)
    for trigger in TRIGGERS:
        op.execute(trigger)
    op.execute(BACKFILL)


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS detection_hourly_remove ON ai.detections")
    op.execute("DROP TRIGGER IF EXISTS detection_hourly_add ON ai.detections")
    op.execute("DROP FUNCTION IF EXISTS ai.detection_hourly_remove()")
    op.execute("DROP FUNCTION IF EXISTS ai.detection_hourly_add()")
    op.execute("DROP TABLE IF EXISTS ai.detection_hourly")
