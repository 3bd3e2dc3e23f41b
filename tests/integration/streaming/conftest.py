"""Fixtures of the streaming service's integration tests: a private, migrated PostgreSQL
database, isolated Redis keys, RabbitMQ in the session's vhost, JWTs signed with the
development private key exactly as the admin service signs them, and the FastAPI app
wired to real adapters (MediaMTX client against the spec-driven stand-in, filesystem
object store, aio-pika publisher)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aio_pika
import httpx
import jwt
import pytest
import redis.asyncio as aioredis

from shared_kernel import bus
from shared_kernel.crypto import CredentialCipher, mask_rtsp_url
from shared_kernel.events import CameraRegistered, EventEnvelope, TenantCreated, new_event
from shared_kernel.settings import PROJECT_ROOT
from streaming_service.application.camera_projection import CameraProjection
from streaming_service.infrastructure.db.partitions import forget_known_partitions
from streaming_service.settings import StreamingSettings
from tests.integration.conftest import SIMULATOR_NETWORKS
from tools import db_roles

HOOK_TOKEN = "test-hook-token-0123456789"


@pytest.fixture(scope="session")
def streaming_db_name() -> Iterator[str]:
    """A fresh database for this session with the production roles, migrated with
    ``python -m streaming_service.migrate`` (the real entry point, connecting as the owner
    ``gtv_streaming_owner``), dropped afterwards. The app under test connects as the
    least-privilege ``gtv_streaming``."""
    with db_roles.private_database("gtvision_test_streaming") as name:
        try:
            migrate_streaming_database(name)
            yield name
        finally:
            forget_known_partitions()


def migrate_streaming_database(name: str) -> None:
    subprocess.run(
        [sys.executable, "-m", "streaming_service.migrate"],
        check=True, capture_output=True, timeout=120, cwd=PROJECT_ROOT,
        env={**_env(), "GTV_STREAMING_DB_NAME": name},
    )


def _env() -> dict[str, str]:
    import os

    return {k: v for k, v in os.environ.items() if k != "GTV_STREAMING_DB_NAME"}


@pytest.fixture(scope="session")
def streaming_settings(
    streaming_db_name: str, amqp_url: str, tmp_path_factory: pytest.TempPathFactory
) -> StreamingSettings:
    root = tmp_path_factory.mktemp("streaming")
    return StreamingSettings(
        streaming_db_name=streaming_db_name,
        amqp_url=amqp_url,
        redis_prefix=f"gtv-test-{uuid.uuid4().hex[:8]}:",
        media_root=root / "media",
        object_store_root=root / "objects",
        public_base_url="http://testserver",
        # The simulator (loopback) and the fake cameras of seed_camera (10.0.0.5).
        camera_allowed_networks=[*SIMULATOR_NETWORKS, "10.0.0.0/8"],
        engine="mediamtx",
        mediamtx_hook_token=HOOK_TOKEN,
        mediamtx_hls_public_url="http://media.test:8888",
        mediamtx_webrtc_public_url="http://media.test:8889",
        stream_control_listener=False,
        recording_keeper=False,  # started streams would disturb other tests
        db_pool_size=4,
        # Events go through the outbox; the app's own relay publishes them to the tap.
        outbox_relay_in_process=True,
        outbox_poll_interval_seconds=1.0,
        outbox_backoff_max_seconds=2.0,
    )


# --- tokens ----------------------------------------------------------------------------


@dataclass
class TokenFactory:
    private_key: str
    issuer: str
    audience: str

    def __call__(
        self,
        *,
        roles: tuple[str, ...] = ("viewer",),
        tenant_id: uuid.UUID | None = None,
        user_id: uuid.UUID | None = None,
        expires_in: int = 300,
        jti: str | None = None,
        key: str | None = None,
        session_id: str | None = None,
    ) -> str:
        now = int(time.time())
        user_id = user_id or uuid.uuid4()
        payload = {
            "token_type": "access",
            "sub": str(user_id),
            "user_id": str(user_id),
            "username": "test-user",
            "tenant_id": str(tenant_id) if tenant_id else None,
            "roles": list(roles),
            "jti": jti or uuid.uuid4().hex,
            "iat": now,
            "exp": now + expires_in,
            "iss": self.issuer,
            "aud": self.audience,
        }
        if session_id is not None:
            payload["sid"] = session_id
        return jwt.encode(payload, key or self.private_key, algorithm="RS256")


@pytest.fixture(scope="session")
def make_token(streaming_settings: StreamingSettings) -> TokenFactory:
    private = (PROJECT_ROOT / ".secrets" / "jwt_private.pem").read_text()
    return TokenFactory(private, streaming_settings.jwt_issuer, streaming_settings.jwt_audience)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


# --- events captured from domain.events --------------------------------------------------


@dataclass
class EventTap:
    """Every envelope published to ``domain.events`` during the session."""

    seen: list[EventEnvelope] = field(default_factory=list)

    async def wait_for(
        self, predicate: Callable[[EventEnvelope], bool], timeout: float = 5.0
    ) -> EventEnvelope:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for envelope in self.seen:
                if predicate(envelope):
                    return envelope
            await asyncio.sleep(0.05)
        raise AssertionError(f"no matching event; saw {[e.type for e in self.seen]}")


@pytest.fixture(scope="session")
async def event_tap(amqp_url: str) -> AsyncIterator[EventTap]:
    tap = EventTap()
    connection = await bus.connect(amqp_url)
    channel = await connection.channel()
    await bus.declare_topology(channel)
    exchange = await channel.get_exchange(bus.DOMAIN_EVENTS)
    queue = await channel.declare_queue(exclusive=True, auto_delete=True)
    await queue.bind(exchange)

    async def on_message(message: aio_pika.abc.AbstractIncomingMessage) -> None:
        async with message.process():
            with contextlib.suppress(ValueError):
                tap.seen.append(EventEnvelope.model_validate(json.loads(message.body)))

    await queue.consume(on_message)
    yield tap
    await connection.close()


# --- cameras -----------------------------------------------------------------------------


@dataclass(frozen=True)
class SeededCamera:
    camera_id: uuid.UUID
    tenant_id: uuid.UUID
    rtsp_url: str


@pytest.fixture(scope="session")
def cipher(streaming_settings: StreamingSettings) -> CredentialCipher:
    return CredentialCipher(streaming_settings.camera_credentials_key.get_secret_value())


@pytest.fixture(scope="session")
def projection(app_services: Any) -> CameraProjection:
    return CameraProjection(app_services.sessions)


@pytest.fixture(scope="session")
def seed_camera(
    projection: CameraProjection, cipher: CredentialCipher
) -> Callable[..., Any]:
    """Registers a camera through the projection (the path real events take)."""

    async def _seed(
        tenant_id: uuid.UUID | None = None,
        *,
        rtsp_url: str = "rtsp://admin:s3cr3t-pass@10.0.0.5:554/stream1",
        recording_mode: str = "off",
        retention_days: int = 90,
        revision: int = 1,
    ) -> SeededCamera:
        tenant_id = tenant_id or uuid.uuid4()
        camera_id = uuid.uuid4()
        await projection.handle(new_event(
            TenantCreated(tenant_id=tenant_id, name="Prefeitura Teste", slug=tenant_id.hex[:8]),
            producer="tests", tenant_id=tenant_id))
        await projection.handle(new_event(
            CameraRegistered(
                camera_id=camera_id, tenant_id=tenant_id, name=f"Cam {camera_id.hex[:6]}",
                rtsp_url_encrypted=cipher.encrypt(rtsp_url),
                rtsp_url_masked=mask_rtsp_url(rtsp_url), recording_mode=recording_mode,  # type: ignore[arg-type]
                retention_days=retention_days, revision=revision,
            ),
            producer="tests", tenant_id=tenant_id))
        return SeededCamera(camera_id, tenant_id, rtsp_url)

    return _seed


# --- the app -----------------------------------------------------------------------------


@pytest.fixture(scope="session")
def mediamtx_standin() -> Any:
    from tests.integration.streaming.mediamtx_standin import MediaMtxStandIn, load_spec

    return MediaMtxStandIn(load_spec())


@pytest.fixture(scope="session")
async def streaming_app(
    streaming_settings: StreamingSettings, mediamtx_standin: Any, event_tap: EventTap
) -> AsyncIterator[Any]:
    """The app with real adapters; its lifespan runs for the whole session."""
    from streaming_service.infrastructure.engines.mediamtx.client import MediaMtxClient
    from streaming_service.infrastructure.engines.mediamtx.engine import MediaMtxEngine
    from streaming_service.main import create_app

    def engine_factory() -> MediaMtxEngine:
        client = MediaMtxClient("http://mediamtx.test:9997",
                                transport=httpx.ASGITransport(app=mediamtx_standin.app))
        return MediaMtxEngine(client, record_root="/recordings",
                              address_policy=streaming_settings.camera_network_policy(),
                              hls_public_url=streaming_settings.mediamtx_hls_public_url,
                              webrtc_public_url=streaming_settings.mediamtx_webrtc_public_url)

    app = create_app(streaming_settings, engine=engine_factory())
    async with app.router.lifespan_context(app):
        yield app


@pytest.fixture(scope="session")
def app_services(streaming_app: Any) -> Any:
    return streaming_app.state.services


@pytest.fixture(scope="session")
async def ffmpeg_app(streaming_settings: StreamingSettings) -> AsyncIterator[Any]:
    """The same service with the embedded FFmpeg engine (its live HLS endpoints); no
    stream is started through it."""
    from streaming_service.main import create_app

    app = create_app(streaming_settings.model_copy(update={
        "engine": "ffmpeg", "outbox_relay_in_process": False}))
    async with app.router.lifespan_context(app):
        yield app


@pytest.fixture
async def ffmpeg_client(ffmpeg_app: Any) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=ffmpeg_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c


@pytest.fixture
async def client(streaming_app: Any) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=streaming_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c


@pytest.fixture(scope="session")
async def redis_client() -> AsyncIterator[Any]:
    client = aioredis.from_url("redis://127.0.0.1:6379/0")
    yield client
    await client.aclose()


def write_file(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path
