"""Monthly partitions without DDL rights at run time.

The service connects as a role that may read and write rows but not create tables
(deploy/postgres/roles.sql). Partitions are created by functions that run with their
owner's rights (SECURITY DEFINER, a fixed search_path, no EXECUTE for PUBLIC; the
runtime role gets EXECUTE from the owner's default privileges):
``streaming.ensure_recordings_partition(timestamptz)`` is new, and the ``ai`` partition
functions of 0002 now run as their owner too.

Revision ID: 0004_partition_functions
Revises: 0003_streaming_outbox
Create Date: 2025-01-04
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0004_partition_functions"
down_revision: str | None = "0003_streaming_outbox"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ENSURE_RECORDINGS_PARTITION = """
CREATE OR REPLACE FUNCTION streaming.ensure_recordings_partition(at timestamptz)
RETURNS text LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    month_start timestamp := date_trunc('month', at AT TIME ZONE 'UTC');
    part text := 'recordings_y' || to_char(month_start, 'YYYY') || 'm'
                 || to_char(month_start, 'MM');
BEGIN
    IF to_regclass('streaming.' || quote_ident(part)) IS NULL THEN
        -- Concurrent writers take turns; CREATE ... IF NOT EXISTS alone can still race.
        PERFORM pg_advisory_xact_lock(hashtext('streaming.' || part));
        EXECUTE format(
            'CREATE TABLE IF NOT EXISTS streaming.%I PARTITION OF streaming.recordings '
            'FOR VALUES FROM (%L) TO (%L)',
            part,
            (month_start AT TIME ZONE 'UTC'),
            ((month_start + interval '1 month') AT TIME ZONE 'UTC')
        );
    END IF;
    RETURN part;
END $$;
"""

FUNCTIONS = (
    "streaming.ensure_recordings_partition(timestamptz)",
    "ai.ensure_detections_partition(timestamptz)",
    "ai.ensure_detections_partitions_ahead(int)",
)


def upgrade() -> None:
    op.execute(ENSURE_RECORDINGS_PARTITION)
    for function in FUNCTIONS[1:]:
        op.execute(f"ALTER FUNCTION {function} SECURITY DEFINER "
                   "SET search_path = pg_catalog, pg_temp")
    for function in FUNCTIONS:
        op.execute(f"REVOKE EXECUTE ON FUNCTION {function} FROM PUBLIC")


def downgrade() -> None:
    for function in FUNCTIONS[1:]:
        op.execute(f"ALTER FUNCTION {function} SECURITY INVOKER RESET search_path")
        op.execute(f"GRANT EXECUTE ON FUNCTION {function} TO PUBLIC")
    op.execute(f"DROP FUNCTION IF EXISTS {FUNCTIONS[0]}")
