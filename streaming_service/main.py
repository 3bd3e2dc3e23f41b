"""The streaming service's FastAPI app: middleware, routers, lifespan.

Everything the app uses is built by the composition root (``bootstrap.bootstrap``);
``create_app`` only turns that container into an ASGI app, mounting the routers of the
streaming context, the AI context and the configured media engine. Its lifespan runs the
background loops this process hosts (the outbox relay with ``GTV_OUTBOX_RELAY_IN_PROCESS``,
the recording keeper, the event listeners). Run with ``uvicorn --factory
streaming_service.main:create_app --port 8001`` (or ``python -m streaming_service.main``).
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any

import drf_spectacular_sidecar  # pinned by the admin service; plain static assets
from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared_kernel.correlation import (
    CORRELATION_HEADER,
    accept_or_new,
    reset_correlation_id,
    set_correlation_id,
)
from shared_kernel.lifecycle import BackgroundLoop
from shared_kernel.logging import configure_logging, redact_server_logs
from shared_kernel.openapi import document_errors
from shared_kernel.proxies import TrustedProxies
from streaming_service.api import (
    ai,
    camera_probe,
    exports,
    health,
    media,
    ptz,
    recordings,
    reports,
    snapshots,
    streams,
)
from streaming_service.api.ai.lpr import RECOGNIZE_PATH, upload_body_limit
from streaming_service.api.errors import install_error_handlers
from streaming_service.api.forwarded import ForwardedHeadersMiddleware
from streaming_service.api.middleware import BodySizeLimit, PlainErrorsAsJson, QueryTextGuard
from streaming_service.bootstrap import Services, bootstrap
from streaming_service.infrastructure.metrics import StreamingMetrics
from streaming_service.settings import API_PREFIX, StreamingSettings

log = logging.getLogger(__name__)

SERVICE_NAME = "streaming_service"  # the `service` label of the metric contract


def create_app(settings: StreamingSettings | None = None, **overrides: Any) -> FastAPI:
    """The app over a container from ``bootstrap(settings, **overrides)``; tests pass their
    own adapters by name (``engine=``, ``object_store=``, ``redis_client=``...)."""
    services = bootstrap(settings, **overrides)
    settings = services.settings
    app = FastAPI(
        title="GT-Vision streaming service",
        version="1.0.0",
        description="Live streams, recordings, exports and snapshots of GT-Vision cameras; "
                    "licence-plate detections, watchlists and alerts.",
        openapi_url=f"{API_PREFIX}/openapi.json",
        docs_url=None,
        redoc_url=None,
        lifespan=_lifespan(services),
        # The service reports through Prometheus and JSON logs with correlation ids, not
        # OpenTelemetry; FastAPI's native telemetry would still look up OpenTelemetry's
        # global providers on every request.
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    _install_offline_docs(app)
    _document_errors(app)
    app.state.services = services
    install_error_handlers(app)
    # Added before the correlation/metrics middleware, so they run inside it: their
    # refusals carry the correlation id and are counted.
    app.add_middleware(PlainErrorsAsJson)
    app.add_middleware(QueryTextGuard)
    app.add_middleware(
        BodySizeLimit, default_limit=settings.api_max_body_bytes,
        limits={RECOGNIZE_PATH: upload_body_limit(settings.lpr_upload_max_bytes)},
    )
    _install_middleware(app, services.metrics)
    # uvicorn logs WebSocket handshakes with their ?token= (even without an access log).
    redact_server_logs()
    # Outermost: everything inside sees the client as our proxies saw it.
    app.add_middleware(ForwardedHeadersMiddleware,
                       proxies=TrustedProxies.from_strings(settings.trusted_proxies))
    for module in (streams, ptz, recordings, exports, snapshots, camera_probe, reports, media,
                   health):
        app.include_router(module.router)
    for router in (*ai.ROUTERS, *services.engine_plugin.routers()):
        app.include_router(router)
    return app


def _lifespan(services: Services) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    settings = services.settings

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        from streaming_service.application.camera_projection import CameraProjection
        from streaming_service.application.recording_keeper import RecordingKeeper
        from streaming_service.infrastructure.child_processes import (
            keep_descriptors_from_children,
        )
        from streaming_service.infrastructure.consumers import (
            RunningConsumer,
            start_projection_consumer,
            start_stream_control_listener,
        )
        from streaming_service.infrastructure.db.partitions import ensure_partitions_ahead
        from streaming_service.infrastructure.redis_lease import RedisLease

        consumers: list[RunningConsumer] = []
        loops: list[BackgroundLoop] = [
            BackgroundLoop("redis-key-tracking", services.tracked_reads.run).start()]
        keep_descriptors_from_children()
        await _startup_step("object store buckets", services.store.ensure_buckets())
        await _startup_step("recording partitions", ensure_partitions_ahead(services.db))
        await _startup_step("interrupted exports", services.exports.fail_interrupted())
        stop_if_running = services.streams.stop_if_running
        if settings.run_projection_consumer:
            projection = CameraProjection(services.sessions, on_decommissioned=stop_if_running)
            consumer = await _startup_step(
                "projection consumer", start_projection_consumer(settings.amqp_url, projection))
            if consumer is not None:
                consumers.append(consumer)
        if settings.stream_control_listener:
            # Every process hears every decommission and stops what its engine runs (the
            # projection consumer above is a competing consumer: one worker gets each).
            listener = await _startup_step(
                "stream control listener",
                start_stream_control_listener(settings.amqp_url, stop_if_running))
            if listener is not None:
                consumers.append(listener)
        if settings.outbox_relay_in_process:
            from streaming_service.workers.outbox_relay import build_relays, run_relays

            relays = build_relays(settings, services.sessions, services.live, services.metrics)
            app.state.outbox_relays = relays
            loops.append(BackgroundLoop("outbox-relay",
                                        lambda stop: run_relays(relays, stop)).start())
        if settings.event_clips:
            loops.append(BackgroundLoop("event-clips", services.clips.run).start())
        if services.engine_plugin.streams_in_process:
            loops.append(BackgroundLoop(
                "stream-ownership",
                lambda stop: services.streams.keep_ownership(
                    stop, settings.stream_owner_ttl_seconds / 3)).start())
            loops.append(BackgroundLoop("stream-owner-commands",
                                        services.streams.serve_owner_commands).start())
        if settings.recording_keeper:
            interval = settings.recording_keeper_interval_seconds
            keeper = RecordingKeeper(
                cameras=services.cameras, streams=services.streams, cache=services.cache,
                lease=RedisLease(services.redis,
                                 f"{settings.redis_prefix}recording-keeper:lease",
                                 ttl_seconds=max(3 * interval, 1.0)),
                interval_seconds=interval,
            )
            app.state.recording_keeper = keeper
            loops.append(BackgroundLoop("recording-keeper", keeper.run).start())
        try:
            yield
        finally:
            for loop in reversed(loops):
                await loop.stop()
            for running in consumers:
                with contextlib.suppress(Exception):
                    await running.close()
            await services.close()

    return lifespan


def _install_middleware(app: FastAPI, metrics: StreamingMetrics) -> None:
    app.add_middleware(CorrelationAndRed, metrics=metrics)


class CorrelationAndRed:
    """The request's correlation id (accepted or minted, echoed back) and its RED metrics
    by route template. Plain ASGI: Starlette's ``BaseHTTPMiddleware`` costs every request
    a task and a memory stream, more than most of our reads themselves."""

    def __init__(self, app: ASGIApp, *, metrics: StreamingMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        correlation_id = accept_or_new(Headers(scope=scope).get(CORRELATION_HEADER))
        token = set_correlation_id(correlation_id)
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                MutableHeaders(scope=message)[CORRELATION_HEADER] = correlation_id
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            route = scope.get("route")
            template = getattr(route, "path", "unmatched")
            method = scope["method"]
            self.metrics.requests.labels(SERVICE_NAME, method, template, str(status)).inc()
            self.metrics.latency.labels(SERVICE_NAME, method, template).observe(
                time.perf_counter() - started)
            if status >= 500:
                self.metrics.errors.labels(SERVICE_NAME, method, template).inc()
            reset_correlation_id(token)


def _document_errors(app: FastAPI) -> None:
    """The generated document, with every operation's errors in the one error shape
    (``shared_kernel.openapi``)."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = document_errors(generate())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


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
