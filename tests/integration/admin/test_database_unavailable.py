"""A database error that means "not now" (a dropped connection, a server refusing
connections, a statement timeout) answers 503 in the API's error shape: a read with
``Retry-After``, a change without it, since it may have committed before its connection
failed."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import OperationalError
from rest_framework.test import APIClient

from tests.factories import CameraFactory

pytestmark = pytest.mark.django_db

CAMERAS = "/api/cidades/cameras/"


@pytest.fixture
def unreachable_database(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(self: Any) -> Any:
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr("cameras.api.views.CameraViewSet.get_queryset", refuse)


def test_a_read_is_a_503_to_retry(tenant_a: Any, client_for: Any,
                                  unreachable_database: None) -> None:
    camera = CameraFactory(tenant=tenant_a.tenant)

    response = client_for(tenant_a.viewer).get(f"{CAMERAS}{camera.pk}/")

    assert response.status_code == 503
    assert response["Retry-After"] == "1"
    assert response.json()["error"]["code"] == "service_unavailable"


def test_a_change_is_a_503_that_says_its_outcome_is_unknown(
    tenant_a: Any, client_for: Any, unreachable_database: None,
) -> None:
    camera = CameraFactory(tenant=tenant_a.tenant)
    admin: APIClient = client_for(tenant_a.tenant_admin)

    response = admin.patch(f"{CAMERAS}{camera.pk}/", {"name": "Renamed"}, format="json")

    assert response.status_code == 503
    assert "Retry-After" not in response
    assert response.json()["error"]["code"] == "service_unavailable"
    assert "may or may not" in response.json()["error"]["message"]
