"""Prometheus metrics of the admin service: RED per endpoint, cache hit/miss.

Under gunicorn with ``PROMETHEUS_MULTIPROC_DIR`` set (gunicorn.conf.py), every worker
writes its values to that directory and ``registry()`` collects them all; otherwise the
process's own default registry is exported.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram, multiprocess

# Names and labels follow the metric contract in docs/observability.md, which the Grafana
# dashboards and alert rules are written against (both services export the same names).
SERVICE = "admin_service"
REQUESTS = Counter(
    "http_requests_total",
    "HTTP requests handled, by method, route template and status code.",
    ["service", "method", "route", "status"],
)
LATENCY = Histogram(
    "http_request_duration_seconds",
    "HTTP request latency by method and route template.",
    ["service", "method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
)
CACHE_HITS = Counter("gtv_cache_hits", "Query-cache hits.", ["service", "cache"])
CACHE_MISSES = Counter("gtv_cache_misses", "Query-cache misses.", ["service", "cache"])


def count_cache_lookup(cache: str, hit: bool) -> None:
    (CACHE_HITS if hit else CACHE_MISSES).labels(SERVICE, cache).inc()


def registry() -> CollectorRegistry:
    """What ``/metrics`` exports: all workers' values in multiprocess mode, else ours."""
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR", "").strip()
    if not directory:
        return REGISTRY
    collected = CollectorRegistry()
    multiprocess.MultiProcessCollector(collected, path=directory)
    return collected


_KNOWN_METHODS = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}
_REGEX_GROUP = re.compile(r"\(\?P<(\w+)>[^)]*\)")


def route_of(request: HttpRequest) -> str:
    """The URL pattern (bounded cardinality), never the raw path with ids in it."""
    match = getattr(request, "resolver_match", None)
    if match is None:
        return "unmatched"
    route = _REGEX_GROUP.sub(r"<\1>", match.route or match.view_name or "unknown")
    return "/" + route.replace("^", "").replace("$", "").lstrip("/")


class RequestMetricsMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        response = self.get_response(request)
        method = request.method if request.method in _KNOWN_METHODS else "OTHER"
        route = route_of(request)
        LATENCY.labels(SERVICE, method, route).observe(time.perf_counter() - started)
        REQUESTS.labels(SERVICE, method, route, str(response.status_code)).inc()
        return response
