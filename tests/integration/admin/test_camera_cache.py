"""Camera list reads are cached in Redis per tenant and query, and invalidated on change."""

from __future__ import annotations

from typing import Any

import pytest
from prometheus_client import REGISTRY

from tests.factories import CameraFactory

pytestmark = pytest.mark.django_db(transaction=False)

CAMERAS = "/api/cidades/cameras/"


def _count(result: str) -> float:
    return REGISTRY.get_sample_value(
        "gtv_cache_hits_total" if result == "hit" else "gtv_cache_misses_total",
        {"service": "admin_service", "cache": "camera_list"}) or 0.0


class Counter:
    def __init__(self) -> None:
        self.hits, self.misses = _count("hit"), _count("miss")

    def delta(self) -> tuple[int, int]:
        return int(_count("hit") - self.hits), int(_count("miss") - self.misses)


def _names(response: Any) -> list[str]:
    assert response.status_code == 200
    return [row["name"] for row in response.json()["results"]]


def test_second_read_is_a_hit(tenant_a: Any, client_for: Any) -> None:
    CameraFactory(tenant=tenant_a.tenant, name="One")
    api = client_for(tenant_a.viewer)
    counter = Counter()
    first, second = api.get(CAMERAS), api.get(CAMERAS)
    assert first.json() == second.json()
    assert counter.delta() == (1, 1)
    api.get(CAMERAS, {"ordering": "-name"})  # another query, another key
    assert counter.delta() == (1, 2)


def test_changes_through_the_api_invalidate_the_tenants_lists(
    tenant_a: Any, client_for: Any, django_capture_on_commit_callbacks: Any
) -> None:
    viewer, admin = client_for(tenant_a.viewer), client_for(tenant_a.tenant_admin)
    assert _names(viewer.get(CAMERAS)) == []
    with django_capture_on_commit_callbacks(execute=True):
        created = admin.post(CAMERAS, {"name": "Fresh", "rtsp_url": "rtsp://10.0.0.1/a"},
                             format="json")
    assert _names(viewer.get(CAMERAS)) == ["Fresh"]
    with django_capture_on_commit_callbacks(execute=True):
        admin.patch(f"{CAMERAS}{created.json()['id']}/", {"name": "Renamed"}, format="json")
    assert _names(viewer.get(CAMERAS)) == ["Renamed"]
    with django_capture_on_commit_callbacks(execute=True):
        admin.delete(f"{CAMERAS}{created.json()['id']}/")
    assert _names(viewer.get(CAMERAS)) == []


def test_cache_is_per_tenant_and_superadmin_sees_every_change(
    tenant_a: Any, tenant_b: Any, superadmin: Any, client_for: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    CameraFactory(tenant=tenant_a.tenant, name="A1")
    CameraFactory(tenant=tenant_b.tenant, name="B1")
    a, b, root = (client_for(u) for u in (tenant_a.viewer, tenant_b.viewer, superadmin))
    assert _names(a.get(CAMERAS)) == ["A1"]
    assert _names(b.get(CAMERAS)) == ["B1"]
    assert _names(root.get(CAMERAS)) == ["A1", "B1"]
    counter = Counter()
    with django_capture_on_commit_callbacks(execute=True):
        client_for(tenant_b.tenant_admin).post(
            CAMERAS, {"name": "B2", "rtsp_url": "rtsp://10.0.0.2/b"}, format="json")
    assert _names(a.get(CAMERAS)) == ["A1"]          # untouched tenant: still a hit
    assert _names(b.get(CAMERAS)) == ["B1", "B2"]    # invalidated
    assert _names(root.get(CAMERAS)) == ["A1", "B1", "B2"]
    assert counter.delta() == (1, 2)


def test_a_rolled_back_change_does_not_invalidate(tenant_a: Any, client_for: Any) -> None:
    from cameras import cache

    api = client_for(tenant_a.viewer)
    api.get(CAMERAS)
    before = cache._version(str(tenant_a.tenant.pk))
    response = client_for(tenant_a.tenant_admin).post(
        CAMERAS, {"name": "x", "rtsp_url": "ftp://nope"}, format="json")
    assert response.status_code == 400
    assert cache._version(str(tenant_a.tenant.pk)) == before


def test_cache_outage_degrades_to_database_reads(tenant_a: Any, client_for: Any,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    import redis
    from cameras import cache

    CameraFactory(tenant=tenant_a.tenant, name="Still here")
    unreachable = redis.Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=1)
    monkeypatch.setattr(cache, "_client", lambda: unreachable)
    assert _names(client_for(tenant_a.viewer).get(CAMERAS)) == ["Still here"]
