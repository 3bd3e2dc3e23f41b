"""Use cases on cameras, locations and zones.

Every change validates, saves, writes its audit entry and (for cameras) its domain event
in one transaction; the camera-list cache is invalidated once the transaction commits.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from audit.services import record
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from outbox.services import enqueue
from tenancy.models import Tenant

from cameras import cache
from cameras.models import Camera, CameraStatus, Location, Zone, cipher
from cameras.onvif import OnboardedDevice, read_device
from cameras.validators import InvalidMetadata, InvalidRtspUrl, validate_metadata, validate_rtsp_url
from shared_kernel.camera_network import (
    AddressNotAllowed,
    AddressUnresolvable,
    CameraAddressError,
    CameraNetworkPolicy,
)
from shared_kernel.events import (
    CameraDecommissioned,
    CameraRegistered,
    CameraSnapshotV2,
    CameraUpdated,
)

logger = logging.getLogger(__name__)


_ADDRESS_MESSAGES = {
    AddressNotAllowed.code: "RTSP URL host is not in a network cameras may use "
                            "(see GTV_CAMERA_ALLOWED_NETWORKS).",
    AddressUnresolvable.code: "RTSP URL host name does not resolve.",
}


def check_rtsp_url(url: Any) -> str:
    """The one rule for a camera URL, for every way one is saved (API, Django admin,
    management commands): well-formed, and pointing only at addresses the camera network
    policy allows (a host name is resolved and each of its addresses checked).

    Raises ``ValidationError`` on ``rtsp_url`` whose code is stable: ``invalid`` for a
    malformed URL, ``address_not_allowed`` or ``address_unresolvable`` for the policy.
    Messages never quote the URL or the addresses it resolved to.
    """
    try:
        valid = validate_rtsp_url(url)
    except InvalidRtspUrl as exc:
        error = ValidationError(f"RTSP URL {exc}.", code="invalid")
        raise ValidationError({"rtsp_url": [error]}) from None
    policy: CameraNetworkPolicy = settings.CAMERA_NETWORK_POLICY
    try:
        policy.vet_url(valid)
    except CameraAddressError as exc:
        logger.info("camera URL refused by the network policy",
                    extra={"code": exc.code, "rule": getattr(exc, "rule", None),
                           "address": getattr(exc, "address", None)})
        error = ValidationError(_ADDRESS_MESSAGES[exc.code], code=exc.code)
        raise ValidationError({"rtsp_url": [error]}) from None
    return valid


def same_tenant_errors(tenant_id: Any, **related: Location | Zone | None) -> dict[str, list[str]]:
    """The one rule that a camera's or zone's location and zone belong to its own tenant;
    the service functions, the API serializers and the Django admin forms all ask it."""
    return {
        name: [f"{name.capitalize()} belongs to another tenant."]
        for name, obj in related.items()
        if obj is not None and tenant_id is not None and obj.tenant_id != tenant_id
    }


def check_same_tenant(tenant_id: Any, **related: Location | Zone | None) -> None:
    errors = same_tenant_errors(tenant_id, **related)
    if errors:
        raise ValidationError(errors)


def _check_camera(camera: Camera) -> None:
    errors = same_tenant_errors(
        camera.tenant_id, location=camera.location if camera.location_id else None,
        zone=camera.zone if camera.zone_id else None)
    try:
        validate_metadata(camera.metadata)
    except InvalidMetadata as exc:
        errors["metadata"] = [f"Metadata {exc}."]
    if errors:
        raise ValidationError(errors)
    camera.full_clean()


def _snapshot(camera: Camera, event: type[CameraSnapshotV2]) -> CameraSnapshotV2:
    return event(
        camera_id=camera.id,
        tenant_id=camera.tenant_id,
        name=camera.name,
        rtsp_url_encrypted=camera.rtsp_url_encrypted,
        rtsp_url_masked=camera.rtsp_url_masked,
        recording_mode=camera.recording_mode,  # type: ignore[arg-type]
        retention_days=camera.retention_days,
        lpr_enabled=camera.lpr_enabled,
        status=camera.status,
        latitude=camera.latitude,
        longitude=camera.longitude,
        location_id=camera.location_id,
        zone_id=camera.zone_id,
        revision=camera.revision,
        onvif_encrypted=camera.onvif_encrypted or None,
        ptz=camera.ptz,
    )


def export_row(camera: Camera) -> dict[str, Any]:
    """The camera as the streaming side's projection stores it (ciphertext URL only)."""
    row = _snapshot(camera, CameraRegistered).model_dump(mode="json")
    row["decommissioned"] = camera.decommissioned_at is not None
    return row


def _invalidate_on_commit(tenant_id: Any) -> None:
    transaction.on_commit(lambda: cache.invalidate(tenant_id))


