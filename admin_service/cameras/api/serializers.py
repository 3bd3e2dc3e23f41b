from __future__ import annotations

from typing import Any

from accounts.models import User
from config.rest import (
    StrictCharField,
    StrictChoiceField,
    StrictModelSerializer,
    StrictSerializer,
)
from rest_framework import serializers
from tenancy.models import Tenant

from cameras import services
from cameras.models import Camera, CameraStatus, Location, Zone
from cameras.validators import (
    MAX_RTSP_URL_LENGTH,
    InvalidGeometry,
    InvalidMetadata,
    InvalidRtspUrl,
    validate_metadata,
    validate_rtsp_url,
    validate_zone_geometry,
)


def _actor(serializer: serializers.Serializer) -> User | None:
    user = getattr(serializer.context.get("request"), "user", None)
    return user if isinstance(user, User) else None


def _scoped(queryset: Any, actor: User | None) -> Any:
    if actor is None:
        return queryset.none()
    return queryset if actor.is_superadmin else queryset.filter(tenant_id=actor.tenant_id)


class TenantOwnedSerializer(StrictModelSerializer):
    """``tenant`` is writable only by a superadmin, only on create (and then required)."""

    tenant = serializers.PrimaryKeyRelatedField(queryset=Tenant.objects.all())

    def get_fields(self) -> dict[str, serializers.Field]:
        fields = super().get_fields()
        actor = _actor(self)
        # (No actor only while generating the OpenAPI document: describe the full API.)
        if self.instance is not None or (actor is not None and not actor.is_superadmin):
            fields["tenant"] = serializers.PrimaryKeyRelatedField(read_only=True)
        for name in ("location", "zone"):
            field = fields.get(name)
            if isinstance(field, serializers.PrimaryKeyRelatedField) and not field.read_only:
                field.queryset = _scoped(field.queryset, actor)
        return fields

    def target_tenant_id(self, attrs: dict[str, Any]) -> Any:
        if self.instance is not None:
            return self.instance.tenant_id
        if "tenant" in attrs:
            return attrs["tenant"].id
        actor = _actor(self)
        return actor.tenant_id if actor else None

    def check_same_tenant(self, attrs: dict[str, Any], *names: str) -> None:
        errors = services.same_tenant_errors(self.target_tenant_id(attrs),
                                             **{name: attrs.get(name) for name in names})
        if errors:
            raise serializers.ValidationError(errors)


def _rtsp_validator(value: str) -> None:
    try:
        validate_rtsp_url(value)
    except InvalidRtspUrl as exc:
        # Never echo the URL back: it may carry credentials.
        raise serializers.ValidationError(f"RTSP URL {exc}.") from None


def _metadata_validator(value: Any) -> None:
    try:
        validate_metadata(value)
    except InvalidMetadata as exc:
        raise serializers.ValidationError(f"Metadata {exc}.") from None


class OnvifHealthSerializer(serializers.Serializer):
    """The latest ONVIF health check of the camera's device (cameras/health.py)."""

    reachable = serializers.BooleanField(read_only=True)
    authorized = serializers.BooleanField(read_only=True, allow_null=True)
    clock_drift_seconds = serializers.FloatField(
        read_only=True, allow_null=True, help_text="The device's clock minus ours.")
    checked_at = serializers.DateTimeField(read_only=True)


class CameraSerializer(TenantOwnedSerializer):
    rtsp_url = StrictCharField(
        write_only=True, max_length=MAX_RTSP_URL_LENGTH, trim_whitespace=False,
        validators=[_rtsp_validator],
        help_text="rtsp:// or rtsps:// URL, credentials allowed. Write-only: stored encrypted; "
                  "read rtsp_url_masked instead.",
    )
    metadata = serializers.JSONField(required=False, validators=[_metadata_validator])
    status = StrictChoiceField(
        choices=[c for c in CameraStatus.choices if c[0] != CameraStatus.DECOMMISSIONED],
        required=False,
    )
    onvif_health = OnvifHealthSerializer(
        read_only=True, allow_null=True,
        help_text="Null until the device of a camera onboarded by ONVIF is first checked.")

    class Meta:
        model = Camera
        fields = [
            "id", "tenant", "name", "rtsp_url", "rtsp_url_masked", "location", "zone",
            "latitude", "longitude", "recording_mode", "retention_days", "lpr_enabled",
            "status", "metadata", "onvif_device", "ptz", "onvif_health", "revision",
            "created_at", "updated_at",
        ]
        read_only_fields = ["id", "rtsp_url_masked", "onvif_device", "ptz", "onvif_health",
                            "revision", "created_at", "updated_at"]
        validators: list[Any] = []  # uniqueness is checked by the service (model constraints)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        self.check_same_tenant(attrs, "location", "zone")
        return attrs


