"""Daily roll-ups in each city's own days, kept by PostgreSQL as detections change.

A city's report asks for whole local days (the dashboard sends local midnights). Over a
month, the hourly roll-up (0008) still holds 720 rows per camera, and "unique vs
recurring plates" counted every read of the range (0011). These tables answer whole
local days in a few thousand rows:

* ``ai.detection_daily``: reads per tenant, local day and camera (traffic series by day
  and week, busiest cameras, totals);
* ``ai.detection_local_hourly``: reads per tenant, local day and local hour, all cameras
  (the hour-of-day by weekday heat map);
* ``ai.plate_first_reads``: reads that are their plate's first of the local day, by the
  local day of the plate's previous read (``-infinity``: none). Over days ``[D1, D2)``
  the plates read are the reads whose previous read is before ``D1``;
* ``ai.plate_second_reads``: reads whose previous read is on a later local day than the
  read before that, by both days. The recurring plates of ``[D1, D2)`` are the reads
  whose previous read is in the range and whose read before that is not (0011's rule,
  at the resolution of days, which is exact for ranges starting at a local midnight).

Local means the tenant's time zone as of now, kept in ``ai.report_zones`` (validated:
a name PostgreSQL does not know, or reads as a fixed abbreviation such as CET, counts as
America/Sao_Paulo). Statement triggers with transition tables append what an INSERT
brings, what a DELETE takes (negative) and what an UPDATE moves (the plate links of later
reads move when a read arrives late) to a ``*_delta`` table beside each roll-up, in the
writing transaction. The deltas have no key, so writers never wait for each other on a
busy day's rows (a whole city shares its day's and hour's rows) nor lock them in
different orders; readers add the deltas to the roll-up, and ``ai.fold_report_days()``
(the retention worker, every pass) moves them into it, one folder at a time. When a
tenant's time zone changes, its roll-ups are rebuilt from its detections in that
transaction, under an exclusive per-tenant advisory lock that every detection write takes
shared, so no write is counted in the old zone after the rebuild; the rebuild counts only
the detections still kept. Dropping a detections partition bypasses triggers: like the
hourly counts, the daily ones, which hold no plate, stay as history until a zone change.
The migration locks ``ai.detections`` against writes while it backfills.

Revision ID: 0012_report_local_days
Revises: 0011_report_rollups
Create Date: 2026-12-05
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0012_report_local_days"
down_revision: str | None = "0011_report_rollups"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

DEFAULT_ZONE = "America/Sao_Paulo"

TABLES = (
    """CREATE TABLE ai.report_zones (
        tenant_id uuid PRIMARY KEY,
        timezone text NOT NULL
    )""",
    """CREATE TABLE ai.detection_daily (
        tenant_id uuid NOT NULL,
        day date NOT NULL,
        camera_id uuid NOT NULL,
        reads bigint NOT NULL,
        CONSTRAINT pk_detection_daily PRIMARY KEY (tenant_id, day, camera_id)
    )""",
    """CREATE TABLE ai.detection_local_hourly (
        tenant_id uuid NOT NULL,
        day date NOT NULL,
        hour smallint NOT NULL,
        reads bigint NOT NULL,
        CONSTRAINT pk_detection_local_hourly PRIMARY KEY (tenant_id, day, hour)
    )""",
    """CREATE TABLE ai.plate_first_reads (
        tenant_id uuid NOT NULL,
        day date NOT NULL,
        prev_day date NOT NULL,
        reads bigint NOT NULL,
        CONSTRAINT pk_plate_first_reads PRIMARY KEY (tenant_id, day, prev_day)
    )""",
    """CREATE TABLE ai.plate_second_reads (
        tenant_id uuid NOT NULL,
        day date NOT NULL,
        prev_day date NOT NULL,
        prev2_day date NOT NULL,
        reads bigint NOT NULL,
        CONSTRAINT pk_plate_second_reads PRIMARY KEY (tenant_id, day, prev_day, prev2_day)
    )""",
)

#: Per roll-up: its table, key columns and which local rows it counts.
ROLLUPS = (
    ("ai.detection_daily", ("tenant_id", "day", "camera_id"), "TRUE"),
    ("ai.detection_local_hourly", ("tenant_id", "day", "hour"), "TRUE"),
    ("ai.plate_first_reads", ("tenant_id", "day", "prev_day"), "prev_day < day"),
    ("ai.plate_second_reads", ("tenant_id", "day", "prev_day", "prev2_day"),
     "prev_day > '-infinity' AND prev2_day < prev_day"),
)

# Beside each roll-up, its pending changes: no key (appended by every writer at once).
DELTA_TABLES = tuple(
    stmt for table, _, _ in ROLLUPS for stmt in (
        f"CREATE TABLE {table}_delta (LIKE {table})",
        f"CREATE INDEX ix_{table.split('.')[1]}_delta ON {table}_delta (tenant_id, day)"))

# A zone name PostgreSQL does not know would make every detection insert fail, and one it
# reads as a fixed abbreviation (CET, EST) would put its days an hour off the service's
# (which reads the zone of that name, with summer time): both count as the default.
VALID_ZONE = f"""
CREATE FUNCTION ai.valid_zone(name text) RETURNS text
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_timezone_abbrevs a WHERE lower(a.abbrev) = lower(name)) THEN
        RETURN '{DEFAULT_ZONE}';
    END IF;
    PERFORM now() AT TIME ZONE name;
    RETURN name;
