"""URL map of the admin service (paths per SPEC §10)."""

from __future__ import annotations

from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularSwaggerView

from config import health
from config.openapi import CachedSchemaView

urlpatterns = [
    path("health", health.Health.as_view(), name="health"),
    path("ready", health.Ready.as_view(), name="ready"),
    path("metrics", health.Metrics.as_view(), name="metrics"),
    path("admin/", admin.site.urls),
    path("api/admin/", include("accounts.api.urls")),
    path("api/admin/", include("audit.api.urls")),
    path("api/cidades/", include("tenancy.api.urls")),
    path("api/cidades/", include("cameras.api.urls")),
    path("api/admin/schema/", CachedSchemaView.as_view(), name="schema"),
    path("api/admin/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="docs"),
]

handler400 = "config.exceptions.bad_request_view"
handler403 = "config.exceptions.permission_denied_view"
handler404 = "config.exceptions.not_found_view"
handler500 = "config.exceptions.server_error_view"
