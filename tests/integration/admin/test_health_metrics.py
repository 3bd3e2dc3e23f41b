"""/health, /ready (PostgreSQL, Redis, RabbitMQ), /metrics, correlation ids, OpenAPI."""

from __future__ import annotations

from typing import Any

import pytest
from config import health
from django.test import Client

pytestmark = pytest.mark.django_db


def test_health_is_alive(client: Client) -> None:
    response = client.get("/health")
    assert response.status_code == 200 and response.json() == {"status": "ok"}


@pytest.mark.parametrize("path", ["/health", "/ready", "/metrics"])
def test_probes_answer_by_address_while_other_paths_need_an_allowed_host(
    client: Client, settings: Any, path: str
) -> None:
    """Production lists only public hostnames in ALLOWED_HOSTS (no "*"); Prometheus and the
    health checks still reach each replica by its IP."""
    settings.ALLOWED_HOSTS = ["vms.example.gov.br"]
    assert client.get(path, HTTP_HOST="172.28.0.140:8000").status_code == 200
    assert client.get(path, HTTP_HOST="vms.example.gov.br").status_code == 200
    refused = client.get("/api/admin/auth/jwks.json", HTTP_HOST="172.28.0.140:8000")
    assert refused.status_code == 400
    assert client.get("/api/admin/auth/jwks.json", HTTP_HOST="vms.example.gov.br").status_code \
        == 200


def test_ready_checks_every_dependency(client: Client) -> None:
    response = client.get("/ready")
    assert response.status_code == 200
    assert response.json()["checks"] == {"database": "ok", "redis": "ok", "rabbitmq": "ok"}


def test_ready_is_503_when_rabbitmq_is_unreachable(client: Client, settings: Any) -> None:
    settings.AMQP_URL = "amqp://guest:guest@127.0.0.1:1/"
    response = client.get("/ready")
    assert response.status_code == 503
    error = response.json()["error"]
    assert error["code"] == "not_ready"
    assert error["details"]["checks"]["rabbitmq"].startswith("unavailable")
    assert error["details"]["checks"]["database"] == "ok"


def test_ready_is_503_when_redis_is_unreachable(client: Client,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    import redis

    dead = redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.5)
    monkeypatch.setattr(health, "get_redis", lambda: dead)
    response = client.get("/ready")
    assert response.status_code == 503
    assert response.json()["error"]["details"]["checks"]["redis"].startswith("unavailable")


def test_metrics_count_requests_by_route_template(tenant_a: Any, client_for: Any,
                                                  client: Client) -> None:
    api = client_for(tenant_a.viewer)
    api.get("/api/cidades/cameras/")
    api.get("/api/cidades/cameras/00000000-0000-0000-0000-000000000000/")
    body = client.get("/metrics").content.decode()
    assert 'http_requests_total{method="GET",route="/api/cidades/cameras/",' \
           'service="admin_service",status="200"}' in body
    assert 'route="/api/cidades/cameras/<pk>/",service="admin_service",status="404"' in body
    assert "00000000-0000-0000-0000-000000000000" not in body  # ids never become labels
    assert "http_request_duration_seconds_bucket" in body
    assert 'gtv_cache_misses_total{cache="camera_list",service="admin_service"}' in body


def test_correlation_id_is_echoed_or_minted(client: Client) -> None:
    assert client.get("/health", HTTP_X_CORRELATION_ID="abc-123")["X-Correlation-ID"] \
        == "abc-123"
    minted = client.get("/health", HTTP_X_CORRELATION_ID="bad id\nwith newline")
    assert minted["X-Correlation-ID"] != "bad id\nwith newline"
    assert len(minted["X-Correlation-ID"]) == 36


def test_openapi_document_describes_the_api(client: Client) -> None:
    response = client.get("/api/admin/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    import json

    paths = json.loads(response.content)["paths"]
    for path in ("/api/admin/auth/token", "/api/admin/auth/refresh", "/api/admin/auth/logout",
                 "/api/admin/me", "/api/admin/users/", "/api/cidades/prefeituras/",
                 "/api/cidades/cameras/", "/api/cidades/cameras/{id}/",
                 "/api/cidades/locations/", "/api/cidades/zones/"):
        assert path in paths, path
    assert client.get("/api/admin/docs/").status_code == 200


def test_the_openapi_document_is_built_once_for_concurrent_first_requests(
    monkeypatch: Any,
) -> None:
    """drf-spectacular's lazy extension loading is not thread-safe (two first requests
    at once on a new worker answered 500): the document is built once, under a lock."""
    import threading

    from config import openapi
    from drf_spectacular.generators import SchemaGenerator

    monkeypatch.setattr(openapi, "_documents", {})
    builds: list[int] = []
    original = SchemaGenerator.get_schema

    def counted(self: Any, *args: Any, **kwargs: Any) -> Any:
        builds.append(1)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(SchemaGenerator, "get_schema", counted)
    barrier = threading.Barrier(4)
    statuses: list[int] = []

    def fetch() -> None:
        barrier.wait()
        statuses.append(Client().get("/api/admin/schema/",
                                     HTTP_ACCEPT="application/json").status_code)

    threads = [threading.Thread(target=fetch) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert statuses == [200] * 4
    assert len(builds) == 1
    for lang in ("xx-unknown", "de", "EN"):  # no document per query value...
        asked = Client().get(f"/api/admin/schema/?lang={lang}", HTTP_ACCEPT="application/json")
        assert asked.status_code == 200 and len(builds) == 1
    portuguese = Client().get("/api/admin/schema/?lang=pt-BR", HTTP_ACCEPT="application/json")
    assert portuguese.status_code == 200 and len(builds) == 2  # ...but one per language
    # Whichever language came first, the default document stays in the default language.
    monkeypatch.setattr(openapi, "_documents", {})
    Client().get("/api/admin/schema/?lang=pt-BR", HTTP_ACCEPT="application/json")
    Client().get("/api/admin/schema/?lang=de", HTTP_ACCEPT="application/json")
    default = Client().get("/api/admin/schema/", HTTP_ACCEPT="application/json").json()
    assert openapi._language("de") == openapi._language(None) == "en"
    assert default == openapi._documents["en"] != openapi._documents["pt-br"]


def test_django_404_on_api_paths_is_json(client: Client) -> None:
    response = client.get("/api/not/a/route")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
