from __future__ import annotations

import django_filters
from config.filters import FilterSet

from cameras.models import Camera, Location, Zone


class CameraFilter(FilterSet):
    name = django_filters.CharFilter(lookup_expr="icontains")

    class Meta:
        model = Camera
        fields = ["name", "tenant", "location", "zone", "status", "recording_mode", "lpr_enabled"]


class LocationFilter(FilterSet):
    name = django_filters.CharFilter(lookup_expr="icontains")

    class Meta:
        model = Location
        fields = ["name", "tenant"]


class ZoneFilter(FilterSet):
    name = django_filters.CharFilter(lookup_expr="icontains")

    class Meta:
        model = Zone
        fields = ["name", "tenant", "location"]
