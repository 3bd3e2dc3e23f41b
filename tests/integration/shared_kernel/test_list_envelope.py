"""Both services answer every list in one envelope (shared_kernel.pagination).

Read from the OpenAPI documents the services publish, so a new list endpoint that
invents its own shape fails here, on either side.
"""

from __future__ import annotations

from typing import Any

import pytest

LIST_ENVELOPE = {"count", "page", "page_size", "next", "previous", "results"}


def _streaming_document() -> dict[str, Any]:
    from streaming_service.main import create_app

    document: dict[str, Any] = create_app().openapi()
    return document


def _admin_document() -> dict[str, Any]:
    from drf_spectacular.generators import SchemaGenerator

    document: dict[str, Any] = SchemaGenerator().get_schema(request=None, public=True)
    return document


def _resolve(document: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        schema = document["components"]["schemas"][name]
    return schema


def _paged_lists(document: dict[str, Any]) -> dict[str, set[str]]:
    """Each GET taking ``?page=`` → the property names of its 200 response."""
    found = {}
    for path, operations in document["paths"].items():
        get = operations.get("get")
        if not get or not any(p.get("name") == "page" for p in get.get("parameters", [])):
            continue
        content = get["responses"]["200"]["content"]["application/json"]["schema"]
        found[path] = set(_resolve(document, content).get("properties", {}))
    return found


@pytest.mark.django_db
@pytest.mark.parametrize("service", ["admin", "streaming"])
def test_every_paged_list_answers_the_one_envelope(service: str) -> None:
    document = _admin_document() if service == "admin" else _streaming_document()
    lists = _paged_lists(document)
    assert len(lists) >= 4, f"{service}: too few paged lists found: {sorted(lists)}"
    wrong = {path: sorted(keys) for path, keys in lists.items() if keys != LIST_ENVELOPE}
    assert wrong == {}


def test_the_streaming_lists_named_in_the_docs_are_paged() -> None:
    lists = _paged_lists(_streaming_document())
    assert {"/api/streaming/streams/", "/api/streaming/recordings/", "/api/ai/watchlists/",
            "/api/ai/watchlists/{watchlist_id}/entries/", "/api/ai/detections/",
            "/api/ai/alerts/"} <= set(lists)
