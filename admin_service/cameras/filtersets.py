from __future__ import annotations

import django_filters

from cameras.models import Camera, Location, Zone


class CameraFilter(django_filters.FilterSet):
    name = django_filters.CharFilter(lookup_expr="icontains")

    class Meta:
        model = Camera
        fields = ["name", "tenant", "location", "zone", "status", "recording_mode", "lpr_enabled"]


class LocationFilter(django_filters.FilterSet):
    name = django_filters.CharFilter(lookup_expr="icontains")

    class Meta:
        model = Location
        fields = ["name", "tenant"]


class ZoneFilter(django_filters.FilterSet):
    name = django_filters.CharFilter(lookup_expr="icontains")

    class Meta:
        model = Zone
        fields = ["name", "tenant", "location"]
