"""Onboarding a camera by ONVIF (issue 12): the tenant admin gives the device address
and credentials, the service reads the device (maker, model, profiles, stream URI) from
the simulator's ONVIF camera over real HTTP and registers the camera with the RTSP URL
the device gave — never typed. The ONVIF credentials are stored encrypted and travel
encrypted in CameraRegistered v2 with the PTZ capability."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from typing import Any

import pytest
from audit.models import AuditEntry
from cameras.models import Camera, cipher
from outbox.models import OutboxEvent

from shared_kernel.camera_network import CameraNetworkPolicy
from shared_kernel.events import CameraRegistered, EventEnvelope
from streaming_service.domain.ptz import OnvifEndpoint
from tests.integration.admin.conftest import TEST_CAMERA_NETWORKS
from tools.camera_sim.onvif.ptz import PtzHead
from tools.camera_sim.onvif.server import OnvifCamera

pytestmark = pytest.mark.django_db

ONBOARD = "/api/cidades/cameras/onboard/"
DEVICE_PASSWORD = "Onvif-Pass-9"


@pytest.fixture(autouse=True)
def _loopback_cameras(settings: Any) -> None:
    settings.CAMERA_NETWORK_POLICY = CameraNetworkPolicy.from_strings(
        allowed=[*TEST_CAMERA_NETWORKS, "127.0.0.0/8"])


@pytest.fixture
def device() -> Iterator[OnvifCamera]:
    with OnvifCamera("dome7", stream_uri=lambda p: f"rtsp://127.0.0.1:8554/dome7/{p}",
                     user="installer", password=DEVICE_PASSWORD, head=PtzHead(),
                     clock_offset=-90.0) as camera:
        yield camera


def _body(device: OnvifCamera, **extra: Any) -> dict[str, Any]:
    return {"name": "Dome Praça", "device_url": device.device_url, "username": "installer",
            "password": DEVICE_PASSWORD, **extra}


def test_a_camera_is_registered_from_its_onvif_device(device: OnvifCamera, tenant_a: Any,
                                                      client_for: Any) -> None:
    response = client_for(tenant_a.tenant_admin).post(ONBOARD, _body(device), format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["ptz"] is True
    assert body["rtsp_url_masked"] == "rtsp://***:***@127.0.0.1:8554/dome7/main"
    assert body["onvif_device"]["manufacturer"] == "GT-Vision Simulator"
    assert body["onvif_device"]["model"] == "GTV-SIM-PTZ"
    assert body["onvif_device"]["profile"]["token"] == "main"
    assert -95 < body["onvif_device"]["clock_drift_seconds"] < -85
    assert DEVICE_PASSWORD not in response.content.decode()

    camera = Camera.objects.get(pk=body["id"])
    assert camera.rtsp_url() == f"rtsp://installer:{DEVICE_PASSWORD}@127.0.0.1:8554/dome7/main"
    secret = json.loads(cipher().decrypt(camera.onvif_encrypted))
    assert secret["url"] == device.device_url
    assert (secret["username"], secret["password"], secret["profile"]) == (
        "installer", DEVICE_PASSWORD, "main")
    assert secret["sub_rtsp_url"].endswith("@127.0.0.1:8554/dome7/sub")

    event = OutboxEvent.objects.filter(event_type="CameraRegistered").latest("created_at")
    assert event.version == 2
    payload = event.envelope["payload"]
    assert payload["ptz"] is True
    assert json.loads(cipher().decrypt(payload["onvif_encrypted"]))["url"] == \
        device.device_url
    assert DEVICE_PASSWORD not in json.dumps(event.envelope)
    # What the streaming service will read from it (its projection and PTZ adapter).
    parsed = EventEnvelope.model_validate(event.envelope).typed_payload()
    assert isinstance(parsed, CameraRegistered) and parsed.ptz is True
    assert parsed.onvif_encrypted is not None
    endpoint = OnvifEndpoint.from_json(cipher().decrypt(parsed.onvif_encrypted))
    assert (endpoint.url, endpoint.username, endpoint.profile) == (
        device.device_url, "installer", "main")
    entry = AuditEntry.objects.get(object_id=str(camera.id), action="create")
    assert entry.after["ptz"] is True and DEVICE_PASSWORD not in json.dumps(entry.after)


def test_a_chosen_profile_is_used_and_an_unknown_one_refused(
        device: OnvifCamera, tenant_a: Any, client_for: Any) -> None:
    admin = client_for(tenant_a.tenant_admin)
    sub = admin.post(ONBOARD, _body(device, profile="sub"), format="json")
    assert sub.status_code == 201, sub.content
    assert sub.json()["rtsp_url_masked"].endswith("/dome7/sub")
    unknown = admin.post(ONBOARD, _body(device, name="Other", profile="nope"), format="json")
    assert unknown.status_code == 400
    assert list(unknown.json()["error"]["details"]) == ["profile"]


def test_wrong_credentials_or_a_silent_device_register_nothing(
        device: OnvifCamera, tenant_a: Any, client_for: Any) -> None:
    admin = client_for(tenant_a.tenant_admin)
    before = (Camera.all_objects.count(), OutboxEvent.objects.count())
    wrong = admin.post(ONBOARD, _body(device, password="wrong-one"), format="json")
    assert wrong.status_code == 400
    assert wrong.json()["error"]["code"] == "onvif_not_authorized"
    assert list(wrong.json()["error"]["details"]) == ["password"]
    body = _body(device)
    device.stop()
    gone = admin.post(ONBOARD, body, format="json")
    assert gone.status_code == 400
    assert gone.json()["error"]["code"] == "onvif_unreachable"
    assert (Camera.all_objects.count(), OutboxEvent.objects.count()) == before


def test_the_device_address_obeys_the_camera_network_policy(
        device: OnvifCamera, tenant_a: Any, client_for: Any, settings: Any) -> None:
    settings.CAMERA_NETWORK_POLICY = CameraNetworkPolicy.from_strings(
        allowed=TEST_CAMERA_NETWORKS)
    response = client_for(tenant_a.tenant_admin).post(ONBOARD, _body(device), format="json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "onvif_error"
    assert list(response.json()["error"]["details"]) == ["device_url"]
    assert device.requests == []


@pytest.mark.parametrize("role", ["viewer", "operator"])
def test_only_tenant_admins_onboard(device: OnvifCamera, tenant_a: Any, client_for: Any,
                                    role: str) -> None:
    response = client_for(tenant_a.by_role(role)).post(ONBOARD, _body(device), format="json")
    assert response.status_code == 403
    assert device.requests == []


def test_onvif_health_is_asked_now_for_operators_of_the_tenant(
        device: OnvifCamera, tenant_a: Any, tenant_b: Any, client_for: Any) -> None:
    created = client_for(tenant_a.tenant_admin).post(ONBOARD, _body(device), format="json")
    health_url = f"/api/cidades/cameras/{created.json()['id']}/onvif-health/"
    operator = client_for(tenant_a.operator)
    health = operator.get(health_url).json()
    assert (health["reachable"], health["authorized"], health["error"]) == (True, True, None)
    assert -95 < health["clock_drift_seconds"] < -85
    assert client_for(tenant_a.viewer).get(health_url).status_code == 403
    assert client_for(tenant_b.tenant_admin).get(health_url).status_code == 404
    device.stop()
    gone = operator.get(health_url).json()
    assert (gone["reachable"], gone["clock_drift_seconds"]) == (False, None)


def test_a_camera_onboarded_by_url_has_no_onvif_health(tenant_a: Any, client_for: Any) -> None:
    from tests.factories import CameraFactory

    camera = CameraFactory(tenant=tenant_a.tenant)
    response = client_for(tenant_a.operator).get(f"/api/cidades/cameras/{camera.id}/onvif-health/")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "not_onvif"


def test_a_device_wanting_http_digest_is_onboarded_and_remembered(
        tenant_a: Any, client_for: Any) -> None:
    with OnvifCamera("hik3", stream_uri="rtsp://127.0.0.1:8554/hik3", user="installer",
                     password=DEVICE_PASSWORD, head=PtzHead(), http_digest=True) as hik:
        admin = client_for(tenant_a.tenant_admin)
        created = admin.post(ONBOARD, _body(hik, name="Hik 3"), format="json")
        assert created.status_code == 201, created.content
        camera = Camera.objects.get(pk=created.json()["id"])
        secret = json.loads(cipher().decrypt(camera.onvif_encrypted))
        assert secret["http_digest"] is True
        assert OnvifEndpoint.from_json(cipher().decrypt(camera.onvif_encrypted)).http_digest
        challenges = hik.http_challenges
        health = client_for(tenant_a.operator).get(
            f"/api/cidades/cameras/{camera.id}/onvif-health/").json()
        assert (health["reachable"], health["authorized"]) == (True, True)
        # The health check knew from the secret: the new session's first request draws
        # the one challenge that gives it a nonce (a client falling back draws two).
        assert hik.http_challenges == challenges + 1


def test_the_on_demand_check_is_stored_and_shown_with_the_camera(
        device: OnvifCamera, tenant_a: Any, client_for: Any) -> None:
    created = client_for(tenant_a.tenant_admin).post(ONBOARD, _body(device), format="json")
    assert created.json()["onvif_health"] is None
    camera_url = f"/api/cidades/cameras/{created.json()['id']}/"
    operator = client_for(tenant_a.operator)
    asked = operator.get(camera_url + "onvif-health/").json()
    shown = client_for(tenant_a.viewer).get(camera_url).json()["onvif_health"]
    assert set(shown) == {"reachable", "authorized", "clock_drift_seconds", "checked_at"}
    assert (shown["reachable"], shown["authorized"]) == (True, True)
    assert shown["clock_drift_seconds"] == asked["clock_drift_seconds"]
    assert shown["checked_at"] == asked["checked_at"]


def test_the_periodic_check_stores_every_onvif_cameras_health(
        device: OnvifCamera, tenant_a: Any, tenant_b: Any, client_for: Any,
        django_capture_on_commit_callbacks: Any) -> None:
    from django.core.management import call_command

    from tests.factories import CameraFactory

    by_url = CameraFactory(tenant=tenant_a.tenant)
    with OnvifCamera("gone", stream_uri="rtsp://127.0.0.1:8554/gone", user="installer",
                     password=DEVICE_PASSWORD) as soon_gone:
        created_b = client_for(tenant_b.tenant_admin).post(
            ONBOARD, _body(soon_gone, name="Bullet B"), format="json")
    assert created_b.status_code == 201, created_b.content
    created_a = client_for(tenant_a.tenant_admin).post(ONBOARD, _body(device), format="json")
    viewer_a = client_for(tenant_a.viewer)
    listed_before = {c["id"]: c for c in viewer_a.get("/api/cidades/cameras/").json()["results"]}
    assert listed_before[created_a.json()["id"]]["onvif_health"] is None

    # (The list cache is invalidated when the check commits.)
    with django_capture_on_commit_callbacks(execute=True):
        call_command("run_onvif_health", "--once", stdout=io.StringIO())

    listed = {c["id"]: c for c in viewer_a.get("/api/cidades/cameras/").json()["results"]}
    health_a = listed[created_a.json()["id"]]["onvif_health"]
    assert (health_a["reachable"], health_a["authorized"]) == (True, True)
    assert -95 < health_a["clock_drift_seconds"] < -85
    assert listed[str(by_url.id)]["onvif_health"] is None
    health_b = client_for(tenant_b.viewer).get(
        f"/api/cidades/cameras/{created_b.json()['id']}/").json()["onvif_health"]
    assert (health_b["reachable"], health_b["authorized"],
            health_b["clock_drift_seconds"]) == (False, None, None)


def test_new_onvif_credentials_are_verified_then_saved(
        device: OnvifCamera, tenant_a: Any, tenant_b: Any, client_for: Any) -> None:
    admin = client_for(tenant_a.tenant_admin)
    created = admin.post(ONBOARD, _body(device), format="json").json()
    credentials_url = f"/api/cidades/cameras/{created['id']}/onvif/"
    # The installer changes the device's password: the same device, a new password.
    port = device.port
    device.stop()
    new_password = "Rotated-Pass-10"
    with OnvifCamera("dome7", stream_uri=lambda p: f"rtsp://127.0.0.1:8554/dome7/{p}",
                     user="installer", password=new_password, head=PtzHead(),
                     port=port) as rotated:
        wrong = admin.patch(credentials_url, {"username": "installer",
                                              "password": "not-it"}, format="json")
        assert wrong.status_code == 400
        assert wrong.json()["error"]["code"] == "onvif_not_authorized"
        camera = Camera.objects.get(pk=created["id"])
        assert camera.revision == created["revision"]
        assert DEVICE_PASSWORD in camera.rtsp_url()

        assert client_for(tenant_a.operator).patch(
            credentials_url, {"username": "installer", "password": new_password},
            format="json").status_code == 403
        assert client_for(tenant_b.tenant_admin).patch(
            credentials_url, {"username": "installer", "password": new_password},
            format="json").status_code == 404

        # The stored credentials never go to another address (whoever answers there
        # would get them): a new device address needs its own.
        elsewhere = admin.patch(credentials_url, {"device_url": "http://10.9.9.9/onvif"},
                                format="json")
        assert elsewhere.status_code == 400
        assert sorted(elsewhere.json()["error"]["details"]) == ["password", "username"]
        # Only the password is new: the username stays as onboarded.
        changed = admin.patch(credentials_url, {"password": new_password}, format="json")
        assert changed.status_code == 200, changed.content
        assert rotated.requests[-1] == "GetSnapshotUri"
    body = changed.json()
    assert body["revision"] == created["revision"] + 1
    assert body["onvif_health"]["authorized"] is True
    assert new_password not in changed.content.decode()
    camera = Camera.objects.get(pk=created["id"])
    assert camera.rtsp_url() == f"rtsp://installer:{new_password}@127.0.0.1:8554/dome7/main"
    secret = json.loads(cipher().decrypt(camera.onvif_encrypted))
    assert (secret["password"], secret["profile"]) == (new_password, "main")
    event = OutboxEvent.objects.filter(event_type="CameraUpdated").latest("created_at")
    assert json.loads(cipher().decrypt(event.envelope["payload"]["onvif_encrypted"]))[
        "password"] == new_password
    assert new_password not in json.dumps(event.envelope)
    entry = AuditEntry.objects.filter(object_id=str(camera.id), action="update").latest(
        "occurred_at")
    assert entry.after["onvif_endpoint_changed"] is True
    assert new_password not in json.dumps(entry.after)


def test_a_camera_registered_by_url_becomes_an_onvif_camera(
        device: OnvifCamera, tenant_a: Any, client_for: Any) -> None:
    from tests.factories import CameraFactory

    camera = CameraFactory(tenant=tenant_a.tenant)
    url = f"/api/cidades/cameras/{camera.id}/onvif/"
    admin = client_for(tenant_a.tenant_admin)
    missing = admin.patch(url, {"username": "installer", "password": DEVICE_PASSWORD},
                          format="json")
    assert missing.status_code == 400
    assert list(missing.json()["error"]["details"]) == ["device_url"]
    nothing = admin.patch(url, {}, format="json")
    assert nothing.status_code == 400
    assert sorted(nothing.json()["error"]["details"]) == ["device_url", "password", "username"]
    converted = admin.patch(url, {"username": "installer", "password": DEVICE_PASSWORD,
                                  "device_url": device.device_url, "profile": "sub"},
                            format="json")
    assert converted.status_code == 200, converted.content
    assert converted.json()["ptz"] is True
    assert converted.json()["rtsp_url_masked"].endswith("/dome7/sub")
    assert client_for(tenant_a.operator).get(url.replace("onvif/", "onvif-health/")
                                             ).json()["reachable"] is True
