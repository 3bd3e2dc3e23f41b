"""SQLAlchemy model of the LGPD data lifecycle (schema ``ai``): each tenant's retention of
plate reads (migration 0007_ai_data_retention)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import DateTime, Integer, func
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column

from streaming_service.infrastructure.db.models.ai import AiBase


class TenantDataPolicy(AiBase):
    """A tenant's override of the default retention of detections and their crops."""

    __tablename__ = "tenant_data_policies"

    tenant_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    detection_retention_days: Mapped[int] = mapped_column(Integer)
    updated_by: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True), nullable=True)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True),
                                                 server_default=func.now())
