"""Prefeituras (tenants): managed by superadmins only. Deactivate with is_active=false."""

from __future__ import annotations

from accounts.models import User
from accounts.rbac import IsSuperadmin, acting_user
from cameras.models import Camera, CameraStatus
from django.db.models import Count, Q, QuerySet
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import BaseSerializer

from tenancy import services
from tenancy.api.serializers import TenantSerializer
from tenancy.models import Tenant


class TenantViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    serializer_class = TenantSerializer
    permission_classes = [IsSuperadmin]
    filterset_fields = ["is_active", "slug"]
    search_fields = ["name", "slug"]
    ordering_fields = ["name", "slug", "created_at"]
    ordering = ["name"]

    def get_queryset(self) -> QuerySet[Tenant]:
        return Tenant.objects.all()

    def perform_create(self, serializer: BaseSerializer[Tenant]) -> None:
        serializer.instance = services.create_tenant(
            data=dict(serializer.validated_data), actor=acting_user(self.request),
            request=self.request,
        )

    def perform_update(self, serializer: BaseSerializer[Tenant]) -> None:
        assert serializer.instance is not None
        serializer.instance = services.update_tenant(
            serializer.instance, changes=dict(serializer.validated_data),
            actor=acting_user(self.request), request=self.request,
        )

    @extend_schema(
        summary="What the prefeitura uses: cameras (not decommissioned) and users",
        responses=inline_serializer("TenantUsage", {
            "tenant": serializers.UUIDField(), "cameras": serializers.IntegerField(),
            "cameras_active": serializers.IntegerField(), "lpr_cameras": serializers.IntegerField(),
            "users": serializers.IntegerField(), "users_active": serializers.IntegerField(),
        }),
    )
    @action(detail=True, methods=["get"], url_path="usage")
    def usage(self, request: Request, pk: str | None = None) -> Response:
        tenant = self.get_object()
        cameras = Camera.objects.filter(tenant=tenant).aggregate(
            cameras=Count("id"),
            cameras_active=Count("id", filter=Q(status=CameraStatus.ACTIVE)),
            lpr_cameras=Count("id", filter=Q(lpr_enabled=True)),
        )
        users = User.objects.filter(tenant=tenant).aggregate(
            users=Count("id"), users_active=Count("id", filter=Q(is_active=True)))
        return Response({"tenant": str(tenant.id), **cameras, **users})
