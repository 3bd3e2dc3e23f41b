"""Cameras, locations and zones: viewers read, tenant admins write, scoped per tenant."""

from __future__ import annotations

from typing import Any

from accounts.authentication import prefetched
from accounts.rbac import IsSuperadmin, RolePermission, TenantScopedMixin, acting_user
from config.exceptions import Conflict
from config.rest import Pagination
from django.db.models import Model, QuerySet
from django.http import HttpResponse
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import viewsets
from rest_framework.decorators import action
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import BaseSerializer
from tenancy.models import Tenant

from cameras import cache, discovery, health, services
from cameras.api.serializers import (
    CameraSerializer,
    DiscoveredDeviceSerializer,
    DiscoverSerializer,
    LocationSerializer,
    OnvifCredentialsSerializer,
    OnvifOnboardSerializer,
    ZoneSerializer,
)
from cameras.filtersets import CameraFilter, LocationFilter, ZoneFilter
from cameras.models import Camera, Location, Zone
from shared_kernel.auth import Role, TokenClaims


class TenantOwnedViewSet(TenantScopedMixin, viewsets.ModelViewSet):  # type: ignore[type-arg]
    permission_classes = [RolePermission]
    read_role = Role.VIEWER
    write_role = Role.TENANT_ADMIN
    http_method_names = ["get", "post", "put", "patch", "delete", "head", "options"]

    def target_tenant(self, serializer: BaseSerializer[Any]) -> Tenant:
        actor = acting_user(self.request)
        if actor.is_superadmin:
            return serializer.validated_data["tenant"]  # type: ignore[no-any-return]
        assert actor.tenant is not None
        return actor.tenant


