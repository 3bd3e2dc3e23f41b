"""One error shape for every error: ``{"error": {"code", "message", "details"}}``.

Domain exceptions are translated here, once; request validation errors answer 400 (not
FastAPI's 422) with the offending fields in ``details.errors``.
"""

from __future__ import annotations

import contextlib
import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import iter_route_contexts
from redis import exceptions as redis_exc
from sqlalchemy import exc as sa_exc
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match, Mount
from starlette.staticfiles import StaticFiles
from starlette.types import Scope
from starlette.websockets import WebSocket, WebSocketState

from streaming_service.domain import errors as domain
from streaming_service.domain.stream import StreamFailure

log = logging.getLogger(__name__)

_STATUS_CODES = {
    400: "bad_request",
    401: "not_authenticated",
    403: "permission_denied",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "unprocessable",
    429: "too_many_requests",
    500: "internal_error",
    502: "bad_gateway",
    503: "service_unavailable",
}


def error_body(code: str, message: str, details: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "details": details or {}}}


def error_response(
    status: int, code: str, message: str, details: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    return JSONResponse(error_body(code, message, details), status_code=status, headers=headers)


def status_for(exc: domain.StreamingError) -> int:
    # Order matters: ObjectNotFound is both an ObjectStoreError and a NotFound.
    if isinstance(exc, domain.NotFound):
        return 404
    if isinstance(exc, domain.MediaAccessDenied):
        return 401 if exc.needs_credentials else 403
    if isinstance(exc, (domain.InvalidTimeRange, domain.InvalidPtzCommand)):
        return 400
    if isinstance(exc, (domain.PtzNotAvailable, domain.PtzLocked)):
        return 409
    if isinstance(exc, domain.PtzRateLimited):
        return 429
    if isinstance(exc, domain.PtzDeviceError):
        return 502
    if isinstance(exc, domain.CameraSourceRefused):
        # The camera's stored address is refused by the camera network policy (a
        # configuration the request cannot fix: 422), or does not resolve (502).
        if exc.failure is StreamFailure.ADDRESS_NOT_ALLOWED:
            return 422
        return 502
    if isinstance(exc, (domain.CameraUnavailable, domain.StreamNotRunning)):
        return 409
    if isinstance(exc, domain.TooManyExports):
        return 429
    if isinstance(exc, (domain.MediaEngineUnavailable, domain.AuditUnavailable)):
        return 503
    if isinstance(exc, (domain.MediaEngineError, domain.ObjectStoreError, domain.SnapshotFailed)):
        return 502
    return 500


def allowed_methods(app: FastAPI, scope: Scope) -> list[str]:
    """Every method some route of ``app`` answers at this path. Starlette's 405 names the
    methods of the first route whose path matches, but FastAPI makes one route per
    method: ``/api/ai/watchlists/{id}`` would claim to allow GET only."""
    # Routing a mount rewrote root_path; match from the application's own root again.
    scope = {"type": "http", "method": scope["method"], "path": scope["path"],
             "root_path": scope.get("app_root_path", scope.get("root_path", ""))}
    methods: set[str] = set()
    for route in iter_route_contexts(app.router.routes):
        if route.methods and route.matches(scope)[0] is not Match.NONE:
            methods |= route.methods
        elif (isinstance(route.original_route, Mount)
              and isinstance(route.original_route.app, StaticFiles)
              and route.matches(scope)[0] is not Match.NONE):
            methods |= {"GET", "HEAD"}  # what StaticFiles serves
    return sorted(methods)


class BodyTooLarge(StarletteHTTPException):
    """A request body over its limit (``api.middleware.BodySizeLimit``). An HTTP exception
    so that FastAPI's body parsing passes it on instead of calling it a parse error."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"the request body is larger than {limit} bytes")
        self.limit = limit

    def response(self) -> JSONResponse:
        return error_response(413, "payload_too_large", str(self.detail),
                              {"max_bytes": self.limit})


class ApiError(Exception):
    """Raised by the API layer itself (auth, roles) with an explicit status and code."""

    def __init__(
        self, status: int, code: str, message: str, details: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details or {}
        self.headers = headers


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> JSONResponse:
        return error_response(exc.status, exc.code, exc.message, exc.details, exc.headers)

    @app.exception_handler(domain.StreamingError)
    async def _domain_error(request: Request, exc: domain.StreamingError) -> JSONResponse:
        status = status_for(exc)
        if status >= 500:
            log.warning("request failed on a dependency",
                        extra={"code": exc.code, "path": request.url.path})
        return error_response(status, exc.code, exc.message, exc.details)

    @app.exception_handler(BodyTooLarge)
    async def _body_too_large(request: Request, exc: BodyTooLarge) -> JSONResponse:
        return exc.response()

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = _STATUS_CODES.get(exc.status_code, "error")
        message = exc.detail if isinstance(exc.detail, str) else code.replace("_", " ")
        headers = dict(exc.headers) if exc.headers else {}
        if exc.status_code == 405:
            headers["Allow"] = ", ".join(allowed_methods(app, request.scope))
        return error_response(exc.status_code, code, message, headers=headers or None)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {"loc": [str(p) for p in e.get("loc", ())], "msg": e.get("msg", ""),
             "type": e.get("type", "")}
            for e in exc.errors()
        ]
        return error_response(400, "validation_error", "the request is invalid",
                              {"errors": errors})

    @app.exception_handler(sa_exc.DBAPIError)
    async def _database_error(request: Request, exc: sa_exc.DBAPIError) -> JSONResponse | None:
        # A connection the server dropped (a restart, a failover; the pool has already
        # replaced it and every older one), or a server refusing connections for now.
        if exc.connection_invalidated or _sqlstate(exc) in _UNAVAILABLE_SQLSTATES:
            return await _unavailable(request, exc)
        if isinstance(exc, sa_exc.DataError) or (_sqlstate(exc) or "").startswith("22"):
            # A value the database cannot store or the driver cannot encode, that no
            # validator caught: the request's fault (logged, as validation should have).
            log.warning("data error answered as 400",
                        extra={"path": request.url.path, "error": repr(exc.orig)[:200]})
            return error_response(400, "validation_error",
                                  "a value of the request cannot be stored", {"errors": []})
        return await _unexpected(request, exc)

    @app.exception_handler(sa_exc.TimeoutError)
    async def _pool_exhausted(request: Request,
                              exc: sa_exc.TimeoutError) -> JSONResponse | None:
        return await _unavailable(request, exc)

    async def _unreachable(request: Request, exc: Exception) -> JSONResponse | None:
        # Opening a connection failed: the database refused it, its name did not resolve
        # or the connect timed out (``DatabaseUnreachable``, a ConnectionError); Redis
        # (the token denylist, stream statuses, the live feed) could not be reached.
        return await _unavailable(request, exc, "a service this request needs")

    for unreachable in (ConnectionError, redis_exc.ConnectionError, redis_exc.TimeoutError):
        app.exception_handler(unreachable)(_unreachable)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error", extra={"path": request.url.path})
        return error_response(500, "internal_error", "internal server error")


#: PostgreSQL's "try later" answers: the server starting up or shutting down, too many
#: connections, and the connection exceptions (class 08).
_UNAVAILABLE_SQLSTATES = {"57P01", "57P02", "57P03", "53300", "08000", "08001", "08003",
                          "08004", "08006"}
_SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


def _sqlstate(exc: sa_exc.DBAPIError) -> str | None:
    code = getattr(exc.orig, "sqlstate", None)
    return code if isinstance(code, str) else None


async def _unavailable(connection: Request | WebSocket, exc: Exception,
                       subject: str = "the database") -> JSONResponse | None:
    """503 for a request. A WebSocket whose handshake met the outage (Starlette hands
    these handlers the socket) is closed with 1013, "try again later", which the
    dashboard's live feed retries with backoff; nothing else may be sent on it."""
    if isinstance(connection, WebSocket):
        log.warning("live socket refused on a connection failure",
                    extra={"path": connection.url.path, "error": repr(exc)[:300]})
        with contextlib.suppress(Exception):  # the client may be gone already
            if connection.client_state == WebSocketState.CONNECTING:
                await connection.accept()  # a browser sees an accepted socket's close code
            await connection.close(code=1013, reason=f"{subject} is unavailable")
        return None
    return _database_unavailable(connection, exc, subject)


def _database_unavailable(request: Request, exc: Exception,
                          subject: str = "the database") -> JSONResponse:
    log.warning("request failed on a connection",
                extra={"path": request.url.path, "error": repr(exc)[:300]})
    if request.method in _SAFE_METHODS:
        return error_response(503, "service_unavailable",
                              f"{subject} is unavailable; try again shortly",
                              headers={"Retry-After": "1"})
    # A change whose connection was lost may have committed or not: no invitation to
    # resend it blindly.
    return error_response(503, "service_unavailable",
                          f"the connection to {subject} failed; the change may or may not "
                          "have been saved, check before trying again")
