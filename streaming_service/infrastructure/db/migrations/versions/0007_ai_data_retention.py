"""LGPD data lifecycle: each tenant's retention of plate reads.

``ai.tenant_data_policies`` holds a tenant's override of ``GTV_LPR_RETENTION_DAYS``
(how long detections and their crops are kept); no row means the default. The purge
itself (streaming_service/application/ai/data_lifecycle.py) needs no new index: it walks
``ix_detections_tenant_detected`` and checks alerts through their unique
``(detection_id, watchlist_entry_id)`` index.

Revision ID: 0007_ai_data_retention
Revises: 0006_detection_plate_keys
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0007_ai_data_retention"
down_revision: str | None = "0006_detection_plate_keys"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "tenant_data_policies",
        sa.Column("tenant_id", postgresql.UUID(as_uuid=True), primary_key=True),
        sa.Column("detection_retention_days", sa.Integer, nullable=False),
        sa.Column("updated_by", postgresql.UUID(as_uuid=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False,
                  server_default=sa.func.now()),
        sa.CheckConstraint("detection_retention_days BETWEEN 1 AND 3650",
                           name="ck_tenant_data_policies_retention_days"),
        schema="ai",
    )


def downgrade() -> None:
    op.drop_table("tenant_data_policies", schema="ai")