class OnvifOnboardSerializer(CameraSerializer):
    """A camera onboarded from its ONVIF device: its address and credentials instead of
    an RTSP URL (the device gives it)."""

    rtsp_url = None  # type: ignore[assignment]
    device_url = StrictCharField(
        write_only=True, max_length=2048,
        help_text="The device service, e.g. http://10.0.0.5/onvif/device_service "
                  "(a WS-Discovery XAddr).")
    username = StrictCharField(write_only=True, max_length=128)
    password = StrictCharField(write_only=True, max_length=128, trim_whitespace=False,
                               style={"input_type": "password"})
    profile = StrictCharField(write_only=True, required=False, max_length=64,
                              help_text="Media profile token; default: the largest picture.")

    class Meta(CameraSerializer.Meta):
        fields = [f for f in CameraSerializer.Meta.fields if f != "rtsp_url"] + [
            "device_url", "username", "password", "profile"]


class OnvifCredentialsSerializer(StrictSerializer):
    """New ONVIF credentials for a camera, verified against the device before saving;
    what is left out stays as onboarded."""

    username = StrictCharField(
        required=False, max_length=128,
        help_text="Default: the current one (required with a new device address, and for "
                  "a camera registered by URL).")
    password = StrictCharField(
        required=False, max_length=128, trim_whitespace=False,
        style={"input_type": "password"},
        help_text="Default: the current one (required with a new device address, and for "
                  "a camera registered by URL).")
    device_url = StrictCharField(
        required=False, max_length=2048,
        help_text="Default: the address it was onboarded from (required for a camera "
                  "registered by URL).")
    profile = StrictCharField(required=False, max_length=64,
                              help_text="Media profile token; default: the current one.")


class DiscoverSerializer(StrictSerializer):
    """A WS-Discovery probe; ``targets`` limits it to some of the configured targets."""

    targets = serializers.ListField(
        child=StrictCharField(max_length=64), required=False, max_length=64,
        help_text="A subset of GTV_ONVIF_DISCOVERY_TARGETS (default: all of them, and the "
                  "multicast group when configured).")


class DiscoveredDeviceSerializer(serializers.Serializer):
    """One device that answered a probe (read-only, for the OpenAPI document)."""

    endpoint = serializers.CharField(help_text="WS-Addressing endpoint, urn:uuid:...")
    device_url = serializers.CharField(help_text="The first XAddr: give it to onboarding.")
    xaddrs = serializers.ListField(child=serializers.CharField())
    name = serializers.CharField(allow_null=True)
    hardware = serializers.CharField(allow_null=True)
    scopes = serializers.ListField(child=serializers.CharField())
    types = serializers.ListField(child=serializers.CharField())
    already_registered_camera_id = serializers.UUIDField(
        allow_null=True, help_text="This tenant's camera onboarded from this device.")


class LocationSerializer(TenantOwnedSerializer):
    class Meta:
        model = Location
        fields = ["id", "tenant", "name", "address", "latitude", "longitude", "created_at",
                  "updated_at"]
        read_only_fields = ["id", "created_at", "updated_at"]
        validators: list[Any] = []


class ZoneSerializer(TenantOwnedSerializer):
    class Meta:
        model = Zone
        fields = ["id", "tenant", "name", "description", "location", "geometry",
                  "created_at", "updated_at"]
        read_only_fields = ["id", "created_at", "updated_at"]
        validators: list[Any] = []

    def validate_geometry(self, value: Any) -> dict[str, Any] | None:
        if value is None:
            return None
        try:
            return validate_zone_geometry(value)
        except InvalidGeometry as exc:
            raise serializers.ValidationError(str(exc)) from None

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        self.check_same_tenant(attrs, "location")
        return attrs
