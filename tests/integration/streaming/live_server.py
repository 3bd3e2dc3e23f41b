"""A real HTTP streaming service with the FFmpeg engine, for the tests that need one:
``create_app`` served by uvicorn on a free loopback port in the test's event loop, shut
down through its own lifespan, and proven to leave no ffmpeg behind."""

from __future__ import annotations

import asyncio
import socket
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import uvicorn

from streaming_service.domain.stream import Backoff
from streaming_service.infrastructure.engines.ffmpeg.engine import FFmpegEngine, FFmpegEngineOptions
from streaming_service.settings import StreamingSettings

# Test tuning of the engine: a lost camera is noticed and retried within seconds.
ENGINE_OPTIONS = FFmpegEngineOptions(
    stall_timeout=4.0, start_timeout=15.0, stop_timeout=5.0, status_interval=1.0,
    backoff=Backoff(initial_seconds=0.5, factor=2.0, max_seconds=2.0),
)


@dataclass(frozen=True)
class LiveServer:
    base_url: str
    services: Any
    engine: FFmpegEngine


def processes_mentioning(text: str) -> list[int]:
    """Pids whose command line contains ``text`` (the engine's ffmpeg name their dirs)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if text.encode() in (entry / "cmdline").read_bytes():
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


@asynccontextmanager
async def serve_ffmpeg_app(
    streaming_settings: StreamingSettings, root: Path, name: str, **overrides: Any
) -> AsyncIterator[LiveServer]:
    from streaming_service.main import create_app

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    base_url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    settings = streaming_settings.model_copy(update={
        "engine": "ffmpeg", "media_root": root / "media", "object_store_root": root / "objects",
        "public_base_url": base_url, "redis_prefix": f"gtv-test-{uuid.uuid4().hex[:8]}:",
        "segment_seconds": 2, **overrides,
    })
    engine = FFmpegEngine(settings.media_root, options=ENGINE_OPTIONS,
                          address_policy=settings.camera_network_policy(),
                          public_base_url=f"{base_url}/api/streaming")
    app = create_app(settings, engine=engine)
    server = uvicorn.Server(uvicorn.Config(app, lifespan="on", log_config=None,
                                           access_log=False))
    task = asyncio.create_task(server.serve(sockets=[sock]), name=f"uvicorn-{name}")
    try:
        async with asyncio.timeout(20):
            while not server.started:
                if task.done():
                    raise RuntimeError(f"uvicorn did not start: {task.exception()!r}")
                await asyncio.sleep(0.05)
        yield LiveServer(base_url, app.state.services, engine)
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, timeout=30)
        sock.close()
        assert not processes_mentioning(str(root)), "ffmpeg left running after shutdown"
