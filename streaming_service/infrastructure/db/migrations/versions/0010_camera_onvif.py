"""The camera projection's ONVIF side (issue 12): the encrypted ONVIF endpoint and
whether the camera can be steered (PTZ), from ``CameraRegistered``/``CameraUpdated``
version 2.

Revision ID: 0010_camera_onvif
Revises: 0009_recording_totals
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010_camera_onvif"
down_revision: str | None = "0009_recording_totals"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("cameras", sa.Column("onvif_encrypted", sa.Text, nullable=True),
                  schema="streaming")
    op.add_column("cameras", sa.Column("ptz", sa.Boolean, nullable=False,
                                       server_default=sa.false()), schema="streaming")


def downgrade() -> None:
    op.drop_column("cameras", "ptz", schema="streaming")
    op.drop_column("cameras", "onvif_encrypted", schema="streaming")