class CameraViewSet(TenantOwnedViewSet):
    """Cameras. ``rtsp_url`` is write-only; DELETE decommissions the camera."""

    serializer_class = CameraSerializer
    filterset_class = CameraFilter
    search_fields = ["name"]
    ordering_fields = ["name", "status", "created_at", "updated_at", "retention_days"]
    ordering = ["name"]

    def get_queryset(self) -> QuerySet[Camera]:
        return self.scope(Camera.objects.all())

    @staticmethod
    def _cache_query(request: Request) -> str:
        return f"{request.get_host()}{request.get_full_path()}"

    def auth_prefetch_keys(self, request: Request, claims: TokenClaims) -> list[str]:
        """A list read's cache keys, read in authentication's Redis round trip; keyed by
        the token's scope, used only if the user's own scope is the same."""
        if getattr(self, "action", None) != "list":
            return []
        scope = cache.ALL if claims.is_superadmin else str(claims.tenant_id)
        return cache.prefetch_keys(scope, self._cache_query(request))

    def list(self, request: Request, *args: Any, **kwargs: Any) -> HttpResponse:
        actor = acting_user(request)
        scope = cache.ALL if actor.is_superadmin else str(actor.tenant_id)
        cached = cache.get_list(scope, self._cache_query(request), prefetched(request))
        if cached is not None:
            # The rendered bytes as they were cached: no parsing and re-rendering per hit.
            return HttpResponse(cached, content_type="application/json")
        response = super().list(request, *args, **kwargs)
        cache.set_list(scope, self._cache_query(request), JSONRenderer().render(response.data))
        return response

    @extend_schema(
        summary="Export every camera (decommissioned too) for the streaming projection",
        description="Superadmin only. Rows are the CameraRegistered payload plus "
                    "`decommissioned`; the URL is the encrypted value, never plaintext.",
        parameters=[OpenApiParameter("page", int), OpenApiParameter("page_size", int)],
        responses={200: Pagination().get_paginated_response_schema(
            {"type": "array", "items": {"type": "object", "additionalProperties": True}})},
    )
    @action(detail=False, methods=["get"], url_path="export", permission_classes=[IsSuperadmin],
            filter_backends=[])
    def export(self, request: Request) -> Response:
        queryset = Camera.all_objects.order_by("created_at", "id")
        page = self.paginate_queryset(queryset)
        assert page is not None
        return self.get_paginated_response([services.export_row(c) for c in page])

    @extend_schema(
        summary="Register a camera from its ONVIF device (the RTSP URL is read, not typed)",
        request=OnvifOnboardSerializer, responses={201: CameraSerializer},
    )
    @action(detail=False, methods=["post"], url_path="onboard",
            serializer_class=OnvifOnboardSerializer)
    def onboard(self, request: Request) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        device = {k: data.pop(k, None) for k in ("device_url", "username", "password",
                                                  "profile")}
        camera = services.onboard_camera(
            tenant=self.target_tenant(serializer), data=data, device_url=device["device_url"],
            username=device["username"], password=device["password"],
            profile=device["profile"], actor=acting_user(request), request=request)
        return Response(CameraSerializer(camera, context=self.get_serializer_context()).data,
                        status=201)

    @extend_schema(
        summary="ONVIF health, asked now (and stored as the camera's onvif_health): "
                "reachable, credentials accepted, clock drift",
        responses={200: {"type": "object", "properties": {
            "reachable": {"type": "boolean"},
            "authorized": {"type": "boolean", "nullable": True},
            "clock_drift_seconds": {"type": "number", "nullable": True},
            "error": {"type": "string", "nullable": True},
            "checked_at": {"type": "string", "format": "date-time"}}}},
    )
    @action(detail=True, methods=["get"], url_path="onvif-health", read_role=Role.OPERATOR)
    def onvif_health(self, request: Request, pk: str | None = None) -> Response:
        camera = self.get_object()
        if not camera.onvif_encrypted:
            raise Conflict("This camera was not onboarded by ONVIF.", code="not_onvif")
        return Response(health.check_camera(camera))

    @extend_schema(
        summary="New ONVIF credentials (or device address, or profile), verified against "
                "the device; the stream URL is read again",
        request=OnvifCredentialsSerializer, responses={200: CameraSerializer},
    )
    @action(detail=True, methods=["patch"], url_path="onvif",
            serializer_class=OnvifCredentialsSerializer)
    def onvif(self, request: Request, pk: str | None = None) -> Response:
        camera = self.get_object()
        serializer = OnvifCredentialsSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        camera = services.reonboard_camera(
            camera, username=data.get("username"), password=data.get("password"),
            device_url=data.get("device_url"), profile=data.get("profile"),
            actor=acting_user(request), request=request)
        return Response(CameraSerializer(camera, context=self.get_serializer_context()).data)

    @extend_schema(
        methods=["GET"],
        summary="The devices the last ONVIF WS-Discovery probe of this tenant found",
        responses={200: DiscoveredDeviceSerializer(many=True)},
    )
    @extend_schema(
        methods=["POST"],
        summary="Probe for ONVIF devices now (WS-Discovery on the configured targets)",
        request=DiscoverSerializer, responses={200: DiscoveredDeviceSerializer(many=True)},
    )
    @action(detail=False, methods=["get", "post"], url_path="discover",
            read_role=Role.TENANT_ADMIN, filter_backends=[],
            serializer_class=DiscoverSerializer)
    def discover(self, request: Request) -> Response:
        actor = acting_user(request)
        tenant_id = None if actor.is_superadmin else actor.tenant_id
        if request.method == "POST":
            serializer = DiscoverSerializer(data=request.data)
            serializer.is_valid(raise_exception=True)
            devices = discovery.discover(
                tenant_id=tenant_id, targets=serializer.validated_data.get("targets"),
                actor=actor, request=request)
        else:
            devices = discovery.last_discovery(tenant_id=tenant_id)
        page = self.paginate_queryset(devices)  # type: ignore[arg-type]
        assert page is not None
        return self.get_paginated_response(page)

    def perform_create(self, serializer: BaseSerializer[Camera]) -> None:
        serializer.instance = services.register_camera(
            tenant=self.target_tenant(serializer), data=dict(serializer.validated_data),
            actor=acting_user(self.request), request=self.request,
        )

    def perform_update(self, serializer: BaseSerializer[Camera]) -> None:
        assert serializer.instance is not None
        serializer.instance = services.update_camera(
            serializer.instance, changes=dict(serializer.validated_data),
            actor=acting_user(self.request), request=self.request,
        )

    def perform_destroy(self, instance: Camera) -> None:
        services.decommission_camera(instance, actor=acting_user(self.request),
                                     request=self.request)


class _PlaceViewSet(TenantOwnedViewSet):
    model: type[Model]
    search_fields = ["name"]
    ordering_fields = ["name", "created_at", "updated_at"]
    ordering = ["name"]

    def get_queryset(self) -> QuerySet[Any]:
        return self.scope(self.model._default_manager.all())

    def perform_create(self, serializer: BaseSerializer[Any]) -> None:
        serializer.instance = services.create_place(
            self.model, tenant=self.target_tenant(serializer),  # type: ignore[arg-type]
            data=dict(serializer.validated_data), actor=acting_user(self.request),
            request=self.request,
        )

    def perform_update(self, serializer: BaseSerializer[Any]) -> None:
        serializer.instance = services.update_place(
            serializer.instance, changes=dict(serializer.validated_data),
            actor=acting_user(self.request), request=self.request,
        )

    def perform_destroy(self, instance: Any) -> None:
        services.delete_place(instance, actor=acting_user(self.request), request=self.request)


class LocationViewSet(_PlaceViewSet):
    model = Location
    serializer_class = LocationSerializer
    filterset_class = LocationFilter


class ZoneViewSet(_PlaceViewSet):
    model = Zone
    serializer_class = ZoneSerializer
    filterset_class = ZoneFilter
