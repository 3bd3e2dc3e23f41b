"""A report as a document to print: a title, the period, headline figures and tables of
text cells. The reports' use cases fill it; a renderer (``ports.ReportRenderer``) turns
it into a file (PDF)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class ReportTable:
    heading: str
    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]


@dataclass(frozen=True)
class ReportDocument:
    title: str
    subtitle: str
    figures: tuple[tuple[str, str], ...] = ()
    tables: tuple[ReportTable, ...] = field(default_factory=tuple)
