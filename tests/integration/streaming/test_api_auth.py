"""Authentication, roles, tenant scoping and the error shape of the streaming API."""

from __future__ import annotations

import asyncio
import re
import time
import uuid
from typing import Any

import httpx

from shared_kernel.auth import AsyncRedisDenylist, ended_session_key
from tests.integration.streaming.conftest import bearer


def assert_error(response: httpx.Response, status: int, code: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "details"}
    if code is not None:
        assert body["error"]["code"] == code
    return body["error"]


async def test_request_without_token_gets_401(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/streaming/streams/")
    assert_error(response, 401, "not_authenticated")
    assert response.headers["www-authenticate"].startswith("Bearer")


async def test_a_scheme_other_than_bearer_gets_401(
    client: httpx.AsyncClient, make_token: Any
) -> None:
    token = make_token(tenant_id=uuid.uuid4())
    assert (await client.get("/api/streaming/streams/",
                             headers=bearer(token))).status_code == 200
    for authorization in (f"Basic {token}", f"Token {token}", token, "Bearer"):
        response = await client.get("/api/streaming/streams/",
                                    headers={"Authorization": authorization})
        error = assert_error(response, 401, "not_authenticated")
        assert error["message"] == "authentication credentials were not provided"
        assert response.headers["www-authenticate"].startswith("Bearer")


async def test_garbage_and_foreign_signed_tokens_get_401(
    client: httpx.AsyncClient, make_token: Any
) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    other_key = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()).decode()
    for token in ("not-a-jwt", make_token(tenant_id=uuid.uuid4(), key=other_key),
                  make_token(tenant_id=uuid.uuid4(), expires_in=-60)):
        response = await client.get("/api/streaming/streams/", headers=bearer(token))
        assert_error(response, 401, "not_authenticated")


async def test_revoked_token_gets_401(
    client: httpx.AsyncClient, make_token: Any, redis_client: Any
) -> None:
    jti = uuid.uuid4().hex
    token = make_token(tenant_id=uuid.uuid4(), jti=jti)
    ok = await client.get("/api/streaming/streams/", headers=bearer(token))
    assert ok.status_code == 200
    await AsyncRedisDenylist(redis_client).revoke(jti, exp=int(__import__("time").time()) + 300)
    response = await client.get("/api/streaming/streams/", headers=bearer(token))
    assert_error(response, 401, "not_authenticated")


async def test_token_checks_are_answered_in_process_and_a_revocation_refuses_the_next_request(
    client: httpx.AsyncClient, make_token: Any, redis_client: Any, app_services: Any
) -> None:
    reads = app_services.tracked_reads
    deadline = time.monotonic() + 5
    while not reads.live:
        assert time.monotonic() < deadline, "Redis never tracked the keys"
        await asyncio.sleep(0.01)
    jti = uuid.uuid4().hex
    token = make_token(tenant_id=uuid.uuid4(), jti=jti)
    for _ in range(3):
        assert (await client.get("/api/streaming/streams/",
                                 headers=bearer(token))).status_code == 200
    hits, misses = reads.hits, reads.misses
    assert (await client.get("/api/streaming/streams/", headers=bearer(token))).status_code == 200
    # The token's keys (and the tenant's stream statuses) with no round trip to Redis.
    assert (reads.hits > hits, reads.misses) == (True, misses)
    await AsyncRedisDenylist(redis_client).revoke(jti, exp=int(time.time()) + 300)
    response = await client.get("/api/streaming/streams/", headers=bearer(token))
    assert_error(response, 401, "not_authenticated")


async def test_a_token_of_a_session_ended_by_a_logout_gets_401(
    client: httpx.AsyncClient, make_token: Any, redis_client: Any
) -> None:
    tenant = uuid.uuid4()
    ended, other = uuid.uuid4().hex, uuid.uuid4().hex
    tokens = {sid: make_token(tenant_id=tenant, session_id=sid) for sid in (ended, other)}
    assert (await client.get("/api/streaming/streams/",
                             headers=bearer(tokens[ended]))).status_code == 200
    await redis_client.set(ended_session_key(ended), "1", ex=300)  # what a logout writes
    response = await client.get("/api/streaming/streams/", headers=bearer(tokens[ended]))
    assert_error(response, 401, "not_authenticated")
    assert (await client.get("/api/streaming/streams/",
                             headers=bearer(tokens[other]))).status_code == 200


