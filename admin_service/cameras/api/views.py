"""Cameras, locations and zones: viewers read, tenant admins write, scoped per tenant."""

from __future__ import annotations

import json
from typing import Any

from accounts.authentication import prefetched
from accounts.rbac import IsSuperadmin, RolePermission, TenantScopedMixin, acting_user
from config.exceptions import Conflict
from config.rest import Pagination
from django.db.models import Model, QuerySet
from django.http import HttpResponse
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import viewsets
from rest_framework.decorators import action
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import BaseSerializer
from tenancy.models import Tenant

from cameras import cache, services
from cameras.api.serializers import (
    CameraSerializer,
    LocationSerializer,
    OnvifOnboardSerializer,
    ZoneSerializer,
)
from cameras.filtersets import CameraFilter, LocationFilter, ZoneFilter
from cameras.models import Camera, Location, Zone, cipher
from cameras.onvif import device_health
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
        summary="ONVIF health, asked now: reachable, credentials accepted, clock drift",
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
        health = device_health(json.loads(cipher().decrypt(camera.onvif_encrypted)))
        return Response({**health, "checked_at": timezone.now().isoformat()})

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
