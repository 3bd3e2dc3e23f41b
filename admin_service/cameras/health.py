"""The ONVIF health of cameras onboarded by ONVIF (issue 12): is the device reachable,
does it still take the stored credentials, how far is its clock from ours.

Asked on demand (``GET /api/cidades/cameras/{id}/onvif-health/``) and periodically by
``manage.py run_onvif_health``; both store the latest answer on the camera
(``Camera.onvif_health``: reachable, authorized, clock_drift_seconds, checked_at), which
the camera list and detail show. Health is an observation, not configuration: storing
it bumps no revision, emits no event and writes no audit entry; it only invalidates the
tenant's camera-list cache.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from django.db import transaction
from django.utils import timezone

from cameras import cache
from cameras.models import Camera, cipher
from cameras.onvif import device_health, devices_health

logger = logging.getLogger(__name__)

STORED_FIELDS = ("reachable", "authorized", "clock_drift_seconds")


def _secret(camera: Camera) -> dict[str, Any] | None:
    try:
        secret = json.loads(cipher().decrypt(camera.onvif_encrypted))
    except ValueError:
        return None
    return secret if isinstance(secret, dict) else None


def _unreadable() -> dict[str, Any]:
    # Encrypted with a key no longer configured: nothing can be asked.
    return {"reachable": False, "authorized": None, "clock_drift_seconds": None,
            "error": "credentials_unreadable"}


def _store(camera: Camera, health: dict[str, Any]) -> dict[str, Any]:
    stored = {**{k: health.get(k) for k in STORED_FIELDS},
              "checked_at": timezone.now().isoformat()}
    # Only if the device's credentials are still those asked with: new ones saved
    # meanwhile (PATCH .../onvif/) come with a fresher answer of their own.
    Camera.all_objects.filter(pk=camera.pk, onvif_encrypted=camera.onvif_encrypted).update(
        onvif_health=stored)
    camera.onvif_health = stored
    return stored


def _invalidate(tenants: set[Any]) -> None:
    for tenant_id in tenants:
        cache.invalidate(tenant_id)


def check_camera(camera: Camera) -> dict[str, Any]:
    """Ask ``camera``'s device now, store and return the answer (with ``error``)."""
    secret = _secret(camera)
    health = device_health(secret) if secret is not None else _unreadable()
    with transaction.atomic():
        stored = _store(camera, health)
        tenant_id = camera.tenant_id
        transaction.on_commit(lambda: cache.invalidate(tenant_id))
    return {**health, "checked_at": stored["checked_at"]}


def check_all(*, concurrency: int = 16) -> int:
    """Ask every active ONVIF camera's device (``concurrency`` at a time), store each
    answer; the number of cameras checked."""
    cameras = list(Camera.objects.exclude(onvif_encrypted="").order_by("tenant_id", "id"))
    asked: list[tuple[Any, dict[str, Any]]] = []
    for camera in cameras:
        secret = _secret(camera)
        if secret is not None:
            asked.append((camera.pk, secret))
    answers = dict(zip((pk for pk, _ in asked),
                       devices_health([secret for _, secret in asked], concurrency=concurrency),
                       strict=True))
    tenants = {camera.tenant_id for camera in cameras}
    with transaction.atomic():
        for camera in cameras:
            _store(camera, answers.get(camera.pk) or _unreadable())
        transaction.on_commit(lambda: _invalidate(tenants))
    unreachable = sum(1 for a in answers.values() if not a["reachable"])
    logger.info("onvif health checked",
                extra={"cameras": len(cameras), "unreachable": unreachable})
    return len(cameras)
