"""ASGI middleware of the streaming service that guards requests before any route runs.

* :class:`BodySizeLimit` — request bodies are counted as they arrive. A declared
  ``Content-Length`` above the limit is refused up front, without reading a byte; a
  chunked body (no ``Content-Length``) is cut off as soon as it passes the limit, so no
  body is ever spooled whole before its size is known. Answers 413 in the error shape.
* :class:`QueryTextGuard` — query parameters (names and values) and the path may not
  hold control characters (``shared_kernel.text``): a ``?plate=%00`` must be a 400
  naming the parameter, never a NUL on its way to PostgreSQL.
* :class:`PlainErrorsAsJson` — an error a framework part answers in plain text itself
  (Starlette's file responses refuse a malformed or unsatisfiable ``Range`` so) leaves
  in the API's one error shape, its headers (``Content-Range``) kept.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from starlette.datastructures import Headers, QueryParams
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared_kernel.text import forbidden_character, message_for
from streaming_service.api.errors import BodyTooLarge, error_body, error_response

_PLAIN_ERROR_CODES = {400: "bad_request", 404: "not_found", 405: "method_not_allowed",
                      416: "range_not_satisfiable"}


class BodySizeLimit:
    """At most ``default_limit`` bytes of body per request; ``limits`` gives some exact
    paths (uploads) a limit of their own."""

    def __init__(self, app: ASGIApp, *, default_limit: int,
                 limits: Mapping[str, int] | None = None) -> None:
        self.app = app
        self.default_limit = default_limit
        self.limits = dict(limits or {})

    def limit_for(self, path: str) -> int:
        return self.limits.get(path.rstrip("/") or "/", self.default_limit)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope["path"])
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            await BodyTooLarge(limit).response()(scope, receive, send)
            return

        received = 0

        async def counted_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    # An HTTPException: FastAPI's body parsing lets it through to the
                    # app's handler, which answers 413 in the error shape.
                    raise BodyTooLarge(limit)
            return message

        started = False

        async def tracked_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counted_receive, tracked_send)
        except BodyTooLarge as exc:
            # Raised outside the app's exception handlers (a middleware reading the body).
            if started:
                raise
            await exc.response()(scope, receive, send)


def _content_length(scope: Scope) -> int | None:
    value = Headers(scope=scope).get("content-length")
    if value is None:
        return None
    value = value.strip()
    # The server (h11/httptools) already refuses a malformed Content-Length.
    return int(value) if value.isascii() and value.isdigit() else None


class _HttpMiddleware:
    """Middleware of HTTP requests only (a WebSocket passes through untouched)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        await self.handle(scope, receive, send)

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        raise NotImplementedError


class QueryTextGuard(_HttpMiddleware):
    """400 for a path or query parameter holding control characters or line breaks."""

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        errors = _bad_parameters(scope)
        if errors:
            response = error_response(400, "validation_error", "the request is invalid",
                                      {"errors": errors})
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)


def _bad_parameters(scope: Scope) -> list[dict[str, object]]:
    message = message_for(one_line=True)
    errors: list[dict[str, object]] = []
    if forbidden_character(scope.get("path", ""), one_line=True) is not None:
        errors.append({"loc": ["path"], "msg": message, "type": "value_error"})
    query = scope.get("query_string", b"")
    if query:
        for name, value in QueryParams(query).multi_items():
            if forbidden_character(name, one_line=True) is not None:
                errors.append({"loc": ["query", repr(name)], "msg": message,
                               "type": "value_error"})
            elif forbidden_character(value, one_line=True) is not None:
                errors.append({"loc": ["query", name], "msg": message, "type": "value_error"})
    return errors


class PlainErrorsAsJson(_HttpMiddleware):
    """A 4xx or 5xx answered as ``text/plain`` is rewritten as ``{"error": ...}``."""

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        held: Message | None = None
        text = b""

        async def send_json_errors(message: Message) -> None:
            nonlocal held, text
            if message["type"] == "http.response.start":
                content_type = Headers(raw=message.get("headers", [])).get("content-type", "")
                if message["status"] >= 400 and content_type.startswith("text/plain"):
                    held = message
                    return
            elif held is not None and message["type"] == "http.response.body":
                text += message.get("body", b"")
                if message.get("more_body", False):
                    return
                await _send_as_json(send, held, text.decode("utf-8", "replace"))
                return
            await send(message)

        await self.app(scope, receive, send_json_errors)


async def _send_as_json(send: Send, start: Message, text: str) -> None:
    status = int(start["status"])
    body = json.dumps(error_body(_PLAIN_ERROR_CODES.get(status, "error"),
                                 text.strip() or "the request failed")).encode()
    headers = [(name, value) for name, value in start.get("headers", [])
               if name.lower() not in (b"content-type", b"content-length")]
    headers += [(b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode())]
    await send({**start, "headers": headers})
    await send({"type": "http.response.body", "body": body})
