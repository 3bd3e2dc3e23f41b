"""A camera URL may point only at networks cameras may use (shared_kernel.camera_network):
loopback, link-local (the cloud metadata service), names that resolve to them and the
platform's own networks answer 400 with a stable code naming ``rtsp_url`` — through the
API and the Django admin alike — unless the operator allowed them explicitly."""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from typing import Any

import pytest
from audit.models import AuditEntry
from cameras.models import Camera
from django.apps import apps
from django.test import Client
from outbox.models import OutboxEvent
from rest_framework.test import APIClient

from shared_kernel.camera_network import CameraNetworkPolicy
from tests.factories import CameraFactory
from tests.integration.admin.conftest import TEST_CAMERA_NETWORKS

pytestmark = pytest.mark.django_db

CAMERAS = "/api/cidades/cameras/"
SECRET = "Ssrf-Probe-Pw-7"

REFUSED = [
    "rtsp://127.0.0.1:6379/x",
    f"rtsp://admin:{SECRET}@169.254.169.254/latest/meta-data",
    "rtsp://localhost:5432/db",  # a name that resolves to loopback
    "rtsp://[::1]:8554/cam",
    "rtsp://[::ffff:127.0.0.1]:8554/cam",
    "rtsp://2130706433/cam",  # 127.0.0.1 written as one number
    "rtsp://0.0.0.0:9997/v3/config",
    "rtsp://192.168.1.10/cam",  # private, and not in the allowed camera networks
]


@pytest.fixture
def admin_client(tenant_a: Any, client_for: Any) -> APIClient:
    return client_for(tenant_a.tenant_admin)


@pytest.fixture
def nothing_written() -> Iterator[None]:
    counts = (Camera.all_objects.count(), AuditEntry.objects.count(),
              OutboxEvent.objects.count())
    yield
    assert (Camera.all_objects.count(), AuditEntry.objects.count(),
            OutboxEvent.objects.count()) == counts


def _assert_refused(response: Any, code: str = "address_not_allowed") -> None:
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["code"] == code
    assert list(error["details"]) == ["rtsp_url"]
    text = response.content.decode()
    assert SECRET not in text and "127.0.0.1" not in text


@pytest.mark.parametrize("url", REFUSED)
def test_api_refuses_a_camera_url_outside_the_camera_networks(
    admin_client: APIClient, nothing_written: None, url: str
) -> None:
    _assert_refused(admin_client.post(CAMERAS, {"name": "Probe", "rtsp_url": url},
                                      format="json"))


def test_api_refuses_a_host_name_that_does_not_resolve(
    admin_client: APIClient, nothing_written: None
) -> None:
    _assert_refused(admin_client.post(
        CAMERAS, {"name": "Probe", "rtsp_url": "rtsp://no-such-camera.invalid/x"},
        format="json"), code="address_unresolvable")


def test_api_refuses_moving_a_camera_to_a_refused_address(
    admin_client: APIClient, tenant_a: Any
) -> None:
    camera = CameraFactory(tenant=tenant_a.tenant)
    before = camera.rtsp_url()
    _assert_refused(admin_client.patch(f"{CAMERAS}{camera.pk}/",
                                       {"rtsp_url": "rtsp://169.254.169.254/x"}, format="json"))
    camera.refresh_from_db()
    assert camera.rtsp_url() == before and camera.revision == 1


def test_platform_networks_are_refused_even_inside_an_allowed_network(
    admin_client: APIClient, settings: Any, nothing_written: None
) -> None:
    settings.CAMERA_NETWORK_POLICY = CameraNetworkPolicy.from_strings(
        allowed=["10.0.0.0/8"], denied=["10.99.0.0/16"])
    _assert_refused(admin_client.post(CAMERAS, {"name": "Probe",
                                                "rtsp_url": "rtsp://10.99.0.7:5672/"},
                                      format="json"))


def test_loopback_is_accepted_once_explicitly_allowed(
    admin_client: APIClient, settings: Any
) -> None:
    settings.CAMERA_NETWORK_POLICY = CameraNetworkPolicy.from_strings(
        allowed=[*TEST_CAMERA_NETWORKS, "127.0.0.0/8", "::1/128"])
    response = admin_client.post(CAMERAS, {"name": "Simulator",
                                           "rtsp_url": "rtsp://u:p@127.0.0.1:8554/cam1"},
                                 format="json")
    assert response.status_code == 201, response.content
    response = admin_client.post(CAMERAS, {"name": "By name",
                                           "rtsp_url": "rtsp://localhost:8554/cam1"},
                                 format="json")
    assert response.status_code == 201, response.content


def test_a_camera_in_an_allowed_network_is_accepted(admin_client: APIClient) -> None:
    response = admin_client.post(CAMERAS, {"name": "Praça",
                                           "rtsp_url": "rtsp://u:p@10.20.30.40/live"},
                                 format="json")
    assert response.status_code == 201, response.content


# --- Django admin ---------------------------------------------------------------------


@pytest.fixture
def admin_site(superadmin: Any) -> Client:
    client = Client()
    client.force_login(superadmin)
    return client


def _add_in_admin(admin_site: Client, tenant: Any, url: str) -> Any:
    return admin_site.post("/admin/cameras/camera/add/", {
        "tenant": str(tenant.pk), "name": "From admin", "new_rtsp_url": url,
        "recording_mode": "off", "retention_days": "30", "status": "active",
        "metadata": "{}",
    })


@pytest.mark.parametrize("url", [f"rtsp://u:{SECRET}@169.254.169.254/x",
                                 "rtsp://localhost:6379/", "rtsp://127.0.0.1/x"])
def test_django_admin_refuses_a_camera_url_outside_the_camera_networks(
    admin_site: Client, tenant_a: Any, url: str
) -> None:
    response = _add_in_admin(admin_site, tenant_a.tenant, url)
    assert response.status_code == 200  # the form again, with the error
    page = response.content.decode()
    assert "not in a network cameras may use" in page
    assert SECRET not in page
    assert not Camera.all_objects.exists()


def test_django_admin_accepts_loopback_once_explicitly_allowed(
    admin_site: Client, tenant_a: Any, settings: Any
) -> None:
    settings.CAMERA_NETWORK_POLICY = CameraNetworkPolicy.from_strings(allowed=["127.0.0.0/8"])
    response = _add_in_admin(admin_site, tenant_a.tenant, "rtsp://127.0.0.1:8554/cam1")
    assert response.status_code == 302, response.content.decode()[:2000]
    assert Camera.objects.get(name="From admin").rtsp_url() == "rtsp://127.0.0.1:8554/cam1"


# --- stored masked copies ---------------------------------------------------------------


def test_migration_remasks_stored_urls_with_credentials_in_parameters(tenant_a: Any) -> None:
    camera = CameraFactory(tenant=tenant_a.tenant)
    # What the old mask left in clear.
    Camera.all_objects.filter(pk=camera.pk).update(
        rtsp_url_masked=f"rtsp://10.0.0.5/user=admin&password={SECRET}&channel=1")
    migration = importlib.import_module("cameras.migrations.0002_remask_camera_urls")
    migration.remask(apps, None)
    camera.refresh_from_db()
    assert camera.rtsp_url_masked == "rtsp://10.0.0.5/user=***&password=***&channel=1"
