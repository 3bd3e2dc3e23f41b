"""Shared REST building blocks: pagination and strict serializers.

Strict means: a request body may only carry fields the client is allowed to write
(anything else is a 400, never silently ignored), JSON types are not coerced
("12" is not an integer, 1 is not a boolean), and text holds no control characters
(``shared_kernel.text``; a one-line field no line breaks either).

Pagination follows ``shared_kernel.pagination``, the rule the streaming service shares:
``?page=`` from 1 to ``MAX_PAGE`` and ``?page_size=`` of at least 1 (else a 400 naming
the parameter; ``page_size`` above the maximum is clamped), a page past the end is a 404.
Responses have the one list shape of both services: DRF's ``count``/``next``/``previous``/
``results`` plus the ``page`` and ``page_size`` actually served.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from django.db import models
from django.db.models import QuerySet
from rest_framework import serializers
from rest_framework.pagination import PageNumberPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from shared_kernel.pagination import MAX_PAGE, InvalidPageRequest, PageRequest
from shared_kernel.text import forbidden_character, message_for


class Pagination(PageNumberPagination):
    page_size = 25
    page_size_query_param = "page_size"
    max_page_size = 200
    # Only a page past the end is left for DRF to refuse (the rest is checked first).
    invalid_page_message = "Page {page_number} is past the end of the list."

    def paginate_queryset(
        self, queryset: QuerySet[Any], request: Request, view: APIView | None = None
    ) -> list[Any] | None:
        page = request.query_params.get(self.page_query_param)
        try:
            PageRequest.parse(
                None if page in self.last_page_strings else page,
                request.query_params.get(self.page_size_query_param),
                default_size=self.page_size, max_size=self.max_page_size,
            )
        except InvalidPageRequest as exc:
            raise serializers.ValidationError({exc.field: [exc.message]}) from exc
        return super().paginate_queryset(queryset, request, view)

    def get_paginated_response(self, data: Any) -> Response:
        page = self.page
        assert page is not None
        return Response({
            "count": page.paginator.count,
            "page": page.number,
            "page_size": page.paginator.per_page,
            "next": self.get_next_link(),
            "previous": self.get_previous_link(),
            "results": data,
        })

    def get_paginated_response_schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        envelope: dict[str, Any] = super().get_paginated_response_schema(schema)
        envelope["required"] = ["count", "page", "page_size", "next", "previous", "results"]
        envelope["properties"] = {
            "count": envelope["properties"]["count"],
            "page": {"type": "integer", "example": 1},
            "page_size": {"type": "integer", "example": self.page_size},
            **{k: v for k, v in envelope["properties"].items() if k != "count"},
        }
        return envelope

    def get_schema_operation_parameters(self, view: APIView) -> list[dict[str, Any]]:
        parameters: list[dict[str, Any]] = super().get_schema_operation_parameters(view)
        bounds = {self.page_query_param: {"minimum": 1, "maximum": MAX_PAGE},
                  self.page_size_query_param: {"minimum": 1}}
        for parameter in parameters:
            parameter["schema"] = {**parameter.get("schema", {}),
                                   **bounds.get(parameter["name"], {})}
        return parameters


class StrictCharField(serializers.CharField):
    """A JSON string; ``one_line`` (the default) also refuses tabs and line breaks."""

    default_error_messages = {
        "control_characters": message_for(one_line=False),
        "control_characters_one_line": message_for(one_line=True),
    }

    def __init__(self, *, one_line: bool = True, **kwargs: Any) -> None:
        self.one_line = one_line
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        if forbidden_character(data, one_line=self.one_line) is not None:
            self.fail("control_characters_one_line" if self.one_line else "control_characters")
        return str(super().to_internal_value(data))


class StrictTextField(StrictCharField):
    """Text of several lines (descriptions): tabs and line breaks are fine."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("one_line", False)
        super().__init__(**kwargs)


class StrictIntegerField(serializers.IntegerField):
    def to_internal_value(self, data: Any) -> int:
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictFloatField(serializers.FloatField):
    def to_internal_value(self, data: Any) -> float:
        if isinstance(data, bool) or not isinstance(data, (int, float)):
            self.fail("invalid")
        try:
            value = float(data)
        except OverflowError:  # an integer of hundreds of digits
            self.fail("invalid")
        if not math.isfinite(value):
            self.fail("invalid")
        return super().to_internal_value(value)


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
        models.TextField: StrictTextField,
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
