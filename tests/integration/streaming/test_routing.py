"""Every router of the app serves paths under its own prefix only, which is what lets
``api.routing.PrefixRouter`` decline any other path without trying its routes."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi import APIRouter
from starlette.routing import Match

from streaming_service.api.routing import PrefixRouter


def test_every_router_is_a_prefix_router_included_as_is_with_its_paths_under_its_prefix(
    streaming_app: Any, ffmpeg_app: Any
) -> None:
    for app in (streaming_app, ffmpeg_app):
        routers = []
        for candidate in app.router.routes:
            router = getattr(candidate, "original_router", None)
            if router is None:  # the app's own routes (docs, static files)
                continue
            assert isinstance(router, PrefixRouter), router
            assert candidate.include_context.prefix == "", router.prefix
            outside = [getattr(r, "path", r) for r in router.routes
                       if not getattr(r, "path", "").startswith(router.literal_prefix)]
            assert outside == [], router.prefix
            routers.append(router.prefix)
        assert {"/api/streaming/streams", "/api/ai/alerts",
                "/api/streaming/cameras/{camera_id}/ptz", ""} <= set(routers)
    assert "/api/streaming/live" in {r.original_router.prefix for r in ffmpeg_app.router.routes
                                     if hasattr(r, "original_router")}


async def test_a_route_of_a_router_included_late_is_served(
    client: httpx.AsyncClient
) -> None:
    """The data-subject router is one of the last; unauthenticated, it answers 401 in the
    API's shape (a router that declined it would have made it a 404)."""
    response = await client.get("/api/ai/data-policy")
    assert response.status_code == 401, response.text
    assert response.json()["error"]["code"] == "not_authenticated"


async def test_fastapi_asks_each_router_so_the_routers_before_the_one_that_serves_try_nothing(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The shortcut works only while FastAPI asks each included router whether it matches
    (``PrefixRouter.matches``): the routes of a router whose prefix does not fit are then
    never tried."""
    tried: list[str] = []
    original = APIRouter.matches

    def counting(self: APIRouter, scope: Any) -> tuple[Match, Any]:
        tried.append(self.prefix)
        return original(self, scope)

    monkeypatch.setattr(APIRouter, "matches", counting)
    response = await client.get("/api/ai/data-policy")

    assert response.status_code == 401
    assert "/api/ai" in tried  # the data-subject router was asked, and tried its routes
    assert "/api/streaming/streams" not in tried  # declined before its routes
