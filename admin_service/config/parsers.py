"""The JSON parser of the API: DRF's, plus the control-character rule of
``shared_kernel.text`` applied to every string of the body, keys and nested values
included, before any serializer sees it.

PostgreSQL refuses NUL in ``text`` and ``jsonb`` (a camera's ``metadata`` is stored
as-is), and a lone surrogate cannot be encoded for it at all: either one used to reach
the database and answer 500. Here the body is refused with a 400 naming each offending
field by its path (``metadata.tags.0``). One-line fields are stricter still
(``config.rest.StrictCharField``).

Two shapes that no API takes are refused before anything walks the
body: nesting deeper than ``MAX_DEPTH`` (a parse error: near Python's recursion limit the
parser itself raised ``RecursionError``, a 500 to an anonymous caller), and numbers no
field can hold (a 400 naming each: an integer beyond 64 bits overflowed ``float()`` in
validators; ``1e999`` is infinity, which ``jsonb`` refuses).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import IO, Any

from rest_framework import exceptions, parsers, serializers

from shared_kernel.text import forbidden_paths, message_for

NON_FIELD = "non_field_errors"
#: Deepest nesting of arrays and objects a body may have (the deepest API body, a zone's
#: polygon, has four levels).
MAX_DEPTH = 32
#: The integers a body may carry (PostgreSQL's bigint).
MIN_INTEGER, MAX_INTEGER = -(2**63), 2**63 - 1


def _out_of_shape(data: Any) -> tuple[bool, list[str]]:
    """Whether ``data`` nests deeper than ``MAX_DEPTH``, and the dotted paths of numbers
    no field can hold; iterative, so any depth is looked at safely."""
    pending: list[tuple[Any, int, str]] = [(data, 0, "")]
    out_of_range: list[str] = []
    while pending:
        value, depth, path = pending.pop()
        if isinstance(value, Mapping | list):
            if depth >= MAX_DEPTH:
                return True, []
            items = value.items() if isinstance(value, Mapping) else enumerate(value)
            pending.extend((item, depth + 1, f"{path}.{key}" if path else str(key))
                           for key, item in items)
        elif isinstance(value, bool):
            continue
        elif (isinstance(value, int) and not MIN_INTEGER <= value <= MAX_INTEGER) or (
                isinstance(value, float) and not math.isfinite(value)):
            out_of_range.append(path)
    return False, sorted(out_of_range)


class JSONParser(parsers.JSONParser):
    def parse(self, stream: IO[Any], media_type: str | None = None,
              parser_context: Mapping[str, Any] | None = None) -> Any:
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise exceptions.ParseError(
                f"JSON parse error - nested more than {MAX_DEPTH} levels deep.") from None
        too_deep, out_of_range = _out_of_shape(data)
        if too_deep:
            raise exceptions.ParseError(
                f"JSON parse error - nested more than {MAX_DEPTH} levels deep.")
        if out_of_range:
            raise serializers.ValidationError(
                {path or NON_FIELD: ["This number is out of range."] for path in out_of_range})
        bad = list(forbidden_paths(data))
        if bad:
            message = message_for(one_line=False)
            raise serializers.ValidationError({path or NON_FIELD: [message] for path in bad})
        return data
