"""Onboarding a camera by ONVIF (issue 12): with the device's address and credentials,
read what it is (maker, model, firmware, serial), its media profiles and their stream
URIs, so the camera is registered with the RTSP URL the device itself gives (never
typed by hand).

The reading is :func:`read_device` (shared_kernel.onvif, with the camera network policy
applied to the device address and every address it answers with); the registration is
``services.register_camera(..., onvif=...)`` — the same rule as a typed URL, which
checks the stream URL again.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

from asgiref.sync import async_to_sync
from django.conf import settings
from django.core.exceptions import ValidationError

from shared_kernel.camera_network import CameraNetworkPolicy
from shared_kernel.onvif import (
    MediaProfile,
    OnvifClient,
    OnvifError,
    OnvifFault,
    OnvifNotAuthorized,
    OnvifUnreachable,
)

ONVIF_TIMEOUT_SECONDS = 5.0


@dataclass(frozen=True)
class OnboardedDevice:
    """What onboarding learnt: ``rtsp_url`` (credentials inserted) for the camera,
    ``secret`` for the encrypted ONVIF field, ``device`` safe to show and audit."""

    rtsp_url: str
    secret: dict[str, Any]
    device: dict[str, Any]
    ptz: bool


def with_credentials(uri: str, username: str, password: str) -> str:
    """``uri`` with ``username:password@`` (cameras hand out stream URIs without them)."""
    parts = urlsplit(uri)
    if parts.username is not None or not username:
        return uri
    netloc = f"{quote(username, safe='')}:{quote(password, safe='')}@{parts.netloc}"
    return urlunsplit(parts._replace(netloc=netloc))


def _choose(profiles: list[MediaProfile], token: str | None) -> MediaProfile:
    if token:
        for profile in profiles:
            if profile.token == token:
                return profile
        raise ValidationError({"profile": ["The device has no such media profile."]},
                              code="invalid")
    if not profiles:
        raise ValidationError({"device_url": ["The device reports no media profile."]},
                              code="onvif_error")
    # The main stream: the largest picture (profile order differs between makers).
    return max(profiles, key=lambda p: (p.width or 0) * (p.height or 0))


async def _read(device_url: str, username: str, password: str, profile: str | None,
                policy: CameraNetworkPolicy) -> OnboardedDevice:
    async with OnvifClient(device_url, username, password, policy=policy,
                           timeout=ONVIF_TIMEOUT_SECONDS) as client:
        drift = await client.sync_clock()
        info = await client.device_information()
        capabilities = await client.capabilities()
        profiles = await client.profiles()
        main = _choose(profiles, profile)
        stream_uri = await client.stream_uri(main.token)
        others = [p for p in profiles if p.token != main.token]
        sub = min(others, key=lambda p: (p.width or 0) * (p.height or 0)) if others else None
        sub_uri = await client.stream_uri(sub.token) if sub else None
        snapshot_uri = await client.snapshot_uri(main.token)
    ptz = bool(capabilities.ptz_url) and main.ptz
    secret: dict[str, Any] = {"url": device_url, "username": username,
                              "password": password, "profile": main.token}
    if client.http_digest:
        secret["http_digest"] = True
    if sub_uri:
        secret["sub_rtsp_url"] = with_credentials(sub_uri, username, password)
    if snapshot_uri:
        secret["snapshot_uri"] = snapshot_uri
    device = {
        "manufacturer": info.manufacturer[:100], "model": info.model[:100],
        "firmware_version": info.firmware_version[:100],
        "serial_number": info.serial_number[:100],
        "profile": {"token": main.token, "name": main.name[:100], "encoding": main.encoding,
                    "width": main.width, "height": main.height},
        "sub_profile": sub.token if sub else None,
        "clock_drift_seconds": round(drift, 1),
    }
    return OnboardedDevice(rtsp_url=with_credentials(stream_uri, username, password),
                           secret=secret, device=device, ptz=ptz)


def read_device(*, device_url: str, username: str, password: str,
                profile: str | None = None) -> OnboardedDevice:
    """Ask the device; ``ValidationError`` on ``device_url`` (codes ``onvif_unreachable``,
    ``onvif_not_authorized``, ``onvif_error``) when it cannot be onboarded. Messages
    never quote credentials."""
    policy: CameraNetworkPolicy = settings.CAMERA_NETWORK_POLICY
    try:
        return async_to_sync(_read)(device_url, username, password, profile, policy)
    except OnvifNotAuthorized:
        raise ValidationError({"password": [ValidationError(
            "The device refused these credentials.", code="onvif_not_authorized")]}) from None
    except OnvifFault as fault:
        raise ValidationError({"device_url": [ValidationError(
            "The device refused a request (ONVIF fault "
            f"{'/'.join(fault.subcodes[-1:]) or 'unknown'}).", code="onvif_error")]}) from None
    except OnvifUnreachable:
        raise ValidationError({"device_url": [ValidationError(
            "The device did not answer.", code="onvif_unreachable")]}) from None
    except OnvifError as exc:
        raise ValidationError({"device_url": [ValidationError(
            f"ONVIF: {exc}", code="onvif_error")]}) from None


async def _health(secret: dict[str, Any], policy: CameraNetworkPolicy) -> dict[str, Any]:
    async with OnvifClient(secret["url"], secret["username"], secret["password"],
                           policy=policy, timeout=ONVIF_TIMEOUT_SECONDS,
                           http_digest=secret.get("http_digest") is True) as client:
        try:
            drift = await client.sync_clock()
        except OnvifUnreachable:
            return {"reachable": False, "authorized": None, "clock_drift_seconds": None}
        try:
            await client.device_information()
            authorized = True
        except OnvifNotAuthorized:
            authorized = False
        return {"reachable": True, "authorized": authorized,
                "clock_drift_seconds": round(drift, 1)}


async def _guarded_health(secret: dict[str, Any],
                          policy: CameraNetworkPolicy) -> dict[str, Any]:
    try:
        health = await _health(secret, policy)
    except OnvifError as exc:
        health = {"reachable": False, "authorized": None, "clock_drift_seconds": None,
                  "error": "onvif_error" if not isinstance(exc, OnvifFault) else "onvif_fault"}
    except (KeyError, TypeError):
        health = {"reachable": False, "authorized": None, "clock_drift_seconds": None,
                  "error": "onvif_error"}
    health.setdefault("error", None)
    return health


def device_health(secret: dict[str, Any]) -> dict[str, Any]:
    """Asked now: does the device answer, take its credentials, and how far is its clock
    from ours (seconds, the device's minus ours)?"""
    policy: CameraNetworkPolicy = settings.CAMERA_NETWORK_POLICY
    return async_to_sync(_guarded_health)(secret, policy)


async def _many_health(secrets: list[dict[str, Any]], policy: CameraNetworkPolicy,
                       concurrency: int) -> list[dict[str, Any]]:
    gate = asyncio.Semaphore(concurrency)

    async def one(secret: dict[str, Any]) -> dict[str, Any]:
        async with gate:
            return await _guarded_health(secret, policy)

    return list(await asyncio.gather(*(one(secret) for secret in secrets)))


def devices_health(secrets: list[dict[str, Any]], *,
                   concurrency: int = 16) -> list[dict[str, Any]]:
    """:func:`device_health` of many devices, ``concurrency`` at a time, in order."""
    policy: CameraNetworkPolicy = settings.CAMERA_NETWORK_POLICY
    return async_to_sync(_many_health)(secrets, policy, concurrency)