EXCEPTION WHEN others THEN
    RETURN '{DEFAULT_ZONE}';
END $$
"""

#: Each detection of ``{source}`` in its tenant's local days (the shared row source of
#: the triggers, the backfill and a tenant's rebuild).
LOCAL_ROWS = f"""
SELECT s.tenant_id, s.camera_id,
       (s.detected_at AT TIME ZONE z.tz)::date AS day,
       extract(hour FROM s.detected_at AT TIME ZONE z.tz)::smallint AS hour,
       coalesce((s.prev_at AT TIME ZONE z.tz)::date, '-infinity') AS prev_day,
       coalesce((s.prev2_at AT TIME ZONE z.tz)::date, '-infinity') AS prev2_day
  FROM {{source}} s
  LEFT JOIN ai.report_zones rz ON rz.tenant_id = s.tenant_id
 CROSS JOIN LATERAL (SELECT coalesce(rz.timezone, '{DEFAULT_ZONE}') AS tz) z
 {{where}}
"""

def _apply(table: str, keys: tuple[str, ...], counts: str, changes: str) -> str:
    """Append each key's signed count of ``changes`` (a UNION ALL of local rows with a
    ``sign``) to ``table``'s deltas."""
    cols = ", ".join(keys)
    return f"""
    INSERT INTO {table}_delta ({cols}, reads)
    SELECT {cols}, sum(sign) FROM ({changes}) c WHERE {counts}
     GROUP BY {cols} HAVING sum(sign) <> 0;"""


def _changes(*sources: tuple[str, int]) -> str:
    return " UNION ALL ".join(
        f"SELECT l.*, {sign} AS sign FROM ({LOCAL_ROWS.format(source=source, where='')}) l"
        for source, sign in sources)


def _body(*sources: tuple[str, int]) -> str:
    return "".join(_apply(table, keys, counts, _changes(*sources))
                   for table, keys, counts in ROLLUPS)


def _tenant_lock(mode: str) -> str:
    return f"PERFORM pg_advisory_xact_lock{mode}(hashtextextended(k.tenant_id::text, 13))"


CHANGE_FUNCTION = f"""
CREATE FUNCTION ai.report_days_change() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        {_tenant_lock("_shared")} FROM (SELECT DISTINCT tenant_id FROM inserted ORDER BY 1) k;
        {_body(("inserted", 1))}
    ELSIF TG_OP = 'DELETE' THEN
        {_tenant_lock("_shared")} FROM (SELECT DISTINCT tenant_id FROM deleted ORDER BY 1) k;
        {_body(("deleted", -1))}
    ELSE
        -- 0011 re-links after every insert, mostly nothing.
        IF NOT EXISTS (SELECT 1 FROM updated_new) THEN
            RETURN NULL;
        END IF;
        {_tenant_lock("_shared")} FROM (SELECT tenant_id FROM updated_old UNION
                                       SELECT tenant_id FROM updated_new ORDER BY 1) k;
        {_body(("updated_old", -1), ("updated_new", 1))}
    END IF;
    RETURN NULL;
END $$
"""


def _rebuild(tenant: str) -> str:
    """Recount ``tenant``'s roll-ups from its detections (the backfill when ``tenant`` is
    every tenant: ``TRUE``)."""
    rows = LOCAL_ROWS.format(source="ai.detections",
                             where=f"WHERE {tenant.format(column='s.tenant_id')}")
    out = []
    for table, keys, counts in ROLLUPS:
        cols = ", ".join(keys)
        out.append(f"DELETE FROM {table}_delta WHERE {tenant.format(column='tenant_id')};")
        out.append(f"DELETE FROM {table} WHERE {tenant.format(column='tenant_id')};")
        out.append(f"INSERT INTO {table} ({cols}, reads) SELECT {cols}, count(*) "
                   f"FROM ({rows}) l WHERE {counts} GROUP BY {cols} ORDER BY {cols};")
    return "\n".join(out)


#: The one lock of whoever writes the roll-ups themselves (the folder and a rebuild).
FOLD_LOCK = "6871, 12"


