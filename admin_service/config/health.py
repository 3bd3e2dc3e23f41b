"""Liveness, readiness (PostgreSQL, Redis, RabbitMQ) and the Prometheus endpoint."""

from __future__ import annotations

import socket
from collections.abc import Callable
from urllib.parse import urlsplit

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views import View
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from config.exceptions import error_response
from config.metrics import registry
from config.redis import get_redis

CHECK_TIMEOUT_SECONDS = 2.0
_AMQP_PROTOCOL_HEADER = b"AMQP\x00\x00\x09\x01"


def check_database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()


def check_redis() -> None:
    if not get_redis().ping():
        raise ConnectionError("redis did not answer PING")


def check_rabbitmq() -> None:
    """Open a TCP connection and expect AMQP 0-9-1's Connection.Start in reply."""
    url = urlsplit(settings.AMQP_URL)
    host, port = url.hostname or "127.0.0.1", url.port or 5672
    with socket.create_connection((host, port), timeout=CHECK_TIMEOUT_SECONDS) as sock:
        sock.settimeout(CHECK_TIMEOUT_SECONDS)
        sock.sendall(_AMQP_PROTOCOL_HEADER)
        frame = sock.recv(7)
    if len(frame) < 7 or frame[0] != 1:  # frame type 1 = method frame
        raise ConnectionError("the broker did not start an AMQP handshake")


CHECKS: dict[str, Callable[[], None]] = {
    "database": check_database,
    "redis": check_redis,
    "rabbitmq": check_rabbitmq,
}


# Class-based views answering GET only: any other method is a 405 whose ``Allow`` lists
# what the view answers (config.middleware gives it the error shape).


class Health(View):
    def get(self, request: HttpRequest) -> HttpResponse:
        return JsonResponse({"status": "ok"})


class Ready(View):
    def get(self, request: HttpRequest) -> HttpResponse:
        results: dict[str, str] = {}
        for name, check in CHECKS.items():
            try:
                check()
                results[name] = "ok"
            except Exception as exc:  # any failure means "not ready", whatever its kind
                results[name] = f"unavailable: {type(exc).__name__}"
        if all(v == "ok" for v in results.values()):
            return JsonResponse({"status": "ready", "checks": results})
        return error_response(
            503, "Some dependencies are unavailable.", {"checks": results}, code="not_ready"
        )


class Metrics(View):
    def get(self, request: HttpRequest) -> HttpResponse:
        return HttpResponse(generate_latest(registry()), content_type=CONTENT_TYPE_LATEST)
