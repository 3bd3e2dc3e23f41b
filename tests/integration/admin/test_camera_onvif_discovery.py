"""ONVIF WS-Discovery from the admin service (issue 12): the tenant admin probes the
configured targets, here the simulator's real WS-Discovery responder on loopback
answering for real simulated ONVIF cameras, and gets the devices in the list envelope,
marked when this tenant (never another) already onboarded them; the last result is kept
per tenant; every probe is audited; the camera network policy filters what is probed
and what is shown."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from audit.models import AuditEntry

from shared_kernel.camera_network import CameraNetworkPolicy
from shared_kernel.ws_discovery import Target, WsDiscoveryClient
from tests.integration.admin.conftest import TEST_CAMERA_NETWORKS
from tools.camera_sim.onvif.discovery import Advertised, DiscoveryResponder
from tools.camera_sim.onvif.ptz import PtzHead
from tools.camera_sim.onvif.server import OnvifCamera

pytestmark = pytest.mark.django_db

DISCOVER = "/api/cidades/cameras/discover/"
ONBOARD = "/api/cidades/cameras/onboard/"
PASSWORD = "Onvif-Pass-9"
ENVELOPE = {"count", "page", "page_size", "next", "previous", "results"}


@pytest.fixture
def devices() -> Iterator[dict[str, OnvifCamera]]:
    with OnvifCamera("dome1", stream_uri="rtsp://127.0.0.1:8554/dome1", user="installer",
                     password=PASSWORD, head=PtzHead()) as dome, \
            OnvifCamera("bullet2", stream_uri="rtsp://127.0.0.1:8554/bullet2",
                        user="installer", password=PASSWORD) as bullet:
        yield {"dome1": dome, "bullet2": bullet}


@pytest.fixture
def responder(devices: dict[str, OnvifCamera]) -> Iterator[DiscoveryResponder]:
    announced = [Advertised(c.endpoint_uuid, name, c.device_url, c.head is not None)
                 for name, c in devices.items()]
    responder = DiscoveryResponder(lambda: announced).start()
    try:
        yield responder
    finally:
        responder.stop()


@pytest.fixture(autouse=True)
def _discovery_settings(settings: Any, responder: DiscoveryResponder) -> str:
    settings.CAMERA_NETWORK_POLICY = CameraNetworkPolicy.from_strings(
        allowed=[*TEST_CAMERA_NETWORKS, "127.0.0.0/8"])
    target = f"127.0.0.1:{responder.port}"
    settings.ONVIF_DISCOVERY = WsDiscoveryClient([Target.parse(target)], timeout=0.5)
    return target


def _by_name(body: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {device["name"]: device for device in body["results"]}


def test_the_tenant_admin_discovers_the_simulated_cameras(
        devices: dict[str, OnvifCamera], tenant_a: Any, client_for: Any) -> None:
    response = client_for(tenant_a.tenant_admin).post(DISCOVER, {}, format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert set(body) == ENVELOPE
    assert body["count"] == 2
    found = _by_name(body)
    dome = found["dome1"]
    assert dome["endpoint"] == f"urn:uuid:{devices['dome1'].endpoint_uuid}"
    assert dome["device_url"] == devices["dome1"].device_url
    assert dome["xaddrs"] == [devices["dome1"].device_url]
    assert dome["hardware"] == "GTV-SIM"
    assert "onvif://www.onvif.org/type/ptz" in dome["scopes"]
    assert "dn:NetworkVideoTransmitter" in dome["types"]
    assert dome["already_registered_camera_id"] is None
    assert "onvif://www.onvif.org/type/ptz" not in found["bullet2"]["scopes"]

    entry = AuditEntry.objects.get(action="camera.discover")
    assert entry.tenant_id == tenant_a.tenant.id
    assert entry.after["count"] == 2 and entry.actor_id == tenant_a.tenant_admin.id


def test_a_discovered_device_can_be_onboarded_and_then_shows_as_registered(
        devices: dict[str, OnvifCamera], tenant_a: Any, tenant_b: Any,
        client_for: Any) -> None:
    admin_a, admin_b = client_for(tenant_a.tenant_admin), client_for(tenant_b.tenant_admin)
    dome = _by_name(admin_a.post(DISCOVER, {}, format="json").json())["dome1"]
    created = admin_a.post(ONBOARD, {"name": "Dome 1", "device_url": dome["device_url"],
                                     "username": "installer", "password": PASSWORD},
                           format="json")
    assert created.status_code == 201, created.content
    camera_id = created.json()["id"]

    # The stored result is read again with what is registered now.
    stored = _by_name(admin_a.get(DISCOVER).json())
    assert stored["dome1"]["already_registered_camera_id"] == camera_id
    assert stored["bullet2"]["already_registered_camera_id"] is None
    again = _by_name(admin_a.post(DISCOVER, {}, format="json").json())
    assert again["dome1"]["already_registered_camera_id"] == camera_id

    # Another tenant sees the device, never tenant A's camera; nor A's stored result.
    assert admin_b.get(DISCOVER).json()["count"] == 0
    other = _by_name(admin_b.post(DISCOVER, {}, format="json").json())
    assert other["dome1"]["already_registered_camera_id"] is None


def test_the_last_result_is_kept_per_tenant_and_paged(
        tenant_a: Any, client_for: Any) -> None:
    admin = client_for(tenant_a.tenant_admin)
    before = admin.get(DISCOVER).json()
    assert (before["count"], before["results"]) == (0, [])
    admin.post(DISCOVER, {}, format="json")
    first = admin.get(DISCOVER, {"page_size": 1}).json()
    assert set(first) == ENVELOPE
    assert (first["count"], first["page_size"], len(first["results"])) == (2, 1, 1)
    assert first["next"] is not None


def test_only_configured_targets_may_be_probed(
        tenant_a: Any, client_for: Any, _discovery_settings: str) -> None:
    admin = client_for(tenant_a.tenant_admin)
    chosen = admin.post(DISCOVER, {"targets": [_discovery_settings]}, format="json")
    assert chosen.status_code == 200 and chosen.json()["count"] == 2
    refused = admin.post(DISCOVER, {"targets": ["10.9.9.9"]}, format="json")
    assert refused.status_code == 400
    assert list(refused.json()["error"]["details"]) == ["targets"]
    unknown = admin.post(DISCOVER, {"subnet": "10.0.0.0/24"}, format="json")
    assert unknown.status_code == 400


def test_the_camera_network_policy_decides_what_is_probed(
        tenant_a: Any, client_for: Any, settings: Any,
        devices: dict[str, OnvifCamera]) -> None:
    settings.CAMERA_NETWORK_POLICY = CameraNetworkPolicy.from_strings(
        allowed=TEST_CAMERA_NETWORKS)
    response = client_for(tenant_a.tenant_admin).post(DISCOVER, {}, format="json")
    assert response.status_code == 200
    assert response.json()["count"] == 0


def test_devices_announcing_a_refused_address_are_not_shown(
        tenant_a: Any, client_for: Any, settings: Any,
        devices: dict[str, OnvifCamera]) -> None:
    # The responder is on loopback (allowed) but announces a device on the platform's
    # own metadata address: it is left out, as onboarding would refuse it.
    elsewhere = DiscoveryResponder(lambda: [
        Advertised("6f1c2d4e-0000-4000-8000-000000000001", "rogue",
                   "http://169.254.169.254/onvif/device_service", True)]).start()
    try:
        settings.ONVIF_DISCOVERY = WsDiscoveryClient(
            [Target.parse(f"127.0.0.1:{elsewhere.port}")], timeout=0.5)
        response = client_for(tenant_a.tenant_admin).post(DISCOVER, {}, format="json")
    finally:
        elsewhere.stop()
    assert response.status_code == 200
    assert response.json()["count"] == 0


@pytest.mark.parametrize("role", ["viewer", "operator"])
def test_viewers_and_operators_may_not_discover(
        tenant_a: Any, client_for: Any, role: str) -> None:
    client = client_for(tenant_a.by_role(role))
    assert client.post(DISCOVER, {}, format="json").status_code == 403
    assert client.get(DISCOVER).status_code == 403
    assert not AuditEntry.objects.filter(action="camera.discover").exists()


def test_a_superadmin_discovers_across_tenants(
        superadmin: Any, tenant_a: Any, client_for: Any) -> None:
    response = client_for(superadmin).post(DISCOVER, {}, format="json")
    assert response.status_code == 200
    assert response.json()["count"] == 2
    assert client_for(superadmin).get(DISCOVER).json()["count"] == 2
    assert client_for(tenant_a.tenant_admin).get(DISCOVER).json()["count"] == 0
