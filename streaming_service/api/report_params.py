"""The query parameters every report shares: a time range (default: the last 7 days, at
most ``MAX_SPAN``), read once here so each report answers a bad range the same way; and
the export format (``format=pdf``, in ``lang``) with the PDF answer."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Literal

from fastapi import Depends, Query, Response

from streaming_service.api.errors import ApiError
from streaming_service.api.validation import Instant
from streaming_service.application.report_documents import Language
from streaming_service.application.reports import InvalidReportRange, ReportRange
from streaming_service.domain.ports import ReportRenderer
from streaming_service.domain.report_document import ReportDocument

DEFAULT_SPAN = timedelta(days=7)
MAX_SPAN = timedelta(days=400)


async def report_range(
    start: Annotated[Instant | None, Query(
        description="Inclusive, ISO 8601 with an offset; default: 7 days before end")] = None,
    end: Annotated[Instant | None, Query(
        description="Exclusive, ISO 8601 with an offset; default: now")] = None,
) -> ReportRange:
    try:
        return ReportRange.of(start, end, now=datetime.now(UTC), default=DEFAULT_SPAN,
                              max_span=MAX_SPAN)
    except InvalidReportRange as exc:
        raise ApiError(400, "validation_error", str(exc),
                       {"errors": [{"loc": ["query", "start"], "msg": str(exc)}]}) from exc


RangeDep = Annotated[ReportRange, Depends(report_range)]


ExportFormat = Annotated[Literal["json", "pdf"], Query(
    alias="format", description="json (default) or pdf: the same report as a document")]
ExportLanguage = Annotated[Language, Query(description="The PDF's language")]

#: The OpenAPI entry of a report that can answer a PDF.
PDF_RESPONSE: dict[int | str, dict[str, object]] = {
    200: {"content": {"application/pdf": {}}, "description": "JSON, or the PDF with format=pdf"}}


def pdf_response(renderer: ReportRenderer, document: ReportDocument, name: str,
                 period: ReportRange) -> Response:
    filename = f"{name}-{period.start:%Y%m%d}-{period.end:%Y%m%d}.pdf"
    return Response(renderer.render(document), media_type=renderer.media_type,
                    headers={"Content-Disposition": f'attachment; filename="{filename}"',
                             "Cache-Control": "no-store"})
