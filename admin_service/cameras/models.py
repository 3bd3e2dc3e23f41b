"""Cidades context: where cameras are (locations, zones) and the cameras themselves.

A camera's RTSP URL may carry credentials, so it is stored only encrypted (Fernet, key
from the environment) next to a masked copy that is safe to display and log.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q

from cameras.validators import InvalidGeometry, validate_zone_geometry
from shared_kernel.crypto import CredentialCipher
from shared_kernel.masking import mask_url


def cipher() -> CredentialCipher:
    return CredentialCipher(settings.CAMERA_CREDENTIALS_KEY)


def validate_geometry(value: Any) -> None:
    if value is None:
        return
    try:
        validate_zone_geometry(value)
    except InvalidGeometry as exc:
        raise ValidationError(str(exc)) from None


LATITUDE_VALIDATORS = [MinValueValidator(-90.0), MaxValueValidator(90.0)]
LONGITUDE_VALIDATORS = [MinValueValidator(-180.0), MaxValueValidator(180.0)]


def _coordinate_checks(prefix: str) -> list[models.CheckConstraint]:
    return [
        models.CheckConstraint(
            name=f"{prefix}_latitude_range",
            condition=Q(latitude__isnull=True) | Q(latitude__gte=-90, latitude__lte=90),
        ),
        models.CheckConstraint(
            name=f"{prefix}_longitude_range",
            condition=Q(longitude__isnull=True) | Q(longitude__gte=-180, longitude__lte=180),
        ),
    ]


class TenantOwned(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    tenant = models.ForeignKey("tenancy.Tenant", on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


class Location(TenantOwned):
    name = models.CharField(max_length=200)
    address = models.CharField(max_length=500, blank=True, default="")
    latitude = models.FloatField(null=True, blank=True, validators=LATITUDE_VALIDATORS)
    longitude = models.FloatField(null=True, blank=True, validators=LONGITUDE_VALIDATORS)

    class Meta:
        db_table = 'cidades"."locations'
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "name"], name="location_unique_name",
                violation_error_message="A location with this name already exists.",
            ),
            *_coordinate_checks("location"),
        ]

    def __str__(self) -> str:
        return self.name


class Zone(TenantOwned):
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True, default="", max_length=2000)
    location = models.ForeignKey(
        Location, null=True, blank=True, on_delete=models.SET_NULL, related_name="zones"
    )
    geometry = models.JSONField(
        null=True, blank=True, validators=[validate_geometry],
        help_text="GeoJSON Polygon ([longitude, latitude] positions) drawn on the map.",
    )

    class Meta:
        db_table = 'cidades"."zones'
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "name"], name="zone_unique_name",
                violation_error_message="A zone with this name already exists.",
            )
        ]

    def __str__(self) -> str:
        return self.name


class RecordingMode(models.TextChoices):
    OFF = "off", "Off"
    CONTINUOUS = "continuous", "Continuous"
    EVENTS = "events", "On events"


class CameraStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    INACTIVE = "inactive", "Inactive"
    MAINTENANCE = "maintenance", "Maintenance"
    DECOMMISSIONED = "decommissioned", "Decommissioned"


MASKED_URL_MAX_LENGTH = 2100


class ActiveCameraManager(models.Manager["Camera"]):
    def get_queryset(self) -> models.QuerySet[Camera]:
        return super().get_queryset().filter(decommissioned_at__isnull=True)


class Camera(TenantOwned):
    name = models.CharField(max_length=200)
    rtsp_url_encrypted = models.TextField(editable=False)
    rtsp_url_masked = models.CharField(max_length=MASKED_URL_MAX_LENGTH, editable=False)
    location = models.ForeignKey(
        Location, null=True, blank=True, on_delete=models.SET_NULL, related_name="cameras"
    )
    zone = models.ForeignKey(
        Zone, null=True, blank=True, on_delete=models.SET_NULL, related_name="cameras"
    )
    latitude = models.FloatField(null=True, blank=True, validators=LATITUDE_VALIDATORS)
    longitude = models.FloatField(null=True, blank=True, validators=LONGITUDE_VALIDATORS)
    recording_mode = models.CharField(
        max_length=16, choices=RecordingMode.choices, default=RecordingMode.OFF
    )
    retention_days = models.PositiveIntegerField(
        default=90, validators=[MinValueValidator(1), MaxValueValidator(3650)]
    )
    lpr_enabled = models.BooleanField(default=False)
    status = models.CharField(
        max_length=16, choices=CameraStatus.choices, default=CameraStatus.ACTIVE
    )
    metadata = models.JSONField(default=dict, blank=True)
    # Onboarded by ONVIF (issue 12): the endpoint and its credentials, encrypted like the
    # RTSP URL (JSON: url, username, password, profile, sub_rtsp_url, snapshot_uri); what
    # the device said about itself, in clear (maker, model, firmware, serial, profile);
    # and whether it can be steered.
    onvif_encrypted = models.TextField(blank=True, default="", editable=False)
    onvif_device = models.JSONField(default=dict, blank=True, editable=False)
    ptz = models.BooleanField(default=False, editable=False)
    # The device's latest ONVIF health check (cameras/health.py): reachable, authorized,
    # clock_drift_seconds, checked_at. Not configuration: no revision, event or audit.
    onvif_health = models.JSONField(null=True, blank=True, editable=False)
    revision = models.PositiveIntegerField(default=1, editable=False)
    decommissioned_at = models.DateTimeField(null=True, blank=True, editable=False)

    objects = ActiveCameraManager()
    all_objects = models.Manager()

    class Meta:
        db_table = 'cidades"."cameras'
        ordering = ["name"]
        base_manager_name = "all_objects"
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "name"],
                condition=Q(decommissioned_at__isnull=True),
                name="camera_unique_active_name",
                violation_error_message="A camera with this name already exists.",
            ),
            models.CheckConstraint(
                name="camera_retention_range",
                condition=Q(retention_days__gte=1, retention_days__lte=3650),
            ),
            *_coordinate_checks("camera"),
        ]
        indexes = [models.Index(fields=["tenant", "status"], name="camera_tenant_status")]

    def __str__(self) -> str:
        return self.name

    def set_rtsp_url(self, url: str) -> None:
        """Store ``url`` encrypted; keep only a masked copy in clear."""
        self.rtsp_url_encrypted = cipher().encrypt(url)
        # Masking can lengthen a URL (short values become ``***``); a cut masked copy
        # reveals nothing more than a whole one.
        self.rtsp_url_masked = mask_url(url)[:MASKED_URL_MAX_LENGTH]

    def rtsp_url(self) -> str:
        """The plaintext URL: for handing to a media engine, never to a client or a log."""
        return cipher().decrypt(self.rtsp_url_encrypted)

    def readable_rtsp_url(self) -> str | None:
        """The plaintext URL, or None when it was encrypted with a key no longer configured
        (it can then only be replaced)."""
        try:
            return self.rtsp_url()
        except ValueError:
            return None

    def audit_state(self) -> dict[str, Any]:
        """What the audit log records about this camera (never the plaintext URL)."""
        return {
            "name": self.name,
            "rtsp_url_masked": self.rtsp_url_masked,
            "location_id": str(self.location_id) if self.location_id else None,
            "zone_id": str(self.zone_id) if self.zone_id else None,
            "latitude": self.latitude,
            "longitude": self.longitude,
            "recording_mode": self.recording_mode,
            "retention_days": self.retention_days,
            "lpr_enabled": self.lpr_enabled,
            "status": self.status,
            "metadata": self.metadata,
            "onvif_device": self.onvif_device,
            "ptz": self.ptz,
            "revision": self.revision,
        }