def register_camera(
    *, tenant: Tenant, data: dict[str, Any], actor: Any, request: HttpRequest | None = None,
    onvif: OnboardedDevice | None = None,
) -> Camera:
    data = dict(data)
    data.pop("tenant", None)
    url = check_rtsp_url(data.pop("rtsp_url", None))
    camera = Camera(tenant=tenant, **data)
    camera.set_rtsp_url(url)
    if onvif is not None:
        camera.onvif_encrypted = cipher().encrypt(json.dumps(onvif.secret))
        camera.onvif_device = onvif.device
        camera.ptz = onvif.ptz
    _check_camera(camera)
    with transaction.atomic():
        camera.save()
        record(action="create", object_type="camera", object_id=str(camera.id),
               tenant_id=camera.tenant_id, actor=actor, after=camera.audit_state(),
               request=request)
        enqueue(_snapshot(camera, CameraRegistered), tenant_id=camera.tenant_id)
        _invalidate_on_commit(camera.tenant_id)
    return camera


def onboard_camera(
    *, tenant: Tenant, data: dict[str, Any], device_url: str, username: str, password: str,
    profile: str | None = None, actor: Any, request: HttpRequest | None = None,
) -> Camera:
    """Register a camera from its ONVIF device: the RTSP URL is the one the device gives
    for the chosen profile (the largest picture by default), with the credentials
    inserted; the ONVIF endpoint is stored encrypted, its PTZ capability with it."""
    device = read_device(device_url=device_url, username=username, password=password,
                         profile=profile)
    return register_camera(tenant=tenant, data={**data, "rtsp_url": device.rtsp_url},
                           actor=actor, request=request, onvif=device)


def reonboard_camera(
    camera: Camera, *, username: str | None = None, password: str | None = None,
    device_url: str | None = None, profile: str | None = None, actor: Any,
    request: HttpRequest | None = None,
) -> Camera:
    """New ONVIF credentials (or device address, or profile) for an existing camera,
    verified against the device before anything is saved: the stream URL is read again
    (with the new credentials in it), as onboarding does. What is not given stays as the
    camera was onboarded (nothing given: the device is read again as it is), except that
    a new device address needs the username and password too. A camera registered by URL
    becomes an ONVIF camera this way (its device address, username and password are then
    required)."""
    current: dict[str, Any] = {}
    if camera.onvif_encrypted:
        try:
            current = json.loads(cipher().decrypt(camera.onvif_encrypted))
        except ValueError:
            current = {}
    same_device = not device_url or device_url == current.get("url")
    # The stored credentials go only to the device they were given for: sent to a new
    # address, they would be handed to whoever answers there.
    stored = current if same_device else {}
    given = {"device_url": device_url or current.get("url"),
             "username": username if username is not None else stored.get("username"),
             "password": password if password is not None else stored.get("password")}
    missing = [name for name, value in given.items() if value is None]
    if missing:
        reason = ("This camera was not onboarded by ONVIF" if not current
                  else "A new device address needs its credentials")
        raise ValidationError({name: [ValidationError(
            f"{reason}: give its device address, username and password.",
            code="required")] for name in missing})
    device = read_device(device_url=given["device_url"], username=given["username"],
                         password=given["password"],
                         profile=profile or current.get("profile") or None)
    return update_camera(camera, changes={"rtsp_url": device.rtsp_url}, actor=actor,
                         request=request, onvif=device)


def update_camera(
    camera: Camera, *, changes: dict[str, Any], actor: Any, request: HttpRequest | None = None,
    onvif: OnboardedDevice | None = None,
) -> Camera:
    """Change a camera; with ``onvif``, also its ONVIF endpoint and credentials (read
    again from the device), which always counts as a change."""
    changes = dict(changes)
    changes.pop("tenant", None)
    url = check_rtsp_url(changes.pop("rtsp_url")) if "rtsp_url" in changes else None
    with transaction.atomic():
        # The row lock serialises concurrent edits, so revisions never repeat.
        locked = Camera.objects.select_for_update().get(pk=camera.pk)
        before = locked.audit_state()
        url_changed = url is not None and url != locked.readable_rtsp_url()
        for field, value in changes.items():
            setattr(locked, field, value)
        if url_changed:
            assert url is not None
            locked.set_rtsp_url(url)
        if onvif is not None:
            locked.onvif_encrypted = cipher().encrypt(json.dumps(onvif.secret))
            locked.onvif_device = onvif.device
            locked.ptz = onvif.ptz
            locked.onvif_health = {
                "reachable": True, "authorized": True,
                "clock_drift_seconds": onvif.device.get("clock_drift_seconds"),
                "checked_at": timezone.now().isoformat()}
        _check_camera(locked)
        after = locked.audit_state()
        if after == before and not url_changed and onvif is None:
            return locked
        locked.revision += 1
        locked.save()
        after = locked.audit_state()
        if url_changed:
            after["rtsp_url_changed"] = True
        if onvif is not None:
            after["onvif_endpoint_changed"] = True
        record(action="update", object_type="camera", object_id=str(locked.id),
               tenant_id=locked.tenant_id, actor=actor, before=before, after=after,
               request=request)
        enqueue(_snapshot(locked, CameraUpdated), tenant_id=locked.tenant_id)
        _invalidate_on_commit(locked.tenant_id)
    return locked


