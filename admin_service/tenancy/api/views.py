"""Prefeituras (tenants): managed by superadmins only. Deactivate with is_active=false."""

from __future__ import annotations

from accounts.rbac import IsSuperadmin, acting_user
from django.db.models import QuerySet
from rest_framework import mixins, viewsets
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
