"""What every request body of the streaming service must respect, in one base model.

* No unknown fields: ``{"name": "x", "entries": [...]}`` used to answer 201 and drop
  ``entries`` silently; now it is a 400 whose ``details.errors`` names the field, as in
  the admin service.
* No control characters in any string (``shared_kernel.text``): PostgreSQL refuses NUL,
  and the rest has no business in names, reasons or hook payloads. Fields holding one
  line of text (names, plates) use :data:`OneLine`, which refuses line breaks and tabs too.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, field_validator

from shared_kernel.text import forbidden_character, forbidden_paths, message_for


def _one_line(value: str) -> str:
    if forbidden_character(value, one_line=True) is not None:
        raise ValueError(message_for(one_line=True))
    return value


OneLine = Annotated[str, AfterValidator(_one_line)]
"""A string of one line: no control characters, tabs or line breaks."""


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
