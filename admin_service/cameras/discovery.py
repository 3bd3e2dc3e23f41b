"""ONVIF WS-Discovery for the tenant admin (issue 12): probe the configured targets,
keep the devices whose every announced address the camera network policy allows, mark
the ones this tenant already registered, remember the last result per tenant.

The prober is a port (:class:`DeviceProber`); ``settings.ONVIF_DISCOVERY`` is the
adapter (``shared_kernel.ws_discovery.WsDiscoveryClient``), wired in the settings like
the camera network policy. The last result of each scope (a tenant, or "all" for a
superadmin) lives in the Redis cache for ``RESULT_TTL_SECONDS``; which devices are
already registered is worked out on every read, so a camera onboarded since shows.
"""

from __future__ import annotations

import ipaddress
import json
import logging
from collections.abc import Callable, Sequence
from typing import Any, Protocol
from urllib.parse import unquote, urlsplit

from audit.services import record
from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from cameras.models import Camera, cipher
from shared_kernel.camera_network import CameraAddressError, CameraNetworkPolicy, system_resolve
from shared_kernel.ws_discovery import ProbeMatch, Target

logger = logging.getLogger(__name__)

RESULT_TTL_SECONDS = 7 * 24 * 3600
ALL = "all"
_NAME_SCOPE = "onvif://www.onvif.org/name/"
_HARDWARE_SCOPE = "onvif://www.onvif.org/hardware/"


class DeviceProber(Protocol):
    """Sends WS-Discovery Probes and returns the matches (shared_kernel.ws_discovery)."""

    @property
    def targets(self) -> tuple[Target, ...]: ...

    def probe(self, targets: Sequence[Target] | None = None, *, multicast: bool = True,
              allowed: Callable[[ipaddress.IPv4Address], bool] = ...,
              ) -> list[ProbeMatch]: ...


def _cache_key(scope: str) -> str:
    return f"onvif:discovery:{scope}"


def normalise_device_url(url: str) -> str:
    """A device address to compare by: scheme, host and port (defaulted), path."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port or {"http": 80, "https": 443}.get(parts.scheme.lower(), 0)
    except ValueError:
        return url
    return f"{parts.scheme.lower()}://{(parts.hostname or '').lower()}:{port}" \
           f"{parts.path.rstrip('/') or '/'}"


def _address_allowed(url: str, policy: CameraNetworkPolicy) -> bool:
    """An XAddr may be shown only when it is http(s) and every address of its host is
    one cameras may use (as onboarding will check again before connecting)."""
    try:
        parts = urlsplit(url)
        port = parts.port or {"http": 80, "https": 443}.get(parts.scheme.lower(), 0)
    except ValueError:
        return False
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return False
    try:
        try:
            found = [str(ipaddress.ip_address(parts.hostname))]
        except ValueError:
            found = system_resolve(parts.hostname, port, policy.dns_timeout)
        if not found:
            return False
        for address in found:
            policy.check_address(address)
    except (CameraAddressError, ValueError):
        return False
    return True


def _scope_value(scopes: Sequence[str], prefix: str) -> str | None:
    for scope in scopes:
        if scope.lower().startswith(prefix):
            return unquote(scope[len(prefix):])[:200] or None
    return None


def _device(match: ProbeMatch, policy: CameraNetworkPolicy) -> dict[str, Any] | None:
    try:
        policy.check_address(match.sender)
    except (CameraAddressError, ValueError):
        logger.info("ws-discovery answer from a refused address dropped",
                    extra={"endpoint": match.endpoint})
        return None
    xaddrs = [url for url in match.xaddrs if _address_allowed(url, policy)]
    if not xaddrs:
        logger.info("ws-discovery device without an allowed address dropped",
                    extra={"endpoint": match.endpoint})
        return None
    return {
        "endpoint": match.endpoint,
        "device_url": xaddrs[0],
        "xaddrs": xaddrs,
        "name": _scope_value(match.scopes, _NAME_SCOPE),
        "hardware": _scope_value(match.scopes, _HARDWARE_SCOPE),
        "scopes": list(match.scopes),
        "types": list(match.types),
    }


def _registered(tenant_id: Any) -> dict[str, str]:
    """Normalised ONVIF device URL → camera id, over the scope's active cameras."""
    cameras = Camera.objects.exclude(onvif_encrypted="")
    if tenant_id is not None:
        cameras = cameras.filter(tenant_id=tenant_id)
    found: dict[str, str] = {}
    for camera_id, encrypted in cameras.order_by("created_at").values_list(
            "id", "onvif_encrypted"):
        try:
            url = json.loads(cipher().decrypt(encrypted))["url"]
        except (ValueError, KeyError, TypeError):
            continue
        found.setdefault(normalise_device_url(url), str(camera_id))
    return found


