"""Request middleware: the correlation id that follows a request, probes answered by
address, and the checks every request passes before a view runs — its method, its body
size, the characters of its query string — plus the error shape of responses Django
itself produces."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib.auth.middleware import AuthenticationMiddleware
from django.contrib.messages.middleware import MessageMiddleware
from django.contrib.sessions.middleware import SessionMiddleware
from django.http import HttpRequest, HttpResponse
from django.middleware.csrf import CsrfViewMiddleware
from django.urls import Resolver404, resolve

from shared_kernel.correlation import (
    CORRELATION_HEADER,
    accept_or_new,
    reset_correlation_id,
    set_correlation_id,
)
from shared_kernel.text import forbidden_character, message_for

# Methods some view of this service may answer; anything else (TRACE, CONNECT,
# PROPFIND...) is refused before routing, on every path.
KNOWN_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "POST", "PUT", "PATCH", "DELETE"})
# Function views (the Django admin's pages) declare no methods: they serve forms.
FUNCTION_VIEW_METHODS = ("GET", "HEAD", "POST")


class CorrelationIdMiddleware:
    """Accept a sane incoming X-Correlation-ID (or mint one), expose it, echo it back."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        correlation_id = accept_or_new(request.headers.get(CORRELATION_HEADER))
        request.correlation_id = correlation_id  # type: ignore[attr-defined]
        token = set_correlation_id(correlation_id)
        try:
            response = self.get_response(request)
        finally:
            reset_correlation_id(token)
        response[CORRELATION_HEADER] = correlation_id
        return response


class ProbeMiddleware:
    """Answer ``GET /health``, ``/ready`` and ``/metrics`` before host validation.

    ``ALLOWED_HOSTS`` names only the public hostnames, but the probes reach each replica
    by address: Docker's health check (127.0.0.1), HAProxy's checks (no Host at all) and
    Prometheus, which discovers replicas through DNS and sends their IP as Host. Those
    endpoints build no URL from the Host header, and the gateways never publish /ready or
    /metrics (HAProxy and Kong answer 404), so skipping the check for them is safe; every
    other path still gets Django's DisallowedHost (400).
    """

    PATHS = frozenset({"/health", "/ready", "/metrics"})

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path_info in self.PATHS and request.method in ("GET", "HEAD"):
            match = resolve(request.path_info)
            request.resolver_match = match  # the request metrics label it by route
            response: HttpResponse = match.func(request, *match.args, **match.kwargs)
            return response
        return self.get_response(request)


def wants_json(request: HttpRequest) -> bool:
    """The API and the probes answer JSON; the Django admin and static files do not."""
    return request.path.startswith("/api/") or request.path in ("/health", "/ready", "/metrics")


class ErrorShapeMiddleware:
    """An error Django answers on its own — 405 from a view's method check, 403 from
    CSRF, 400 from a disallowed host — has an HTML or empty body. On JSON paths (and for
    any 405) it gets the API's error shape; status and headers (Allow...) are kept."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if response.status_code < 400 or response.streaming or response.get(
            "Content-Type", ""
        ).startswith("application/json"):
            return response
        if not (wants_json(request) or response.status_code == 405):
            return response
        from config.exceptions import error_body, reason_code

        body = error_body(reason_code(response.status_code), response.reason_phrase)
        response.content = json.dumps(body).encode()
        response["Content-Type"] = "application/json"
        if response.has_header("Content-Length"):
            response["Content-Length"] = str(len(response.content))
        return response


class MethodGuardMiddleware:
    """405 in the error shape, with ``Allow``, for a method no view here answers, before
    any view runs: a view without method checks must never treat TRACE like GET."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.method in KNOWN_METHODS:
            return self.get_response(request)
        try:
            match = resolve(request.path_info)
        except Resolver404:
            return self.get_response(request)  # an unknown path stays a 404
        from config.exceptions import error_response

        response = error_response(405, f'Method "{request.method}" not allowed.')
        response["Allow"] = ", ".join(allowed_methods(match.func))
        return response


def allowed_methods(view: Any) -> list[str]:
    """The methods a resolved view answers, as its own 405 would list them."""
    cls = getattr(view, "cls", None) or getattr(view, "view_class", None)
    if cls is None:
        return list(FUNCTION_VIEW_METHODS)
    actions: dict[str, str] | None = getattr(view, "actions", None)
    if actions is not None:  # a DRF viewset route: its methods are its actions
        names = [m for m in cls.http_method_names if m in actions or m == "options"]
    else:
        names = [m for m in cls.http_method_names if hasattr(cls, m)]
    if "get" in names and "head" not in names:
        names.append("head")  # Django and DRF answer HEAD with the GET handler
    return [m.upper() for m in names]


class BodySizeLimitMiddleware:
    """Refuse oversized API request bodies up front (413 in the API's error shape), and
    chunked ones (411): Django reads only ``Content-Length`` bytes of a body, so a
    chunked body would be read as empty and its request misjudged."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path.startswith("/api/"):
            from config.exceptions import error_response

            if "chunked" in request.META.get("HTTP_TRANSFER_ENCODING", "").lower():
                return error_response(
                    411, "Send the body with a Content-Length (chunked bodies are refused).",
                    code="length_required",
                )
            try:
                length = int(request.META.get("CONTENT_LENGTH") or 0)
            except ValueError:
                length = 0
            limit: int = settings.API_MAX_BODY_BYTES
            if length > limit:
                return error_response(
                    413, "Request body is too large.", {"max_bytes": limit, "bytes": length}
                )
        return self.get_response(request)


class QueryTextGuardMiddleware:
    """A query parameter (name or value) of an API request holding control characters
    or line breaks (``shared_kernel.text``) is a 400 naming it: ``?search=%00`` must not
    reach PostgreSQL, which refuses NUL."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path.startswith("/api/"):
            errors: dict[str, list[str]] = {}
            for name, values in request.GET.lists():
                if forbidden_character(name, one_line=True) is not None:
                    errors[repr(name)] = [message_for(one_line=True)]
                elif any(forbidden_character(v, one_line=True) is not None for v in values):
                    errors[name] = [message_for(one_line=True)]
            if errors:
                from config.exceptions import error_response

                return error_response(400, "Invalid input.", errors, code="validation_error")
        return self.get_response(request)


# --- the browser's middleware, skipped on the bearer-token API ---------------------------

API_PATH_PREFIX = "/api/"


def is_api(request: HttpRequest) -> bool:
    return request.path_info.startswith(API_PATH_PREFIX)


class BrowserOnly:
    """Mixin: the middleware it is mixed into runs for the Django admin (cookies, a
    session, CSRF, messages) and stands aside on ``/api/``, where every view is a DRF view
    that authenticates a bearer token only (no session authentication, exempt from CSRF)
    and never reads a session, a cookie-based user or a message. Each request there would
    otherwise pay for them all."""

    get_response: Callable[[HttpRequest], HttpResponse]

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if is_api(request):
            return self.get_response(request)
        response: HttpResponse = super().__call__(request)  # type: ignore[misc]
        return response


class BrowserSessionMiddleware(BrowserOnly, SessionMiddleware):
    pass


class BrowserCsrfViewMiddleware(BrowserOnly, CsrfViewMiddleware):
    def process_view(self, request: HttpRequest, callback: Any, callback_args: Any,
                     callback_kwargs: Any) -> HttpResponse | None:
        if is_api(request):
            return None
        return super().process_view(request, callback, callback_args, callback_kwargs)


class BrowserAuthenticationMiddleware(BrowserOnly, AuthenticationMiddleware):
    pass


class BrowserMessageMiddleware(BrowserOnly, MessageMiddleware):
    pass
