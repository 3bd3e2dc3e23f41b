"""Django admin for cameras, locations and zones.

The camera URL is never shown in clear: the list and the form show the masked URL; a
write-only field sets a new one. Every save goes through ``cameras.services`` so the
audit log and the outbox see admin changes exactly like API changes.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest

from cameras import services
from cameras.models import Camera, Location, Zone

_CAMERA_FIELDS = ("name", "location", "zone", "latitude", "longitude", "recording_mode",
                  "retention_days", "lpr_enabled", "status", "metadata")


class CameraAdminForm(forms.ModelForm):  # type: ignore[type-arg]
    new_rtsp_url = forms.CharField(
        label="RTSP URL",
        required=False,
        max_length=2048,
        strip=True,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off",
                                                              "size": 80}),
        help_text="Write-only. Leave empty to keep the current URL. Stored encrypted.",
    )

    class Meta:
        model = Camera
        fields = ["tenant", *_CAMERA_FIELDS]

    def clean_new_rtsp_url(self) -> str:
        value: str = self.cleaned_data.get("new_rtsp_url", "")
        if not value:
            if self.instance._state.adding:
                raise forms.ValidationError("A new camera needs an RTSP URL.")
            return ""
        try:
            return services.check_rtsp_url(value)
        except ValidationError as exc:
            # The service names its field rtsp_url; the form's field is this one.
            raise forms.ValidationError(exc.error_dict["rtsp_url"]) from None

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        return _same_tenant(self, data, "location", "zone")


def _same_tenant(form: forms.ModelForm, data: dict[str, Any], *names: str) -> dict[str, Any]:  # type: ignore[type-arg]
    tenant = data.get("tenant") or getattr(form.instance, "tenant", None)
    errors = services.same_tenant_errors(tenant.pk if tenant is not None else None,
                                         **{name: data.get(name) for name in names})
    for name, messages in errors.items():
        form.add_error(name, messages)
    return data


class ZoneAdminForm(forms.ModelForm):  # type: ignore[type-arg]
    class Meta:
        model = Zone
        fields = ["tenant", "name", "description", "location", "geometry"]

    def clean(self) -> dict[str, Any]:
        return _same_tenant(self, super().clean(), "location")


@admin.register(Camera)
class CameraAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    form = CameraAdminForm
    list_display = ["name", "tenant", "status", "rtsp_url_masked", "recording_mode",
                    "lpr_enabled", "retention_days", "location", "zone", "revision"]
    list_filter = ["tenant", "status", "recording_mode", "lpr_enabled"]
    search_fields = ["name", "tenant__name", "location__name", "zone__name"]
    list_select_related = ["tenant", "location", "zone"]
    readonly_fields = ["id", "rtsp_url_masked", "revision", "created_at", "updated_at"]
    fieldsets = (
        (None, {"fields": ("id", "tenant", "name", "status")}),
        ("Stream", {"fields": ("rtsp_url_masked", "new_rtsp_url", "recording_mode",
                               "retention_days", "lpr_enabled")}),
        ("Place", {"fields": ("location", "zone", "latitude", "longitude")}),
        ("Other", {"fields": ("metadata", "revision", "created_at", "updated_at")}),
    )

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        fields = list(super().get_readonly_fields(request, obj))
        return [*fields, "tenant"] if obj is not None else fields

    def save_model(self, request: HttpRequest, obj: Camera, form: Any, change: bool) -> None:
        data = {f: form.cleaned_data[f] for f in _CAMERA_FIELDS if f in form.cleaned_data}
        url = form.cleaned_data.get("new_rtsp_url")
        if url:
            data["rtsp_url"] = url
        if change:
            fresh = Camera.objects.get(pk=obj.pk)
            saved = services.update_camera(fresh, changes=data, actor=request.user,
                                           request=request)
        else:
            saved = services.register_camera(tenant=form.cleaned_data["tenant"], data=data,
                                             actor=request.user, request=request)
        obj.pk = saved.pk
        obj._state.adding = False

    def delete_model(self, request: HttpRequest, obj: Camera) -> None:
        services.decommission_camera(obj, actor=request.user, request=request)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Camera]) -> None:
        for camera in queryset:
            services.decommission_camera(camera, actor=request.user, request=request)


class _PlaceAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    readonly_fields = ["id", "created_at", "updated_at"]
    list_filter = ["tenant"]
    search_fields = ["name", "tenant__name"]
    list_select_related = ["tenant"]
    editable: tuple[str, ...] = ()

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        data = {f: form.cleaned_data[f] for f in self.editable if f in form.cleaned_data}
        if change:
            fresh = type(obj).objects.get(pk=obj.pk)
            saved = services.update_place(fresh, changes=data, actor=request.user,
                                          request=request)
        else:
            saved = services.create_place(type(obj), tenant=form.cleaned_data["tenant"],
                                          data=data, actor=request.user, request=request)
        obj.pk = saved.pk
        obj._state.adding = False

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        services.delete_place(obj, actor=request.user, request=request)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        for obj in queryset:
            services.delete_place(obj, actor=request.user, request=request)


@admin.register(Location)
class LocationAdmin(_PlaceAdmin):
    list_display = ["name", "tenant", "address", "latitude", "longitude"]
    editable = ("name", "address", "latitude", "longitude")


@admin.register(Zone)
class ZoneAdmin(_PlaceAdmin):
    form = ZoneAdminForm
    list_display = ["name", "tenant", "location"]
    list_select_related = ["tenant", "location"]
    editable = ("name", "description", "location")