def with_registered(devices: list[dict[str, Any]], tenant_id: Any) -> list[dict[str, Any]]:
    """``devices`` with ``already_registered_camera_id``: the scope's own camera onboarded
    from any of the device's addresses, else ``None`` (never another tenant's)."""
    registered = _registered(tenant_id)
    return [{**device, "already_registered_camera_id": next(
        (registered[u] for u in map(normalise_device_url, device["xaddrs"]) if u in registered),
        None)} for device in devices]


def configured_targets() -> list[str]:
    prober: DeviceProber = settings.ONVIF_DISCOVERY
    return [target.text for target in prober.targets]


def discover(*, tenant_id: Any, targets: list[str] | None, actor: Any,
             request: HttpRequest | None = None) -> list[dict[str, Any]]:
    """Probe now (``targets``: a subset of the configured ones; default all of them and
    the multicast group when configured), store and return the devices found.

    ``tenant_id`` ``None`` is a superadmin acting across tenants. ``ValidationError`` on
    ``targets`` for a target that is not configured."""
    prober: DeviceProber = settings.ONVIF_DISCOVERY
    policy: CameraNetworkPolicy = settings.CAMERA_NETWORK_POLICY
    configured = {target.text: target for target in prober.targets}
    if targets is not None:
        unknown = [text for text in targets if text.strip() not in configured]
        if unknown:
            raise ValidationError({"targets": [ValidationError(
                "Only configured discovery targets may be probed "
                "(GTV_ONVIF_DISCOVERY_TARGETS).", code="invalid")]})
        chosen: Sequence[Target] = [configured[text.strip()] for text in dict.fromkeys(targets)]
    else:
        chosen = list(configured.values())
    matches = prober.probe(chosen, multicast=targets is None,
                           allowed=lambda host: policy.decide(host).allowed)
    devices = sorted((d for d in (_device(m, policy) for m in matches) if d is not None),
                     key=lambda d: (d["name"] or "", d["endpoint"]))
    scope = ALL if tenant_id is None else str(tenant_id)
    try:
        cache.set(_cache_key(scope), {"devices": devices,
                                      "discovered_at": timezone.now().isoformat()},
                  timeout=RESULT_TTL_SECONDS)
    except Exception:  # a cache outage loses the stored copy, not this answer
        logger.warning("discovery result not stored", exc_info=True)
    with transaction.atomic():
        record(action="camera.discover", object_type="camera", object_id=None,
               tenant_id=tenant_id, actor=actor, request=request,
               after={"count": len(devices), "targets": [t.text for t in chosen],
                      "endpoints": [d["endpoint"] for d in devices][:100]})
    return with_registered(devices, tenant_id)


def last_discovery(*, tenant_id: Any) -> list[dict[str, Any]]:
    """The devices the scope's last probe found (empty before the first, or after
    ``RESULT_TTL_SECONDS``)."""
    try:
        stored = cache.get(_cache_key(ALL if tenant_id is None else str(tenant_id)))
    except Exception:  # a cache outage reads as "nothing stored"
        logger.warning("discovery result not read", exc_info=True)
        stored = None
    devices = stored["devices"] if isinstance(stored, dict) else []
    return with_registered(devices, tenant_id)
