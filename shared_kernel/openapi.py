"""What both services' OpenAPI documents say about errors.

Each service answers every error in one shape, ``{"error": {"code", "message",
"details"}}`` (400 for invalid input, 401, 403, 404 for another tenant's object, 405,
409, 413, 415, 429, 503...). The generators document the successes only (and FastAPI a
422 it never sends: its validation errors answer 400), so a client or a fuzzer reading
the documents met statuses and bodies they did not declare. ``document_errors`` declares,
on every operation, the ``4XX`` and ``5XX`` ranges with that shape, leaving a status an
operation documents itself as it is.
"""

from __future__ import annotations

from typing import Any

ERROR_COMPONENT = "Error"
ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "Every error of the API.",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message", "details"],
            "properties": {
                "code": {"type": "string", "description": "Stable, machine-readable."},
                "message": {"type": "string"},
                "details": {"type": "object", "description": "Field errors and context."},
            },
        },
    },
}
_METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}
_RANGES = {
    "4XX": "The request was refused: invalid input (400), no or a bad token (401), a role "
           "that does not allow it (403), unknown or another tenant's (404), a conflict "
           "(409), too large (413), too many (429)...",
    "5XX": "The service could not answer now (503 when a dependency is unavailable).",
}
#: FastAPI's own validation-error answer, replaced by the 400 in the error shape.
_UNSENT = {"422"}


def document_errors(document: dict[str, Any]) -> dict[str, Any]:
    """``document`` (changed in place, and returned) with the error ranges declared."""
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    schemas[ERROR_COMPONENT] = ERROR_SCHEMA
    reference = {"$ref": f"#/components/schemas/{ERROR_COMPONENT}"}
    for path_item in document.get("paths", {}).values():
        for method, operation in path_item.items():
            if method not in _METHODS:
                continue
            responses = operation.setdefault("responses", {})
            for status in _UNSENT:
                responses.pop(status, None)
            for status, description in _RANGES.items():
                responses.setdefault(status, {
                    "description": description,
                    "content": {"application/json": {"schema": reference}},
                })
    return document
