"""What every request body of the streaming service must respect, in one base model.

* No unknown fields: ``{"name": "x", "entries": [...]}`` used to answer 201 and drop
  ``entries`` silently; now it is a 400 whose ``details.errors`` names the field, as in
  the admin service.
* No control characters in any string (``shared_kernel.text``): PostgreSQL refuses NUL,
  and the rest has no business in names, reasons or hook payloads. Fields holding one
  line of text (names, plates) use :data:`OneLine`, which refuses line breaks and tabs too.
* Date-times in bodies and query strings are :data:`Instant`: with an offset, converted
  to UTC, between the years 1900 and 9998.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, field_validator

from shared_kernel.text import forbidden_character, forbidden_paths, message_for


def _one_line(value: str) -> str:
    if forbidden_character(value, one_line=True) is not None:
        raise ValueError(message_for(one_line=True))
    return value


OneLine = Annotated[str, AfterValidator(_one_line)]
"""A string of one line: no control characters, tabs or line breaks."""

EARLIEST_INSTANT = datetime(1900, 1, 1, tzinfo=UTC)
LATEST_INSTANT = datetime(9998, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)


def _instant(value: datetime) -> datetime:
    # Python accepts 9999-12-31T23:00-05:00 and 0001-01-01T00:00+14:00, which are no
    # datetime in UTC; and a date next to either end leaves no room for the day or week
    # the use cases add or subtract (a report's default start, a day's segments).
    try:
        value = value.astimezone(UTC)
    except OverflowError as exc:
        raise ValueError("the date-time is out of range") from exc
    if not EARLIEST_INSTANT <= value <= LATEST_INSTANT:
        raise ValueError(f"the date-time must be between {EARLIEST_INSTANT:%Y-%m-%d} and "
                         f"{LATEST_INSTANT:%Y-%m-%d} (UTC)")
    return value


Instant = Annotated[AwareDatetime, AfterValidator(_instant)]
"""A date-time with an offset, as UTC, in the range the service can compute with."""


class RequestModel(BaseModel):
    """Base of every request body model (JSON) of the service."""

    model_config = ConfigDict(extra="forbid")

    @field_validator("*", mode="after")
    @classmethod
    def _no_control_characters(cls, value: Any) -> Any:
        # Strings anywhere in the field's value: nested lists and mappings included.
        for path in forbidden_paths(_plain(value)):
            where = f" (at {path})" if path else ""
            raise ValueError(message_for(one_line=False) + where)
        return value


def _plain(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump()
    return value
