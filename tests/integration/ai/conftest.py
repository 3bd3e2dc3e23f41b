"""Fixtures of the AI context's integration tests: a private PostgreSQL database migrated
to head, a Redis key prefix of their own, a private RabbitMQ vhost (``amqp_url``), and the
real streaming app served by uvicorn on a free local port (HTTP and WebSocket), with the
outbox relay (broker and live-feed lanes) running in process, as one deployment option."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
import uvicorn
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from shared_kernel.redis_pool import async_redis
from streaming_service.domain.ports import EngineUrls
from streaming_service.infrastructure.db.models import OutboxEvent
from streaming_service.infrastructure.db.session import create_engine, create_sessionmaker
from streaming_service.infrastructure.object_store import FilesystemObjectStore
from streaming_service.settings import StreamingSettings
from tests.integration.conftest import SIMULATOR_NETWORKS
from tools import db_roles


@contextlib.contextmanager
def migrated_database() -> Iterator[str]:
    """A new database with the production roles, migrated to head as the owner
    (``gtv_streaming_owner``); the app under test connects as ``gtv_streaming``. Dropped
    afterwards."""
    from streaming_service.migrate import upgrade

    with db_roles.private_database("gtv_test_ai") as name:
        url = db_roles.database_url(name, role=db_roles.STREAMING_OWNER, driver="asyncpg")
        # Alembic's env runs its own event loop: keep it off the test loop's thread.
        with ThreadPoolExecutor(1) as pool:
            pool.submit(upgrade, url).result(timeout=120)
        yield name


@pytest.fixture(scope="session")
def ai_db_name() -> Iterator[str]:
    with migrated_database() as name:
        yield name


@pytest.fixture(scope="session")
def streaming_settings(ai_db_name: str, amqp_url: str, tmp_path_factory: pytest.TempPathFactory
                ) -> StreamingSettings:
    root = tmp_path_factory.mktemp("ai")
    return StreamingSettings(
        streaming_db_name=ai_db_name,
        amqp_url=amqp_url,
        redis_prefix=f"gtv:test:{uuid.uuid4().hex[:8]}:",
        camera_allowed_networks=list(SIMULATOR_NETWORKS),
        object_store_root=root / "objects",
        media_root=root / "media",
        stream_control_listener=False,
        recording_keeper=False,  # started streams would disturb other tests
        run_projection_consumer=False,
        db_pool_size=4,
        ws_heartbeat_seconds=0.5,
        ws_read_block_ms=200,
        # Events reach RabbitMQ and the live feed through the outbox relay, run by the app.
        outbox_relay_in_process=True,
    )


@pytest.fixture(scope="session")
async def db_engine(streaming_settings: StreamingSettings) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(streaming_settings)
    yield engine
    await engine.dispose()


@pytest.fixture(scope="session")
def sessions(db_engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return create_sessionmaker(db_engine)


@pytest.fixture(scope="session")
async def redis_client(streaming_settings: StreamingSettings) -> AsyncIterator[Any]:
    client = async_redis(streaming_settings.redis_url)
    yield client
    keys = [k async for k in client.scan_iter(match=f"{streaming_settings.redis_prefix}*")]
    if keys:
        await client.delete(*keys)
    await client.aclose()


@pytest.fixture(scope="session")
def object_store(streaming_settings: StreamingSettings) -> FilesystemObjectStore:
    return FilesystemObjectStore(streaming_settings.object_store_root,
                                 secret="test-secret-0123456789")


class _IdleEngine:
    """The media engine is not under test here; event clips are cut as the FFmpeg engine
    cuts them, from the live segments under the media root."""

    name = "idle"

    def __init__(self, media_root: Path) -> None:
        from streaming_service.infrastructure.engines.ffmpeg.engine import FFmpegEngine

        self._ffmpeg = FFmpegEngine(media_root)

    async def cut_clip(self, camera_id: Any, start: Any, end: Any, output: Path) -> Any:
        return await self._ffmpeg.cut_clip(camera_id, start, end, output)

    async def close(self) -> None:
        return None

    async def status(self, camera_id: Any) -> None:
        return None

    def listen(self, **sinks: Any) -> None:
        return None

    def urls(self, camera_id: Any) -> EngineUrls:
        return EngineUrls(hls=f"/api/streaming/live/{camera_id}/index.m3u8")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    app: Any
    base_url: str
    ws_url: str


def build_app(streaming_settings: StreamingSettings, redis_client: Any,
              object_store: FilesystemObjectStore) -> Any:
    """The real app from the composition root (the AI context is mounted by it)."""
    from streaming_service.main import create_app

    return create_app(streaming_settings, engine=_IdleEngine(streaming_settings.media_root),  # type: ignore[arg-type]
                      object_store=object_store, redis_client=redis_client)


@contextlib.asynccontextmanager
async def serve(app: Any) -> AsyncIterator[Server]:
    """``app`` served by uvicorn on a free local port, on the test loop."""
    port = _free_port()
    # The session's one client keeps its connections: a server closing an idle one (5 s by
    # default) just as the client reuses it is a ReadError that says nothing of the app.
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                            ws_ping_interval=None, lifespan="on", timeout_keep_alive=600)
    uv = uvicorn.Server(config)
    task = asyncio.create_task(uv.serve())
    deadline = time.monotonic() + 20
    while not uv.started:
        if task.done() or time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        await asyncio.sleep(0.05)
    try:
        yield Server(app, f"http://127.0.0.1:{port}", f"ws://127.0.0.1:{port}")
    finally:
        uv.should_exit = True
        with contextlib.suppress(Exception):
            await asyncio.wait_for(task, 10)


@pytest.fixture(scope="session")
async def server(streaming_settings: StreamingSettings, redis_client: Any,
                 object_store: FilesystemObjectStore) -> AsyncIterator[Server]:
    async with serve(build_app(streaming_settings, redis_client, object_store)) as running:
        yield running


@pytest.fixture(scope="session")
async def http(server: Server) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=server.base_url, timeout=10) as client:
        yield client


@pytest.fixture(scope="session")
def private_key(streaming_settings: StreamingSettings) -> str:
    from shared_kernel.settings import private_key_pem

    path = _env_path("GTV_JWT_PRIVATE_KEY_FILE")
    return private_key_pem(None, path)


def _env_path(name: str) -> Path:
    from shared_kernel.settings import DEV_ENV_FILE

    for line in DEV_ENV_FILE.read_text().splitlines():
        if line.startswith(f"{name}="):
            return Path(line.split("=", 1)[1].strip().strip('"'))
    raise RuntimeError(f"{name} not in {DEV_ENV_FILE}")


@dataclass
class Caller:
    tenant_id: uuid.UUID
    user_id: uuid.UUID
    token: str
    jti: str
    exp: int

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@pytest.fixture(scope="session")
def make_caller(private_key: str, streaming_settings: StreamingSettings) -> Any:
    def make(role: str = "operator", tenant_id: uuid.UUID | None = None,
             ttl: int = 900) -> Caller:
        tenant = tenant_id or uuid.uuid4()
        user = uuid.uuid4()
        now = int(time.time())
        jti = uuid.uuid4().hex
        raw = {
            "sub": str(user), "user_id": str(user), "username": f"u-{user.hex[:6]}",
            "tenant_id": str(tenant), "roles": [role], "jti": jti, "iat": now,
            "exp": now + ttl, "iss": streaming_settings.jwt_issuer,
            "aud": streaming_settings.jwt_audience,
            "token_type": "access",
        }
        return Caller(tenant, user, jwt.encode(raw, private_key, algorithm="RS256"), jti,
                      now + ttl)

    return make


async def audit_records(sessions: async_sessionmaker[AsyncSession],
                        **match: str) -> list[dict[str, Any]]:
    """The audit records (``UserActivityRecorded`` payloads in the outbox), oldest first,
    whose fields equal ``match`` (``user_id``, ``tenant_id``, ``action``...)."""
    async with sessions() as session:
        rows = (await session.execute(
            select(OutboxEvent).where(OutboxEvent.event_type == "UserActivityRecorded")
            .order_by(OutboxEvent.created_at))).scalars().all()
    payloads = [row.envelope["payload"] for row in rows]
    return [p for p in payloads if all(p.get(k) == v for k, v in match.items())]
