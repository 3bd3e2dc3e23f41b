"""The streaming service's composition root: settings → adapters → use cases → FastAPI.

``create_app()`` builds the real adapters named by the settings (FFmpeg or MediaMTX
engine, filesystem or S3 object store, the transactional outbox, the aio-pika publisher);
tests pass their own by name. With ``GTV_OUTBOX_RELAY_IN_PROCESS`` the outbox relay (its
broker and live-feed lanes) runs as background tasks of the app. Run with
``uvicorn --factory streaming_service.main:create_app --port 8001`` (or
``python -m streaming_service.main``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

import drf_spectacular_sidecar  # pinned by the admin service; plain static assets
import redis.asyncio as aioredis
from fastapi import FastAPI, Request, Response
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

from shared_kernel.auth import AsyncRedisDenylist, JWTVerifier
from shared_kernel.camera_network import CameraNetworkPolicy
from shared_kernel.correlation import (
    CORRELATION_HEADER,
    accept_or_new,
    reset_correlation_id,
    set_correlation_id,
)
from shared_kernel.crypto import CredentialCipher
from shared_kernel.logging import configure_logging, redact_server_logs
from shared_kernel.proxies import TrustedProxies
from streaming_service.api import (
    exports,
    health,
    live,
    media,
    mediamtx_hooks,
    recordings,
    snapshots,
    streams,
)
from streaming_service.api.ai import build_ai_services, install_ai
from streaming_service.api.ai.lpr import RECOGNIZE_PATH, upload_body_limit
from streaming_service.api.deps import Services
from streaming_service.api.errors import install_error_handlers
from streaming_service.api.forwarded import ForwardedHeadersMiddleware
from streaming_service.api.middleware import BodySizeLimit, QueryTextGuard
from streaming_service.application.audit import AuditTrail
from streaming_service.application.camera_projection import CameraProjection
from streaming_service.application.exports import Exports, SegmentConcatenator
from streaming_service.application.recording_keeper import RecordingKeeper
from streaming_service.application.recordings import Recordings
from streaming_service.application.snapshots import FrameGrabber, GrabbedFrame, Snapshots
from streaming_service.application.streams import StreamControl
from streaming_service.application.thumbnails import (
    SourceResolver,
    ThumbnailGrabber,
    Thumbnails,
)
from streaming_service.domain.ports import (
    CompletedSegment,
    EventPublisher,
    MediaEngine,
    ObjectStore,
    Outbox,
    SegmentSink,
    StatusSink,
)
from streaming_service.domain.stream import StreamStatus
from streaming_service.infrastructure.audit_window import RedisViewWindow
from streaming_service.infrastructure.consumers import (
    RunningConsumer,
    start_projection_consumer,
    start_stream_control_listener,
)
from streaming_service.infrastructure.db.models import Camera
from streaming_service.infrastructure.db.partitions import ensure_partitions_ahead
from streaming_service.infrastructure.db.session import create_engine, create_sessionmaker
from streaming_service.infrastructure.media_token import MediaTokenSigner
from streaming_service.infrastructure.metrics import StreamingMetrics
from streaming_service.infrastructure.outbox import SqlOutbox
from streaming_service.infrastructure.publisher import AmqpEventPublisher
from streaming_service.infrastructure.redis_lease import RedisLease
from streaming_service.infrastructure.stream_status import RedisStreamStatusCache
from streaming_service.settings import StreamingSettings

log = logging.getLogger(__name__)

API_PREFIX = "/api/streaming"
SERVICE_NAME = "streaming_service"  # the `service` label of the metric contract
EngineFactory = Callable[[StatusSink, SegmentSink], MediaEngine]


def build_engine(settings: StreamingSettings, on_status: StatusSink,
                 on_segment: SegmentSink) -> MediaEngine:
    if settings.engine == "mediamtx":
        from streaming_service.infrastructure.mediamtx import (
            MediaMtxClient,
            MediaMtxEngine,
            segment_hook_command,
        )

        password = settings.mediamtx_api_password
        client = MediaMtxClient(
            settings.mediamtx_api_url, timeout_seconds=settings.mediamtx_api_timeout_seconds,
            username=settings.mediamtx_api_user,
            password=password.get_secret_value() if password else None,
        )
        return MediaMtxEngine(
            client, record_root=settings.mediamtx_record_root, on_status=on_status,
            on_segment=on_segment,
            segment_hook_command=segment_hook_command(settings.mediamtx_segment_hook_url),
            address_policy=settings.camera_network_policy(),
        )
    from streaming_service.infrastructure.ffmpeg_engine import FFmpegEngine, FFmpegEngineOptions

    return FFmpegEngine(
        media_root=settings.media_root, on_status=on_status, on_segment=on_segment,
        options=FFmpegEngineOptions(ffmpeg=settings.ffmpeg_binary),
        address_policy=settings.camera_network_policy(),
    )


def build_object_store(settings: StreamingSettings) -> ObjectStore:
    from streaming_service.infrastructure import object_store

    if settings.object_store == "s3":
        s3: ObjectStore = object_store.S3ObjectStore(
            endpoint=settings.s3_endpoint,
            access_key=settings.s3_access_key.get_secret_value(),
            secret_key=settings.s3_secret_key.get_secret_value(),
            secure=settings.s3_secure, region=settings.s3_region,
            bucket_prefix=settings.s3_bucket_prefix,
        )
        return s3
    fs: ObjectStore = object_store.FilesystemObjectStore(
        settings.object_store_root,
        secret=settings.media_token_secret.get_secret_value(),
        base_url=f"{settings.public_base_url.rstrip('/')}{API_PREFIX}/media",
    )
    return fs


async def ffmpeg_concat(
    segments: Sequence[Path], output: Path, *, start_offset: float, duration: float
) -> None:
    from streaming_service.infrastructure.ffmpeg_tools import concat_segments

    await concat_segments(list(segments), output, start_offset=start_offset,
                          duration=duration or None)


def ffmpeg_grabber(policy: CameraNetworkPolicy) -> FrameGrabber:
    """Snapshots with ffmpeg; a camera source is checked against ``policy`` first."""

    async def grab(source: str, output: Path) -> GrabbedFrame:
        from streaming_service.infrastructure.ffmpeg_tools import grab_frame

        return await grab_frame(source, output, address_policy=policy)

    return grab


def ffmpeg_thumbnailer(policy: CameraNetworkPolicy) -> ThumbnailGrabber:
    """Thumbnails with ffmpeg; a camera source is checked against ``policy`` first."""

    async def thumbnail(source: str, *, width: int) -> bytes:
        from streaming_service.infrastructure.ffmpeg_tools import snapshot

        return await snapshot(source, width=width, address_policy=policy)

    return thumbnail


def live_source_resolver(settings: StreamingSettings, cipher: CredentialCipher) -> SourceResolver:
    """A camera's frames come from the FFmpeg engine's live playlist when this host has
    it (no second connection to the camera), else from the camera itself."""

    def source_for(camera: Camera) -> str:
        playlist = settings.media_root / "live" / str(camera.id) / "index.m3u8"
        if playlist.is_file():
            return str(playlist)
        return cipher.decrypt(camera.rtsp_url_encrypted)

    return source_for


def create_app(
    settings: StreamingSettings | None = None,
    *,
    engine: MediaEngine | EngineFactory | None = None,
    object_store: ObjectStore | None = None,
    publisher: EventPublisher | None = None,
    outbox: Outbox | None = None,
    redis_client: Any | None = None,
    concat: SegmentConcatenator | None = None,
    grab: FrameGrabber | None = None,
) -> FastAPI:
    settings = settings or StreamingSettings()
    metrics = StreamingMetrics()
    db = create_engine(settings)
    sessions = create_sessionmaker(db)
    redis = redis_client or aioredis.from_url(
        settings.redis_url, socket_timeout=5, socket_connect_timeout=5)
    publisher = publisher or AmqpEventPublisher(settings.amqp_url)
    outbox = outbox or SqlOutbox()
    store = object_store or build_object_store(settings)
    cipher = CredentialCipher(settings.camera_credentials_key.get_secret_value())
    address_policy = settings.camera_network_policy()
    signer = MediaTokenSigner(settings.media_token_secret.get_secret_value(),
                              settings.media_token_ttl_seconds)
    cache = RedisStreamStatusCache(redis, settings.redis_prefix)
    audit = AuditTrail(sessions=sessions, outbox=outbox,
                       window=RedisViewWindow(redis, settings.redis_prefix),
                       view_window_seconds=settings.audit_view_window_seconds)
    recordings_uc = Recordings(
        db=db, sessions=sessions, store=store, outbox=outbox, metrics=metrics,
        max_range=timedelta(days=settings.recordings_max_range_days),
        playback_ttl_seconds=settings.playback_url_ttl_seconds,
    )

    # The engine reports to the use cases, which need the engine: bind late.
    late: dict[str, StreamControl] = {}

    async def on_status(status: StreamStatus) -> None:
        await late["streams"].on_status(status)

    async def on_segment(segment: CompletedSegment) -> None:
        await recordings_uc.record_segment(segment)

    if engine is None:
        media_engine = build_engine(settings, on_status, on_segment)
    elif callable(engine) and not hasattr(engine, "start"):
        media_engine = engine(on_status, on_segment)
    else:
        media_engine = engine  # type: ignore[assignment]

    # The FFmpeg engine's HLS is served by this service under /api/streaming/live/.
    hls_base = webrtc_base = f"{settings.public_base_url.rstrip('/')}{API_PREFIX}"
    if settings.engine == "mediamtx":
        hls_base = settings.mediamtx_hls_public_url
        webrtc_base = settings.mediamtx_webrtc_public_url
    stream_control = StreamControl(
        sessions=sessions, engine=media_engine, cache=cache, outbox=outbox,
        cipher=cipher, signer=signer, metrics=metrics, audit=audit, hls_base_url=hls_base,
        webrtc_base_url=webrtc_base, segment_seconds=settings.segment_seconds,
    )
    late["streams"] = stream_control
    work_dir = settings.media_root / "work"
    services = Services(
        settings=settings, db=db, sessions=sessions, redis=redis, publisher=publisher,
        outbox=outbox, store=store, engine=media_engine,
        verifier=JWTVerifier(settings.public_key_pem(), issuer=settings.jwt_issuer,
                             audience=settings.jwt_audience),
        denylist=AsyncRedisDenylist(redis), signer=signer, metrics=metrics,
        streams=stream_control, recordings=recordings_uc,
        exports=Exports(
            sessions=sessions, store=store, outbox=outbox, metrics=metrics,
            concat=concat or ffmpeg_concat, work_dir=work_dir,
            max_range=timedelta(hours=settings.exports_max_range_hours),
            url_ttl_seconds=settings.playback_url_ttl_seconds, audit=audit,
            max_active_per_tenant=settings.exports_max_active_per_tenant,
        ),
        snapshots=Snapshots(sessions=sessions, store=store, cipher=cipher,
                            grab=grab or ffmpeg_grabber(address_policy), work_dir=work_dir,
                            audit=audit,
                            url_ttl_seconds=settings.playback_url_ttl_seconds),
        thumbnails=Thumbnails(
            sessions=sessions, store=store, cache=cache,
            grab=ffmpeg_thumbnailer(address_policy),
            source_for=live_source_resolver(settings, cipher), width=settings.thumbnail_width,
            history=timedelta(hours=settings.thumbnail_history_hours),
            url_ttl_seconds=settings.playback_url_ttl_seconds, audit=audit,
        ),
        audit=audit,
    )
    # The AI context (watchlists, detections, alerts, LPR, WS /ws/alerts).
    ai = build_ai_services(services, settings)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        background: list[RunningConsumer] = []
        await _startup_step("object store buckets", store.ensure_buckets())
        await _startup_step("recording partitions", ensure_partitions_ahead(db))
        await _startup_step("interrupted exports", services.exports.fail_interrupted())
        if settings.run_projection_consumer:
            projection = CameraProjection(sessions, on_decommissioned=_stop_if_running)
            consumer = await _startup_step(
                "projection consumer", start_projection_consumer(settings.amqp_url, projection))
            if consumer is not None:
                background.append(consumer)
        elif settings.stream_control_listener:
            listener = await _startup_step(
                "stream control listener",
                start_stream_control_listener(settings.amqp_url, _stop_if_running))
            if listener is not None:
                background.append(listener)
        relay_stop = asyncio.Event()
        relay_task: asyncio.Task[None] | None = None
        if settings.outbox_relay_in_process:
            from streaming_service.workers.outbox_relay import build_relays, run_relays

            relays = build_relays(settings, sessions, ai.live, metrics)
            app.state.outbox_relays = relays
            relay_task = asyncio.create_task(run_relays(relays, relay_stop),
                                             name="outbox-relay")
        keeper_stop = asyncio.Event()
        keeper_task: asyncio.Task[None] | None = None
        if settings.recording_keeper:
            interval = settings.recording_keeper_interval_seconds
            keeper = RecordingKeeper(
                sessions=sessions, streams=stream_control, cache=cache,
                lease=RedisLease(redis, f"{settings.redis_prefix}recording-keeper:lease",
                                 ttl_seconds=max(3 * interval, 1.0)),
                interval_seconds=interval,
            )
            app.state.recording_keeper = keeper
            keeper_task = asyncio.create_task(keeper.run(keeper_stop), name="recording-keeper")
        try:
            yield
        finally:
            if keeper_task is not None:
                keeper_stop.set()
                try:
                    await asyncio.wait_for(keeper_task, timeout=15)
                except Exception as exc:
                    log.warning("recording keeper did not stop cleanly",
                                extra={"error_type": type(exc).__name__})
            if relay_task is not None:
                relay_stop.set()
                try:
                    await asyncio.wait_for(relay_task, timeout=15)
                except Exception as exc:
                    log.warning("outbox relay did not stop cleanly",
                                extra={"error": repr(exc)[:300]})
            for running in background:
                with contextlib.suppress(Exception):
                    await running.close()
            await services.exports.close()
            await _shutdown_step("media engine", media_engine.close())
            close = getattr(publisher, "close", None)
            if close is not None:
                await _shutdown_step("publisher", close())
            if redis_client is None:
                await _shutdown_step("redis", redis.aclose())
            await db.dispose()

    async def _stop_if_running(camera_id: Any, tenant_id: Any) -> None:
        if await media_engine.status(camera_id) is not None:
            await stream_control.stop_known(camera_id, tenant_id, reason="decommissioned")

    app = FastAPI(
        title="GT-Vision streaming service",
        version="1.0.0",
        description="Live streams, recordings, exports and snapshots of GT-Vision cameras.",
        openapi_url=f"{API_PREFIX}/openapi.json",
        docs_url=None,
        redoc_url=None,
        lifespan=lifespan,
    )
    _install_offline_docs(app)
    app.state.services = services
    install_error_handlers(app)
    # Added before the correlation/metrics middleware, so they run inside it: their
    # refusals carry the correlation id and are counted.
    app.add_middleware(QueryTextGuard)
    app.add_middleware(
        BodySizeLimit, default_limit=settings.api_max_body_bytes,
        limits={RECOGNIZE_PATH: upload_body_limit(ai.settings.lpr_upload_max_bytes)},
    )
    _install_middleware(app, metrics)
    # uvicorn logs WebSocket handshakes with their ?token= (even without an access log).
    redact_server_logs()
    # Outermost: everything inside sees the client as our proxies saw it.
    app.add_middleware(ForwardedHeadersMiddleware,
                       proxies=TrustedProxies.from_strings(settings.trusted_proxies))
    for module in (streams, recordings, exports, snapshots, live, media, health):
        app.include_router(module.router)
    app.include_router(mediamtx_hooks.router)
    install_ai(app, ai)
    return app


def _install_middleware(app: FastAPI, metrics: StreamingMetrics) -> None:
    @app.middleware("http")
    async def correlation_and_red(request: Request,
                                  call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        correlation_id = accept_or_new(request.headers.get(CORRELATION_HEADER))
        token = set_correlation_id(correlation_id)
        started = time.perf_counter()
        status = 500
        try:
            response = await call_next(request)
            status = response.status_code
            response.headers[CORRELATION_HEADER] = correlation_id
            return response
        finally:
            route = request.scope.get("route")
            template = getattr(route, "path", "unmatched")
            metrics.requests.labels(SERVICE_NAME, request.method, template, str(status)).inc()
            metrics.latency.labels(SERVICE_NAME, request.method, template).observe(
                time.perf_counter() - started)
            if status >= 500:
                metrics.errors.labels(SERVICE_NAME, request.method, template).inc()
            reset_correlation_id(token)


def _install_offline_docs(app: FastAPI) -> None:
    """Swagger UI served from our own files: city networks and this project's machines
    often have no internet, and FastAPI's default page loads its assets from a CDN. The
    assets come from the pinned drf-spectacular-sidecar package (static files only)."""
    assets = Path(drf_spectacular_sidecar.__file__).parent / "static" / \
        "drf_spectacular_sidecar" / "swagger-ui-dist"
    app.mount(f"{API_PREFIX}/docs-assets", StaticFiles(directory=assets), name="docs-assets")

    @app.get(f"{API_PREFIX}/docs", include_in_schema=False)
    async def swagger_ui() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=f"{API_PREFIX}/openapi.json",
            title="GT-Vision streaming service",
            swagger_js_url=f"{API_PREFIX}/docs-assets/swagger-ui-bundle.js",
            swagger_css_url=f"{API_PREFIX}/docs-assets/swagger-ui.css",
            swagger_favicon_url=f"{API_PREFIX}/docs-assets/favicon-32x32.png",
        )


async def _startup_step(what: str, step: Awaitable[Any]) -> Any:
    """A dependency that is down at startup must not keep the API from starting: /ready
    reports it, and the step is retried where it matters (partitions on write)."""
    try:
        return await step
    except Exception as exc:
        log.warning("startup step failed", extra={"step": what, "error": repr(exc)[:300]})
        return None


async def _shutdown_step(what: str, step: Awaitable[Any]) -> None:
    try:
        await step
    except Exception as exc:
        log.warning("shutdown step failed", extra={"step": what, "error": repr(exc)[:300]})


def main() -> None:
    import uvicorn

    settings = StreamingSettings()
    configure_logging("streaming_service", settings.log_level)
    # No uvicorn access log (it keeps ?token= query strings; the app logs and counts
    # requests itself) and no uvicorn proxy-header handling (ForwardedHeadersMiddleware
    # applies GTV_TRUSTED_PROXIES instead).
    uvicorn.run(create_app(settings), host="0.0.0.0", port=8001, log_config=None,
                access_log=False, proxy_headers=False)


if __name__ == "__main__":
    main()
