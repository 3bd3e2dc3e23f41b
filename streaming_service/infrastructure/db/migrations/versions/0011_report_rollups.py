"""What the reports need at city scale, kept by PostgreSQL as rows arrive.

* ``ai.detections.prev_at`` / ``prev2_at``: when the same plate (same tenant) was read
  the time before and the time before that, in ``(detected_at, id)`` order. "Unique vs
  recurring plates" then counts reads instead of grouping every read by plate: over
  ``[start, end)`` a read whose ``prev_at`` is before ``start`` (or NULL) is a plate's
  first read in the range (so their count is the distinct plates), and a read whose
  ``prev_at`` is in the range but whose ``prev2_at`` is not is a plate's second read (so
  their count is the recurring plates). A row trigger fills both before each insert and
  re-links the next two reads when a read arrives late; a statement trigger re-links
  the two reads after each deleted one (retention, erasure). Both take a transaction
  advisory lock per plate, so concurrent reads of one plate are linked one after the
  other. The covering index
  ``(tenant_id, detected_at) INCLUDE (camera_id, prev_at, prev2_at)`` answers the count
  and the traffic report's partial hours from the index alone, and
  ``(tenant_id, plate, detected_at)`` (replacing ``(tenant_id, plate)``) finds a plate's
  neighbours in one probe per partition.
* ``streaming.recording_hourly``: recorded seconds per tenant, camera and UTC hour (a
  segment spanning an hour mark is split), kept by statement triggers like
  ``ai.detection_hourly`` (0008), so availability sums ~24 rows per camera and day.
* ``streaming.recordings.prev_ended_at``: when the camera's previous segment (in
  ``(started_at, id)`` order) ended, linked the same way; an outage is a segment starting
  more than the gap after it, found through a partial index of segments that start more
  than 120 s (the smallest gap) after their predecessor.

Existing rows are linked and counted once here. Adding the columns is instant; the
link UPDATE and the new indexes rewrite every detection: on a large installation run
this migration in a maintenance window (docs/operations.md).

Revision ID: 0011_report_rollups
Revises: 0010_camera_onvif
Create Date: 2026-12-05
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0011_report_rollups"
down_revision: str | None = "0010_camera_onvif"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

DETECTION_LINK = """
CREATE FUNCTION ai.detection_prev_link() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    before_at timestamptz[];
BEGIN
    -- Two transactions reading the same plate at once would each miss the other's row:
    -- one at a time per plate (READ COMMITTED: the queries below then see the other's).
    PERFORM pg_advisory_xact_lock(hashtextextended(NEW.tenant_id::text || NEW.plate, 11));
    SELECT array_agg(p.detected_at ORDER BY p.detected_at DESC, p.id DESC) INTO before_at
      FROM (SELECT d.detected_at, d.id FROM ai.detections d
             WHERE d.tenant_id = NEW.tenant_id AND d.plate = NEW.plate
               AND (d.detected_at, d.id) < (NEW.detected_at, NEW.id)
          ORDER BY d.detected_at DESC, d.id DESC LIMIT 2) p;
    NEW.prev_at := before_at[1];
    NEW.prev2_at := before_at[2];
    -- A late read: the next two reads of the plate now follow it.
    UPDATE ai.detections d
       SET prev_at = CASE WHEN n.k = 1 THEN NEW.detected_at ELSE d.prev_at END,
           prev2_at = CASE WHEN n.k = 1 THEN NEW.prev_at ELSE NEW.detected_at END
      FROM (SELECT x.id, x.detected_at, row_number() OVER (ORDER BY x.detected_at, x.id) AS k
              FROM (SELECT d2.id, d2.detected_at FROM ai.detections d2
                     WHERE d2.tenant_id = NEW.tenant_id AND d2.plate = NEW.plate
                       AND (d2.detected_at, d2.id) > (NEW.detected_at, NEW.id)
                  ORDER BY d2.detected_at, d2.id LIMIT 2) x) n
     WHERE d.tenant_id = NEW.tenant_id AND d.plate = NEW.plate
       AND d.detected_at = n.detected_at AND d.id = n.id;
    RETURN NEW;
END $$
"""

# The two reads after each deleted one lose a predecessor: link them again (the deleted
# rows are no longer visible here).
DETECTION_RELINK = """
CREATE FUNCTION ai.detection_prev_relink() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(k.key)
       FROM (SELECT DISTINCT hashtextextended(tenant_id::text || plate, 11) AS key
               FROM deleted ORDER BY 1) k;
    UPDATE ai.detections d SET prev_at = l.before_at[1], prev2_at = l.before_at[2]
      FROM (SELECT DISTINCT n.tenant_id, n.plate, n.detected_at, n.id
              FROM deleted x
     CROSS JOIN LATERAL (SELECT d2.tenant_id, d2.plate, d2.detected_at, d2.id
                           FROM ai.detections d2
                          WHERE d2.tenant_id = x.tenant_id AND d2.plate = x.plate
                            AND (d2.detected_at, d2.id) > (x.detected_at, x.id)
                       ORDER BY d2.detected_at, d2.id LIMIT 2) n) a
     CROSS JOIN LATERAL (
            SELECT array_agg(p.detected_at ORDER BY p.detected_at DESC, p.id DESC) AS before_at
              FROM (SELECT d3.detected_at, d3.id FROM ai.detections d3
                     WHERE d3.tenant_id = a.tenant_id AND d3.plate = a.plate
                       AND (d3.detected_at, d3.id) < (a.detected_at, a.id)
                  ORDER BY d3.detected_at DESC, d3.id DESC LIMIT 2) p) l
     WHERE d.tenant_id = a.tenant_id AND d.plate = a.plate
       AND d.detected_at = a.detected_at AND d.id = a.id;
    RETURN NULL;
END $$
"""

DETECTION_BACKFILL = """
UPDATE ai.detections d SET prev_at = w.prev_at, prev2_at = w.prev2_at
  FROM (SELECT id, detected_at,
               lag(detected_at, 1) OVER p AS prev_at, lag(detected_at, 2) OVER p AS prev2_at
          FROM ai.detections
        WINDOW p AS (PARTITION BY tenant_id, plate ORDER BY detected_at, id)) w
 WHERE d.id = w.id AND d.detected_at = w.detected_at
   AND (w.prev_at IS NOT NULL OR w.prev2_at IS NOT NULL)
"""

RECORDING_LINK = """
CREATE FUNCTION streaming.recording_prev_link() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(hashtextextended(NEW.camera_id::text, 12));
    SELECT r.ended_at INTO NEW.prev_ended_at FROM streaming.recordings r
     WHERE r.camera_id = NEW.camera_id AND (r.started_at, r.id) < (NEW.started_at, NEW.id)
  ORDER BY r.started_at DESC, r.id DESC LIMIT 1;
    -- A late segment: the next one now follows it.
    UPDATE streaming.recordings r SET prev_ended_at = NEW.ended_at
      FROM (SELECT r2.id, r2.started_at FROM streaming.recordings r2
             WHERE r2.camera_id = NEW.camera_id AND (r2.started_at, r2.id) > (NEW.started_at, NEW.id)
          ORDER BY r2.started_at, r2.id LIMIT 1) n
     WHERE r.camera_id = NEW.camera_id AND r.started_at = n.started_at AND r.id = n.id;
    RETURN NEW;
END $$
"""

RECORDING_RELINK = """
CREATE FUNCTION streaming.recording_prev_relink() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(k.key)
       FROM (SELECT DISTINCT hashtextextended(camera_id::text, 12) AS key
               FROM deleted ORDER BY 1) k;
    UPDATE streaming.recordings r
       SET prev_ended_at = (SELECT r3.ended_at FROM streaming.recordings r3
                             WHERE r3.camera_id = a.camera_id
                               AND (r3.started_at, r3.id) < (a.started_at, a.id)
                          ORDER BY r3.started_at DESC, r3.id DESC LIMIT 1)
      FROM (SELECT DISTINCT n.camera_id, n.started_at, n.id
              FROM deleted x
     CROSS JOIN LATERAL (SELECT r2.camera_id, r2.started_at, r2.id FROM streaming.recordings r2
                          WHERE r2.camera_id = x.camera_id
                            AND (r2.started_at, r2.id) > (x.started_at, x.id)
                       ORDER BY r2.started_at, r2.id LIMIT 1) n) a
     WHERE r.camera_id = a.camera_id AND r.started_at = a.started_at AND r.id = a.id;
    RETURN NULL;
END $$
"""

RECORDING_BACKFILL = """
UPDATE streaming.recordings r SET prev_ended_at = w.prev_ended_at
  FROM (SELECT id, started_at,
               lag(ended_at) OVER (PARTITION BY camera_id ORDER BY started_at, id)
                   AS prev_ended_at
          FROM streaming.recordings) w
 WHERE r.id = w.id AND r.started_at = w.started_at AND w.prev_ended_at IS NOT NULL
"""

HOURLY_TABLE = """
CREATE TABLE streaming.recording_hourly (
    tenant_id uuid NOT NULL,
    hour timestamptz NOT NULL,
    camera_id uuid NOT NULL,
    seconds numeric NOT NULL,
    CONSTRAINT pk_recording_hourly PRIMARY KEY (tenant_id, hour, camera_id)
)
"""

#: Each segment's seconds inside each UTC hour it touches (shared by the triggers, the
#: backfill and the benchmark's bulk load).
RECORDING_HOURS_SQL = """
SELECT s.tenant_id, h.hour, s.camera_id,
       sum(extract(epoch FROM least(s.ended_at, h.hour + interval '1 hour')
                              - greatest(s.started_at, h.hour))) AS seconds
  FROM {source} s
 CROSS JOIN LATERAL generate_series(date_trunc('hour', s.started_at, 'UTC'),
                                    s.ended_at - interval '1 microsecond',
                                    interval '1 hour') AS h(hour)
 WHERE s.ended_at > s.started_at
 GROUP BY 1, 2, 3
"""

HOURLY_ADD = f"""
CREATE FUNCTION streaming.recording_hourly_add() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    INSERT INTO streaming.recording_hourly AS t (tenant_id, hour, camera_id, seconds)
    {RECORDING_HOURS_SQL.format(source="inserted")}
    ON CONFLICT (tenant_id, hour, camera_id) DO UPDATE SET seconds = t.seconds + EXCLUDED.seconds;
    RETURN NULL;
END $$
"""

HOURLY_REMOVE = f"""
CREATE FUNCTION streaming.recording_hourly_remove() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    UPDATE streaming.recording_hourly AS t SET seconds = t.seconds - d.seconds
      FROM ({RECORDING_HOURS_SQL.format(source="deleted")}) d
     WHERE t.tenant_id = d.tenant_id AND t.hour = d.hour AND t.camera_id = d.camera_id;
    RETURN NULL;
END $$
"""

# One statement per execute: asyncpg prepares each, and a prepared statement holds one.
TRIGGERS = (
    """CREATE TRIGGER detection_prev_link BEFORE INSERT ON ai.detections
       FOR EACH ROW EXECUTE FUNCTION ai.detection_prev_link()""",
    """CREATE TRIGGER detection_prev_relink AFTER DELETE ON ai.detections
       REFERENCING OLD TABLE AS deleted FOR EACH STATEMENT
       EXECUTE FUNCTION ai.detection_prev_relink()""",
    """CREATE TRIGGER recording_prev_link BEFORE INSERT ON streaming.recordings
       FOR EACH ROW EXECUTE FUNCTION streaming.recording_prev_link()""",
    """CREATE TRIGGER recording_prev_relink AFTER DELETE ON streaming.recordings
       REFERENCING OLD TABLE AS deleted FOR EACH STATEMENT
       EXECUTE FUNCTION streaming.recording_prev_relink()""",
    """CREATE TRIGGER recording_hourly_add AFTER INSERT ON streaming.recordings
       REFERENCING NEW TABLE AS inserted FOR EACH STATEMENT
       EXECUTE FUNCTION streaming.recording_hourly_add()""",
    """CREATE TRIGGER recording_hourly_remove AFTER DELETE ON streaming.recordings
       REFERENCING OLD TABLE AS deleted FOR EACH STATEMENT
       EXECUTE FUNCTION streaming.recording_hourly_remove()""",
)

INDEXES = (
    "DROP INDEX IF EXISTS ai.ix_detections_tenant_plate",
    "CREATE INDEX ix_detections_tenant_plate_detected ON ai.detections "
    "(tenant_id, plate, detected_at)",
    "DROP INDEX IF EXISTS ai.ix_detections_tenant_detected",
    "CREATE INDEX ix_detections_tenant_detected ON ai.detections (tenant_id, detected_at) "
    "INCLUDE (camera_id, prev_at, prev2_at)",
    # The smallest outage gap is 120 s (max(120 s, 2 x segment)); a query repeats this
    # predicate so the planner can use the index.
    "CREATE INDEX ix_recordings_tenant_gap_started ON streaming.recordings "
    "(tenant_id, started_at) INCLUDE (camera_id, ended_at, prev_ended_at) "
    "WHERE started_at - prev_ended_at > interval '120 seconds'",
)


def upgrade() -> None:
    op.execute("ALTER TABLE ai.detections ADD COLUMN prev_at timestamptz, "
               "ADD COLUMN prev2_at timestamptz")
    op.execute("ALTER TABLE streaming.recordings ADD COLUMN prev_ended_at timestamptz")
    op.execute(DETECTION_BACKFILL)
    op.execute(RECORDING_BACKFILL)
    for index in INDEXES:
        op.execute(index)
    op.execute(HOURLY_TABLE)
    op.execute("INSERT INTO streaming.recording_hourly (tenant_id, hour, camera_id, seconds) "
               + RECORDING_HOURS_SQL.format(source="streaming.recordings"))
    for function in (DETECTION_LINK, DETECTION_RELINK, RECORDING_LINK, RECORDING_RELINK,
                     HOURLY_ADD, HOURLY_REMOVE):
        op.execute(function)
    for trigger in TRIGGERS:
        op.execute(trigger)


def downgrade() -> None:
    for table, name in (("streaming.recordings", "recording_hourly_remove"),
                        ("streaming.recordings", "recording_hourly_add"),
                        ("streaming.recordings", "recording_prev_relink"),
                        ("streaming.recordings", "recording_prev_link"),
                        ("ai.detections", "detection_prev_relink"),
                        ("ai.detections", "detection_prev_link")):
        op.execute(f"DROP TRIGGER IF EXISTS {name} ON {table}")
    for function in ("streaming.recording_hourly_remove", "streaming.recording_hourly_add",
                     "streaming.recording_prev_relink", "streaming.recording_prev_link",
                     "ai.detection_prev_relink", "ai.detection_prev_link"):
        op.execute(f"DROP FUNCTION IF EXISTS {function}()")
    op.execute("DROP TABLE IF EXISTS streaming.recording_hourly")
    op.execute("DROP INDEX IF EXISTS streaming.ix_recordings_tenant_gap_started")
    op.execute("DROP INDEX IF EXISTS ai.ix_detections_tenant_detected")
    op.execute("CREATE INDEX ix_detections_tenant_detected ON ai.detections "
               "(tenant_id, detected_at)")
    op.execute("DROP INDEX IF EXISTS ai.ix_detections_tenant_plate_detected")
    op.execute("CREATE INDEX ix_detections_tenant_plate ON ai.detections (tenant_id, plate)")
    op.execute("ALTER TABLE streaming.recordings DROP COLUMN prev_ended_at")
    op.execute("ALTER TABLE ai.detections DROP COLUMN prev2_at, DROP COLUMN prev_at")
