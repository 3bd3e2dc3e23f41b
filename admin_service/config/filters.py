"""Query-string filters (django-filter) that refuse what they cannot read.

django-filter's boolean filter reads ``?lpr_enabled=perhaps`` as "no filter" and answers
the whole list; here a boolean is ``true``/``false`` (or ``1``/``0``) and anything else
is a 400 in the API's error shape, like every other filter value it cannot parse.

Date-times are converted to UTC before they reach a query: Python accepts offsets up to
±23:59 (``2949-02-05T03:22:55+19:07``) that PostgreSQL refuses ("time zone displacement
out of range", a 500), and a date at the very edge of the calendar with an offset is not
a representable instant at all (a 400 here).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import django_filters
import django_filters.rest_framework
from django import forms
from django.db import models
from django_filters.fields import IsoDateTimeField
from django_filters.rest_framework import DjangoFilterBackend

_TRUE = frozenset({"true", "1"})
_FALSE = frozenset({"false", "0"})


class StrictBooleanField(forms.Field):
    widget = forms.TextInput
    default_error_messages = {"invalid": "Must be true or false."}

    def to_python(self, value: Any) -> bool | None:
        if value in (None, ""):
            return None
        text = str(value).strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        raise forms.ValidationError(self.error_messages["invalid"], code="invalid")


class StrictBooleanFilter(django_filters.BooleanFilter):
    field_class = StrictBooleanField


class UtcDateTimeField(IsoDateTimeField):
    default_error_messages = {"out_of_range": "Not a representable instant."}

    def to_python(self, value: Any) -> datetime | None:
        parsed: datetime | None = super().to_python(value)
        if parsed is None:
            return None
        try:
            return parsed.astimezone(UTC)
        except OverflowError as exc:
            raise forms.ValidationError(self.error_messages["out_of_range"],
                                        code="out_of_range") from exc


class UtcDateTimeFilter(django_filters.IsoDateTimeFilter):
    """ISO 8601 date-time (an offset, or UTC when it has none), queried in UTC."""

    field_class = UtcDateTimeField


class FilterSet(django_filters.rest_framework.FilterSet):
    """Base of every filterset of the service (model booleans become strict).

    A filter on a related object (``?location=<id>``) compares ids and nothing more.
    django-filter's default checks the id against every row of the related table, so an
    id of another tenant's location answered an empty list and an unknown one a 400:
    the difference told a caller which ids exist elsewhere. Both are an empty list now.
    """

    FILTER_DEFAULTS = {
        **django_filters.rest_framework.FilterSet.FILTER_DEFAULTS,
        models.BooleanField: {"filter_class": StrictBooleanFilter},
        models.DateTimeField: {"filter_class": UtcDateTimeFilter},
        models.ForeignKey: {"filter_class": django_filters.UUIDFilter},
        models.OneToOneField: {"filter_class": django_filters.UUIDFilter},
    }


class FilterBackend(DjangoFilterBackend):
    """Also used for views declaring only ``filterset_fields``."""

    filterset_base = FilterSet
