"""Shared REST building blocks: pagination and strict serializers.

Strict means: a request body may only carry fields the client is allowed to write
(anything else is a 400, never silently ignored), and JSON types are not coerced
("12" is not an integer, 1 is not a boolean).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from django.db import models
from rest_framework import serializers
from rest_framework.pagination import PageNumberPagination


class Pagination(PageNumberPagination):
    page_size = 25
    page_size_query_param = "page_size"
    max_page_size = 200


class StrictCharField(serializers.CharField):
    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictIntegerField(serializers.IntegerField):
    def to_internal_value(self, data: Any) -> int:
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictFloatField(serializers.FloatField):
    def to_internal_value(self, data: Any) -> float:
        if isinstance(data, bool) or not isinstance(data, (int, float)):
            self.fail("invalid")
        if not math.isfinite(data):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictBooleanField(serializers.BooleanField):
    default_error_messages = {"invalid": "Must be true or false."}

    def to_internal_value(self, data: Any) -> bool:
        if not isinstance(data, bool):
            self.fail("invalid")
        return data


class StrictChoiceField(serializers.ChoiceField):
    def to_internal_value(self, data: Any) -> Any:
        if not isinstance(data, str):
            self.fail("invalid_choice", input=data)
        return super().to_internal_value(data)


class StrictSlugField(serializers.SlugField):
    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictModelSerializer(serializers.ModelSerializer):
    """ModelSerializer that rejects unknown/read-only keys and coerces no JSON types."""

    serializer_field_mapping = {
        **serializers.ModelSerializer.serializer_field_mapping,
        models.CharField: StrictCharField,
        models.TextField: StrictCharField,
        models.SlugField: StrictSlugField,
        models.IntegerField: StrictIntegerField,
        models.PositiveIntegerField: StrictIntegerField,
        models.FloatField: StrictFloatField,
        models.BooleanField: StrictBooleanField,
    }
    serializer_choice_field = StrictChoiceField

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, Mapping):
            reject_unknown_fields(self, data)
        return super().to_internal_value(data)


def reject_unknown_fields(serializer: serializers.Serializer, data: Mapping[str, Any]) -> None:
    writable = {name for name, field in serializer.fields.items() if not field.read_only}
    errors: dict[str, list[str]] = {}
    for key in data:
        if key in writable:
            continue
        if key in serializer.fields:
            errors[str(key)] = ["This field is read-only."]
        else:
            errors[str(key)] = ["Unknown field."]
    if errors:
        raise serializers.ValidationError(errors)


class StrictSerializer(serializers.Serializer):
    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, Mapping):
            reject_unknown_fields(self, data)
        return super().to_internal_value(data)