async def test_viewer_cannot_start_a_stream(
    client: httpx.AsyncClient, make_token: Any, seed_camera: Any
) -> None:
    camera = await seed_camera()
    token = make_token(roles=("viewer",), tenant_id=camera.tenant_id)
    response = await client.post(f"/api/streaming/streams/{camera.camera_id}/start",
                                 headers=bearer(token))
    assert_error(response, 403, "permission_denied")


async def test_operator_of_other_tenant_gets_404_for_the_camera(
    client: httpx.AsyncClient, make_token: Any, seed_camera: Any
) -> None:
    camera = await seed_camera()
    intruder = make_token(roles=("operator",), tenant_id=uuid.uuid4())
    for path in (f"/api/streaming/streams/{camera.camera_id}/start",
                 f"/api/streaming/streams/{camera.camera_id}/stop",
                 f"/api/streaming/cameras/{camera.camera_id}/snapshot"):
        response = await client.post(path, headers=bearer(intruder))
        assert_error(response, 404, "camera_not_found")
    response = await client.get(
        "/api/streaming/recordings/",
        params={"camera_id": str(camera.camera_id), "start": "2025-01-01T00:00:00Z",
                "end": "2025-01-02T00:00:00Z"},
        headers=bearer(intruder))
    assert_error(response, 404, "camera_not_found")


async def test_unknown_camera_gets_404_and_bad_id_gets_400(
    client: httpx.AsyncClient, make_token: Any
) -> None:
    token = make_token(roles=("operator",), tenant_id=uuid.uuid4())
    response = await client.post(f"/api/streaming/streams/{uuid.uuid4()}/start",
                                 headers=bearer(token))
    assert_error(response, 404, "camera_not_found")
    response = await client.post("/api/streaming/streams/not-a-uuid/start",
                                 headers=bearer(token))
    error = assert_error(response, 400, "validation_error")
    assert error["details"]["errors"][0]["loc"][-1] == "camera_id"


async def test_unknown_route_uses_the_error_shape(client: httpx.AsyncClient) -> None:
    assert_error(await client.get("/api/streaming/nothing-here"), 404, "not_found")


async def test_health_ready_metrics_and_openapi(client: httpx.AsyncClient) -> None:
    assert (await client.get("/health")).json() == {"status": "ok"}
    ready = await client.get("/ready")
    assert ready.status_code == 200, ready.text
    assert ready.json()["checks"] == {"database": "ok", "redis": "ok", "rabbitmq": "ok"}
    metrics = await client.get("/metrics")
    assert 'http_requests_total{method="GET",route="/health",service="streaming_service"' \
        in metrics.text
    assert 'route="/health"' in metrics.text
    assert "gtv_streams_active" in metrics.text
    spec = (await client.get("/api/streaming/openapi.json")).json()
    for path in ("/api/streaming/streams/{camera_id}/start", "/api/streaming/streams/",
                 "/api/streaming/recordings/", "/api/streaming/recordings/{recording_id}/playback",
                 "/api/streaming/exports", "/api/streaming/exports/{export_id}",
                 "/api/streaming/cameras/{camera_id}/snapshot"):
        assert path in spec["paths"], path


async def test_swagger_ui_loads_only_our_own_assets(client: httpx.AsyncClient) -> None:
    """No CDN: operators' networks and CI machines have no internet."""
    page = await client.get("/api/streaming/docs")
    assert page.status_code == 200
    assets = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert assets and all(a.startswith("/api/streaming/") for a in assets), assets
    for asset in assets:
        assert (await client.get(asset)).status_code == 200, asset
