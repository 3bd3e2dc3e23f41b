"""Both OpenAPI documents declare what the services answer on an error: every operation
lists the 4XX and 5XX ranges in the one error shape (no FastAPI 422, which is never sent),
and an admin object's update does not offer the tenant it refuses to change. Read from
the documents the services publish, so a client or a fuzzer that follows them is not
surprised; the servers' side is checked against the same schema here too."""

from __future__ import annotations

from typing import Any

import httpx
import jsonschema
import pytest

from shared_kernel.openapi import ERROR_SCHEMA
from tests.integration.shared_kernel.test_list_envelope import (
    _admin_document,
    _streaming_document,
)

METHODS = {"get", "put", "post", "delete", "patch"}


@pytest.mark.parametrize("load", [_streaming_document, _admin_document],
                         ids=["streaming", "admin"])
def test_every_operation_declares_its_errors_in_the_one_shape(load: Any) -> None:
    document = load()
    assert document["components"]["schemas"]["Error"] == ERROR_SCHEMA
    missing = []
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            if method not in METHODS:
                continue
            responses = operation["responses"]
            assert "422" not in responses, f"{method} {path}"
            for status in ("4XX", "5XX"):
                schema = responses.get(status, {}).get("content", {}).get(
                    "application/json", {}).get("schema")
                if schema != {"$ref": "#/components/schemas/Error"}:
                    missing.append(f"{method.upper()} {path} {status}")
    assert missing == []


def test_an_admin_objects_update_offers_no_tenant() -> None:
    document = _admin_document()
    schemas = document["components"]["schemas"]
    for path in ("/api/cidades/cameras/{id}/", "/api/cidades/locations/{id}/",
                 "/api/cidades/zones/{id}/"):
        for method in ("put", "patch"):
            ref = document["paths"][path][method]["requestBody"]["content"][
                "application/json"]["schema"]["$ref"]
            schema = schemas[ref.rsplit("/", 1)[-1]]
            assert "tenant" not in schema["properties"], (method, path)
            assert "tenant" not in schema.get("required", []), (method, path)
    creation = document["paths"]["/api/cidades/cameras/"]["post"]["requestBody"]["content"][
        "application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]
    assert "tenant" in schemas[creation]["properties"]  # a superadmin's choice on create


def test_the_errors_the_servers_send_match_the_documented_shape() -> None:
    from django.test import Client

    from streaming_service.main import create_app

    answers = [Client().get("/api/admin/me").json(),
               Client().post("/api/admin/auth/token", "[", content_type="application/json")
               .json()]
    app = create_app()
    transport = httpx.ASGITransport(app=app)

    async def streaming_errors() -> list[Any]:
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            return [(await client.get("/api/ai/alerts/")).json(),
                    (await client.get("/api/ai/alerts/?page_size=0")).json()]

    import asyncio

    answers += asyncio.run(streaming_errors())
    for body in answers:
        jsonschema.validate(body, ERROR_SCHEMA)
