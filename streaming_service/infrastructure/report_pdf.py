"""Report documents as PDF (reportlab): A4, the title and period, the headline figures,
then each table with a repeated header row; long tables flow onto further pages."""

from __future__ import annotations

import io

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from streaming_service.domain.report_document import ReportDocument

_TABLE_STYLE = TableStyle([
    ("FONT", (0, 0), (-1, 0), "Helvetica-Bold", 9),
    ("FONT", (0, 1), (-1, -1), "Helvetica", 9),
    ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8edf3")),
    ("LINEBELOW", (0, 0), (-1, 0), 0.5, colors.HexColor("#7a8899")),
    ("ROWBACKGROUNDS", (0, 1), (-1, -1), [colors.white, colors.HexColor("#f7f9fb")]),
    ("VALIGN", (0, 0), (-1, -1), "TOP"),
])


class ReportlabPdfRenderer:
    media_type = "application/pdf"

    def render(self, document: ReportDocument) -> bytes:
        styles = getSampleStyleSheet()
        buffer = io.BytesIO()
        pdf = SimpleDocTemplate(buffer, pagesize=A4, title=document.title,
                                author="GT-Vision", leftMargin=15 * mm, rightMargin=15 * mm,
                                topMargin=15 * mm, bottomMargin=15 * mm)
        story: list[object] = [Paragraph(_escape(document.title), styles["Title"]),
                               Paragraph(_escape(document.subtitle), styles["Normal"]),
                               Spacer(1, 6 * mm)]
        if document.figures:
            story.append(_table(("", ""), document.figures, header=False))
            story.append(Spacer(1, 6 * mm))
        for section in document.tables:
            story.append(Paragraph(_escape(section.heading), styles["Heading2"]))
            story.append(_table(section.columns, section.rows, header=True))
            story.append(Spacer(1, 4 * mm))
        pdf.build(story)
        return buffer.getvalue()


def _table(columns: tuple[str, ...], rows: tuple[tuple[str, ...], ...], *,
           header: bool) -> Table:
    data = [list(columns), *[list(r) for r in rows]] if header else [list(r) for r in rows]
    table = Table(data or [[""]], repeatRows=1 if header else 0, hAlign="LEFT")
    table.setStyle(_TABLE_STYLE if header else TableStyle([
        ("FONT", (0, 0), (0, -1), "Helvetica-Bold", 10),
        ("FONT", (1, 0), (1, -1), "Helvetica", 10)]))
    return table


def _escape(value: str) -> str:
    """Paragraph text is a small markup language: keep user text (camera names) literal."""
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
