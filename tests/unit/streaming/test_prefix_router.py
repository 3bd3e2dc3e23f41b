"""PrefixRouter declines a path outside its prefix at once, and routes as FastAPI does."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi import APIRouter, FastAPI
from starlette.routing import Match

from streaming_service.api.routing import PrefixRouter


def _app() -> FastAPI:
    alerts = PrefixRouter(prefix="/api/ai/alerts")
    ptz = PrefixRouter(prefix="/api/streaming/cameras/{camera_id}/ptz")
    health = PrefixRouter()

    @alerts.get("/")
    async def list_alerts() -> list[str]:
        return ["alert"]

    @ptz.post("/move")
    async def move(camera_id: str) -> dict[str, str]:
        return {"moved": camera_id}

    @health.get("/health")
    async def healthy() -> dict[str, bool]:
        return {"ok": True}

    app = FastAPI()
    for router in (ptz, health, alerts):
        app.include_router(router)
    return app


def _client(root_path: str = "") -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=_app(), root_path=root_path)
    return httpx.AsyncClient(transport=transport, base_url="http://testserver")


async def test_every_router_still_serves_its_paths_and_fastapi_answers_the_rest() -> None:
    async with _client() as client:
        assert (await client.get("/api/ai/alerts/")).json() == ["alert"]
        assert (await client.post("/api/streaming/cameras/c1/ptz/move")).json() == {
            "moved": "c1"}
        assert (await client.get("/health")).json() == {"ok": True}
        # A known path with another method, a missing slash, an unknown path.
        assert (await client.get("/api/streaming/cameras/c1/ptz/move")).status_code == 405
        redirect = await client.get("/api/ai/alerts")
        assert redirect.headers["location"].endswith("/api/ai/alerts/")
        assert (await client.get("/api/ai/nothing")).status_code == 404


async def test_a_root_path_is_not_part_of_the_prefix() -> None:
    async with _client(root_path="/gateway") as client:
        assert (await client.get("/gateway/api/ai/alerts/")).json() == ["alert"]


def test_a_path_outside_the_prefix_is_declined_without_trying_a_route(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    router = PrefixRouter(prefix="/api/streaming/cameras/{camera_id}/ptz")
    tried: list[str] = []

    def trying(self: APIRouter, scope: dict[str, Any]) -> tuple[Match, dict[str, Any]]:
        tried.append(scope["path"])
        return Match.NONE, {}

    monkeypatch.setattr(APIRouter, "matches", trying)
    scope: dict[str, Any] = {"type": "http", "root_path": ""}

    assert router.matches({**scope, "path": "/api/ai/alerts/"}) == (Match.NONE, {})
    assert tried == []
    router.matches({**scope, "path": "/api/streaming/cameras/c1/ptz/move"})
    assert tried == ["/api/streaming/cameras/c1/ptz/move"]
