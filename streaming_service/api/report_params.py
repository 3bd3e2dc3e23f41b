"""The query parameters every report shares: a time range (default: the last 7 days, at
most ``MAX_SPAN``), read once here so each report answers a bad range the same way."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import Depends, Query
from pydantic import AwareDatetime

from streaming_service.api.errors import ApiError
from streaming_service.application.reports import InvalidReportRange, ReportRange

DEFAULT_SPAN = timedelta(days=7)
MAX_SPAN = timedelta(days=400)


def report_range(
    start: Annotated[AwareDatetime | None, Query(
        description="Inclusive, ISO 8601 with an offset; default: 7 days before end")] = None,
    end: Annotated[AwareDatetime | None, Query(
        description="Exclusive, ISO 8601 with an offset; default: now")] = None,
) -> ReportRange:
    try:
        return ReportRange.of(start, end, now=datetime.now(UTC), default=DEFAULT_SPAN,
                              max_span=MAX_SPAN)
    except InvalidReportRange as exc:
        raise ApiError(400, "validation_error", str(exc),
                       {"errors": [{"loc": ["query", "start"], "msg": str(exc)}]}) from exc


RangeDep = Annotated[ReportRange, Depends(report_range)]
