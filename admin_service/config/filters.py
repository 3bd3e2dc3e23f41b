"""Query-string filters (django-filter) that refuse what they cannot read.

django-filter's boolean filter reads ``?lpr_enabled=perhaps`` as "no filter" and answers
the whole list; here a boolean is ``true``/``false`` (or ``1``/``0``) and anything else
is a 400 in the API's error shape, like every other filter value it cannot parse.
"""

from __future__ import annotations

from typing import Any

import django_filters
import django_filters.rest_framework
from django import forms
from django.db import models
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


class FilterSet(django_filters.rest_framework.FilterSet):
    """Base of every filterset of the service (model booleans become strict)."""

    FILTER_DEFAULTS = {
        **django_filters.rest_framework.FilterSet.FILTER_DEFAULTS,
        models.BooleanField: {"filter_class": StrictBooleanFilter},
    }


class FilterBackend(DjangoFilterBackend):
    """Also used for views declaring only ``filterset_fields``."""

    filterset_base = FilterSet
