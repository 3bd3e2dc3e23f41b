"""What the ``streaming`` and ``ai`` schemas' models share: the constraint naming
convention, one ``MetaData`` per schema, and the common column shapes."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import DateTime, MetaData, func
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "pk": "pk_%(table_name)s",
}
FK_NAMING = {"fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s"}


def schema_metadata(schema: str, *, name_foreign_keys: bool = False) -> MetaData:
    """The ``MetaData`` of one schema under :data:`NAMING` (plus the foreign-key name
    pattern where the schema's migrations named them so)."""
    naming = {**NAMING, **FK_NAMING} if name_foreign_keys else dict(NAMING)
    return MetaData(schema=schema, naming_convention=naming)


def uuid_pk() -> Mapped[uuid.UUID]:
    return mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)


def now_column() -> Mapped[datetime]:
    return mapped_column(DateTime(timezone=True), server_default=func.now(), nullable=False)
