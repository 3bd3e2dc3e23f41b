"""The JSON parser of the API: DRF's, plus the control-character rule of
``shared_kernel.text`` applied to every string of the body, keys and nested values
included, before any serializer sees it.

PostgreSQL refuses NUL in ``text`` and ``jsonb`` (a camera's ``metadata`` is stored
as-is), and a lone surrogate cannot be encoded for it at all: either one used to reach
the database and answer 500. Here the body is refused with a 400 naming each offending
field by its path (``metadata.tags.0``). One-line fields are stricter still
(``config.rest.StrictCharField``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import IO, Any

from rest_framework import parsers, serializers

from shared_kernel.text import forbidden_paths, message_for

NON_FIELD = "non_field_errors"


class JSONParser(parsers.JSONParser):
    def parse(self, stream: IO[Any], media_type: str | None = None,
              parser_context: Mapping[str, Any] | None = None) -> Any:
        data = super().parse(stream, media_type, parser_context)
        bad = list(forbidden_paths(data))
        if bad:
            message = message_for(one_line=False)
            raise serializers.ValidationError({path or NON_FIELD: [message] for path in bad})
        return data
