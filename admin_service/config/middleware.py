"""Request middleware: the correlation id that follows a request, probes answered by
address, body size limits."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.urls import resolve

from shared_kernel.correlation import (
    CORRELATION_HEADER,
    accept_or_new,
    reset_correlation_id,
    set_correlation_id,
)


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


class BodySizeLimitMiddleware:
    """Refuse oversized API request bodies up front (413 in the API's error shape)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path.startswith("/api/"):
            try:
                length = int(request.META.get("CONTENT_LENGTH") or 0)
            except ValueError:
                length = 0
            limit: int = settings.API_MAX_BODY_BYTES
            if length > limit:
                from config.exceptions import error_response

                return error_response(
                    413, "Request body is too large.", {"max_bytes": limit, "bytes": length}
                )
        return self.get_response(request)
