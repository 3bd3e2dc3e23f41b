from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.forms import ModelForm
from django.http import HttpRequest

from tenancy import services
from tenancy.models import Tenant


@admin.register(Tenant)
class TenantAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ["name", "slug", "timezone", "is_active", "created_at"]
    list_filter = ["is_active", "timezone"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ("name",)}
    readonly_fields = ["id", "created_at", "updated_at"]
    ordering = ["name"]

    def save_model(self, request: HttpRequest, obj: Tenant, form: ModelForm, change: bool) -> None:
        data = {f: form.cleaned_data[f] for f in form.changed_data if f in form.cleaned_data}
        if change:
            fresh = Tenant.objects.get(pk=obj.pk)
            services.update_tenant(fresh, changes=data, actor=request.user, request=request)
        else:
            data = {f: getattr(obj, f) for f in ("name", "slug", "timezone", "is_active")}
            created = services.create_tenant(data=data, actor=request.user, request=request)
            obj.pk = created.pk
            obj._state.adding = False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # deactivate instead: cameras, users and the audit log refer to it