def decommission_camera(
    camera: Camera, *, actor: Any, request: HttpRequest | None = None
) -> Camera:
    """Soft delete: the row stays (recordings and audit refer to it); streaming stops."""
    with transaction.atomic():
        locked = Camera.all_objects.select_for_update().get(pk=camera.pk)
        if locked.decommissioned_at is not None:
            return locked
        before = locked.audit_state()
        locked.status = CameraStatus.DECOMMISSIONED
        locked.decommissioned_at = timezone.now()
        locked.revision += 1
        locked.save()
        record(action="delete", object_type="camera", object_id=str(locked.id),
               tenant_id=locked.tenant_id, actor=actor, before=before,
               after=locked.audit_state(), request=request)
        enqueue(
            CameraDecommissioned(camera_id=locked.id, tenant_id=locked.tenant_id,
                                 revision=locked.revision),
            tenant_id=locked.tenant_id,
        )
        _invalidate_on_commit(locked.tenant_id)
    return locked


# --- Locations and zones -----------------------------------------------------------------


def _place_state(obj: Location | Zone) -> dict[str, Any]:
    if isinstance(obj, Location):
        return {"name": obj.name, "address": obj.address, "latitude": obj.latitude,
                "longitude": obj.longitude}
    return {"name": obj.name, "description": obj.description,
            "location_id": str(obj.location_id) if obj.location_id else None,
            "geometry": obj.geometry}


def _check_place(obj: Location | Zone) -> None:
    if isinstance(obj, Zone) and obj.location_id:
        check_same_tenant(obj.tenant_id, location=obj.location)
    obj.full_clean()


def create_place(
    model: type[Location] | type[Zone], *, tenant: Tenant, data: dict[str, Any], actor: Any,
    request: HttpRequest | None = None,
) -> Location | Zone:
    data = dict(data)
    data.pop("tenant", None)
    obj = model(tenant=tenant, **data)
    _check_place(obj)
    with transaction.atomic():
        obj.save()
        record(action="create", object_type=model.__name__.lower(), object_id=str(obj.id),
               tenant_id=obj.tenant_id, actor=actor, after=_place_state(obj), request=request)
    return obj


def update_place(
    obj: Location | Zone, *, changes: dict[str, Any], actor: Any,
    request: HttpRequest | None = None,
) -> Location | Zone:
    changes = dict(changes)
    changes.pop("tenant", None)
    before = _place_state(obj)
    for field, value in changes.items():
        setattr(obj, field, value)
    _check_place(obj)
    with transaction.atomic():
        obj.save()
        record(action="update", object_type=type(obj).__name__.lower(), object_id=str(obj.id),
               tenant_id=obj.tenant_id, actor=actor, before=before, after=_place_state(obj),
               request=request)
    return obj


def delete_place(obj: Location | Zone, *, actor: Any, request: HttpRequest | None = None) -> None:
    """Cameras (and zones) that pointed at the place keep existing, unassigned.

    Each affected camera is a changed camera: new revision, audit entry and
    ``CameraUpdated``, in the same transaction as the deletion; each affected zone gets
    its own audit entry. Decommissioned cameras are only unlinked (by the foreign key's
    SET NULL); nothing downstream follows them.
    """
    before = _place_state(obj)
    object_id, tenant_id = str(obj.id), obj.tenant_id
    field = "location" if isinstance(obj, Location) else "zone"
    with transaction.atomic():
        # Locking the place first makes a concurrent "move camera here" either finish
        # before (and be seen below) or wait and fail on the foreign key afterwards.
        place = type(obj).objects.select_for_update().get(pk=obj.pk)
        cameras = Camera.objects.select_for_update().filter(**{field: place}).order_by("pk")
        for camera in cameras:
            camera_before = camera.audit_state()
            setattr(camera, field, None)
            camera.revision += 1
            camera.save(update_fields=[field, "revision", "updated_at"])
            record(action="update", object_type="camera", object_id=str(camera.id),
                   tenant_id=camera.tenant_id, actor=actor, before=camera_before,
                   after=camera.audit_state(), request=request)
            enqueue(_snapshot(camera, CameraUpdated), tenant_id=camera.tenant_id)
        if isinstance(place, Location):
            # Zones of the location stay, unassigned: each is a changed zone, audited.
            for zone in Zone.objects.select_for_update().filter(location=place).order_by("pk"):
                zone_before = _place_state(zone)
                zone.location = None
                zone.save(update_fields=["location", "updated_at"])
                record(action="update", object_type="zone", object_id=str(zone.id),
                       tenant_id=zone.tenant_id, actor=actor, before=zone_before,
                       after=_place_state(zone), request=request)
        place.delete()
        record(action="delete", object_type=type(obj).__name__.lower(), object_id=object_id,
               tenant_id=tenant_id, actor=actor, before=before, request=request)
        _invalidate_on_commit(tenant_id)