def _fold(table: str, keys: tuple[str, ...]) -> str:
    cols = ", ".join(keys)
    return f"""
    WITH moved AS (DELETE FROM {table}_delta RETURNING {cols}, reads)
    INSERT INTO {table} AS t ({cols}, reads)
    SELECT {cols}, sum(reads) FROM moved GROUP BY {cols} ORDER BY {cols}
    ON CONFLICT ({cols}) DO UPDATE SET reads = t.reads + EXCLUDED.reads;"""


FOLD_FUNCTION = f"""
CREATE FUNCTION ai.fold_report_days() RETURNS boolean
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF NOT pg_try_advisory_xact_lock({FOLD_LOCK}) THEN
        RETURN false;  -- another folder is at it
    END IF;
    {"".join(_fold(table, keys) for table, keys, _ in ROLLUPS)}
    RETURN true;
END $$
"""

ZONE_FUNCTION = f"""
CREATE FUNCTION ai.report_zone_change() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    old_zone text;
    new_zone text := ai.valid_zone(NEW.timezone);
BEGIN
    -- The tenant's row lock orders its changes: nothing to do for an unchanged zone.
    SELECT timezone INTO old_zone FROM ai.report_zones WHERE tenant_id = NEW.id;
    IF old_zone IS NOT DISTINCT FROM new_zone THEN
        RETURN NULL;
    END IF;
    PERFORM pg_advisory_xact_lock(hashtextextended(NEW.id::text, 13));
    PERFORM pg_advisory_xact_lock({FOLD_LOCK});
    INSERT INTO ai.report_zones AS z (tenant_id, timezone) VALUES (NEW.id, new_zone)
    ON CONFLICT (tenant_id) DO UPDATE SET timezone = EXCLUDED.timezone;
    -- A tenant's rows are counted in the default zone until its zone is known.
    IF coalesce(old_zone, '{DEFAULT_ZONE}') <> new_zone THEN
        {_rebuild("{column} = NEW.id")}
    END IF;
    RETURN NULL;
END $$
"""

# One statement per execute: asyncpg prepares each, and a prepared statement holds one.
TRIGGERS = (
    """CREATE TRIGGER report_days_insert AFTER INSERT ON ai.detections
       REFERENCING NEW TABLE AS inserted FOR EACH STATEMENT
       EXECUTE FUNCTION ai.report_days_change()""",
    """CREATE TRIGGER report_days_delete AFTER DELETE ON ai.detections
       REFERENCING OLD TABLE AS deleted FOR EACH STATEMENT
       EXECUTE FUNCTION ai.report_days_change()""",
    """CREATE TRIGGER report_days_update AFTER UPDATE ON ai.detections
       REFERENCING OLD TABLE AS updated_old NEW TABLE AS updated_new FOR EACH STATEMENT
       EXECUTE FUNCTION ai.report_days_change()""",
    """CREATE TRIGGER report_zone_change AFTER INSERT OR UPDATE OF timezone
       ON streaming.tenants FOR EACH ROW EXECUTE FUNCTION ai.report_zone_change()""",
)

ZONES_BACKFILL = ("INSERT INTO ai.report_zones (tenant_id, timezone) "
                  "SELECT id, ai.valid_zone(timezone) FROM streaming.tenants")

#: Statements that fill every roll-up from the detections (the migration's backfill and
#: the benchmark's bulk load).
BACKFILL = _rebuild("TRUE")


def upgrade() -> None:
    # No detection is written meanwhile (it would be missed by one table's backfill).
    op.execute("LOCK TABLE ai.detections IN SHARE ROW EXCLUSIVE MODE")
    for table in (*TABLES, *DELTA_TABLES):
        op.execute(table)
    op.execute(VALID_ZONE)
    op.execute(ZONES_BACKFILL)
    for statement in BACKFILL.split(";\n"):
        if statement.strip():
            op.execute(statement)
    for table in ("ai.report_zones", *(table for table, _, _ in ROLLUPS)):
        op.execute(f"ANALYZE {table}")
    op.execute(CHANGE_FUNCTION)
    op.execute(FOLD_FUNCTION)
    op.execute(ZONE_FUNCTION)
    for trigger in TRIGGERS:
        op.execute(trigger)


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS report_zone_change ON streaming.tenants")
    for name in ("report_days_update", "report_days_delete", "report_days_insert"):
        op.execute(f"DROP TRIGGER IF EXISTS {name} ON ai.detections")
    op.execute("DROP FUNCTION IF EXISTS ai.report_zone_change()")
    op.execute("DROP FUNCTION IF EXISTS ai.fold_report_days()")
    op.execute("DROP FUNCTION IF EXISTS ai.report_days_change()")
    op.execute("DROP FUNCTION IF EXISTS ai.valid_zone(text)")
    for table, _, _ in ROLLUPS:
        op.execute(f"DROP TABLE IF EXISTS {table}_delta")
        op.execute(f"DROP TABLE IF EXISTS {table}")
    op.execute("DROP TABLE IF EXISTS ai.report_zones")
