"""Per-tenant LPR settings: the confidence a plate read needs to raise an alert and the
watchlist match distance (one OCR-confusable character) for high-severity lists; and a
third alert status, ``retracted``: an alert raised on a provisional read that the
tracker's vote no longer supports.

A tenant without a row gets the defaults (``domain.ai.lpr_settings.LprPolicy``).

Revision ID: 0005_lpr_settings_retraction
Revises: 0004_partition_functions
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0005_lpr_settings_retraction"
down_revision: str | None = "0004_partition_functions"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

S = "ai"


def upgrade() -> None:
    op.create_table(
        "lpr_settings",
        sa.Column("tenant_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("min_confidence", sa.Float(), nullable=False, server_default="0"),
        sa.Column("match_distance", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("fuzzy_min_severity", sa.String(16), nullable=False,
                  server_default="high"),
        sa.Column("updated_by", postgresql.UUID(as_uuid=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False,
                  server_default=sa.func.now()),
        sa.PrimaryKeyConstraint("tenant_id", name="pk_lpr_settings"),
        sa.CheckConstraint("min_confidence >= 0 AND min_confidence <= 1",
                           name="ck_lpr_settings_min_confidence"),
        sa.CheckConstraint("match_distance IN (0, 1)", name="ck_lpr_settings_match_distance"),
        sa.CheckConstraint("fuzzy_min_severity IN ('low', 'medium', 'high', 'critical')",
                           name="ck_lpr_settings_fuzzy_min_severity"),
        schema=S,
    )
    op.drop_constraint("ck_alerts_status", "alerts", schema=S, type_="check")
    op.create_check_constraint("ck_alerts_status", "alerts",
                               "status IN ('new', 'acknowledged', 'retracted')", schema=S)


def downgrade() -> None:
    op.drop_constraint("ck_alerts_status", "alerts", schema=S, type_="check")
    op.execute("UPDATE ai.alerts SET status = 'acknowledged' WHERE status = 'retracted'")
    op.create_check_constraint("ck_alerts_status", "alerts",
                               "status IN ('new', 'acknowledged')", schema=S)
    op.drop_table("lpr_settings", schema=S)
