"""Which characters a text received from a client may hold, for both services.

PostgreSQL refuses NUL in ``text`` and ``jsonb`` and cannot store a lone UTF-16 surrogate
(``"\\ud800"`` in JSON), so either one reaching a query is a 500; other control
characters are accepted by the database but make no sense in a name, a search or a
description, and end up in logs, CSV exports and audit entries. Every string a client
sends (JSON bodies, query parameters) is checked against one rule:

* anywhere: no C0 control except tab, line feed and carriage return, no DEL, no C1
  control, no lone surrogate;
* in a one-line value (a name, a username, a filter): no tab or line break either.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

# C0 controls but \t \n \r, DEL, C1 controls, and lone surrogates.
_FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")
_FORBIDDEN_ONE_LINE = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff\u2028\u2029]")

FORBIDDEN_MESSAGE = "control characters (such as NUL) are not allowed"
FORBIDDEN_ONE_LINE_MESSAGE = "control characters and line breaks are not allowed"


def forbidden_character(text: str, *, one_line: bool = False) -> str | None:
    """The first character ``text`` may not hold (None when it is clean)."""
    match = (_FORBIDDEN_ONE_LINE if one_line else _FORBIDDEN).search(text)
    return match.group() if match else None


def message_for(*, one_line: bool) -> str:
    return FORBIDDEN_ONE_LINE_MESSAGE if one_line else FORBIDDEN_MESSAGE


def forbidden_paths(value: Any, path: str = "") -> Iterator[str]:
    """Dotted paths (``metadata.tags.0``) of every string in a parsed JSON value, key or
    item, that holds a forbidden character; ``""`` names a top-level string."""
    if isinstance(value, str):
        if forbidden_character(value) is not None:
            yield path
    elif isinstance(value, Mapping):
        for key, item in value.items():
            child = f"{path}.{key}" if path else str(key)
            if isinstance(key, str) and forbidden_character(key) is not None:
                # The key itself is bad: name its parent and a printable form of it.
                yield f"{path}.{key!r}" if path else repr(key)
                continue
            yield from forbidden_paths(item, child)
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            yield from forbidden_paths(item, f"{path}.{index}" if path else str(index))
