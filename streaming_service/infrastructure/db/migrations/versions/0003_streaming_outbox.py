"""Transactional outbox of the streaming service: ``streaming.outbox_events``.

Revision ID: 0003_streaming_outbox
Revises: 0002_ai_initial
Create Date: 2025-01-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0003_streaming_outbox"
down_revision: str | None = "0002_ai_initial"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

S = "streaming"
UUID = postgresql.UUID(as_uuid=True)
TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "outbox_events",
        sa.Column("id", UUID, nullable=False),
        sa.Column("event_id", UUID, nullable=False),
        sa.Column("event_type", sa.String(64), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("tenant_id", UUID, nullable=True),
        sa.Column("exchange", sa.String(64), nullable=False),
        sa.Column("routing_key", sa.String(255), nullable=False),
        sa.Column("envelope", postgresql.JSONB, nullable=False),
        sa.Column("created_at", TS, server_default=sa.func.clock_timestamp(), nullable=False),
        sa.Column("published_at", TS, nullable=True),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("last_error", sa.Text, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_outbox_events"),
        schema=S,
    )
    op.create_index("ix_outbox_events_event_id", "outbox_events", ["event_id"], schema=S)
    # The relay's claim query reads only pending rows, oldest first.
    op.create_index(
        "ix_outbox_events_pending", "outbox_events", ["created_at"], schema=S,
        postgresql_where=sa.text("published_at IS NULL"),
    )


def downgrade() -> None:
    op.drop_table("outbox_events", schema=S)
