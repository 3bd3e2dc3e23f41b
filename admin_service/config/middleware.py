"""Request middleware: the correlation id that follows a request everywhere."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

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
