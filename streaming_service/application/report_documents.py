"""Each report as a printable document (the PDF export), in English or pt-BR: the same
numbers the JSON answer carries, laid out as headline figures and tables."""

from __future__ import annotations

import uuid
from typing import Literal

from streaming_service.application.reports import (
    AlertsReport,
    AvailabilityReport,
    PlatesReport,
    ReportRange,
    TrafficReport,
)
from streaming_service.domain.report_document import ReportDocument, ReportTable

Language = Literal["en", "pt-BR"]

_LABELS: dict[str, dict[Language, str]] = {
    "traffic": {"en": "Traffic (plate reads)", "pt-BR": "Tráfego (leituras de placas)"},
    "plates": {"en": "Unique vs recurring plates", "pt-BR": "Placas únicas e recorrentes"},
    "alerts": {"en": "Alerts", "pt-BR": "Alertas"},
    "availability": {"en": "Stream availability and storage",
                     "pt-BR": "Disponibilidade e armazenamento"},
    "period": {"en": "Period", "pt-BR": "Período"},
    "timezone": {"en": "time zone", "pt-BR": "fuso horário"},
    "total_reads": {"en": "Total reads", "pt-BR": "Total de leituras"},
    "distinct": {"en": "Distinct plates", "pt-BR": "Placas distintas"},
    "single": {"en": "Read once", "pt-BR": "Lidas uma vez"},
    "recurring": {"en": "Recurring (read more than once)",
                  "pt-BR": "Recorrentes (lidas mais de uma vez)"},
    "busiest": {"en": "Busiest cameras", "pt-BR": "Câmeras mais movimentadas"},
    "series": {"en": "Reads per", "pt-BR": "Leituras por"},
    "hour": {"en": "hour", "pt-BR": "hora"},
    "day": {"en": "day", "pt-BR": "dia"},
    "week": {"en": "week", "pt-BR": "semana"},
    "camera": {"en": "Camera", "pt-BR": "Câmera"},
    "reads": {"en": "Reads", "pt-BR": "Leituras"},
    "start": {"en": "Start (local)", "pt-BR": "Início (local)"},
    "total_alerts": {"en": "Alerts", "pt-BR": "Alertas"},
    "acknowledged": {"en": "Acknowledged", "pt-BR": "Reconhecidos"},
    "ack_median": {"en": "Time to acknowledge, median (s)",
                   "pt-BR": "Tempo até reconhecer, mediana (s)"},
    "ack_p90": {"en": "Time to acknowledge, p90 (s)", "pt-BR": "Tempo até reconhecer, p90 (s)"},
    "unacked": {"en": "Unacknowledged now", "pt-BR": "Não reconhecidos agora"},
    "by_severity": {"en": "By severity", "pt-BR": "Por severidade"},
    "severity": {"en": "Severity", "pt-BR": "Severidade"},
    "by_watchlist": {"en": "By watchlist", "pt-BR": "Por lista de monitoramento"},
    "watchlist": {"en": "Watchlist", "pt-BR": "Lista"},
    "count": {"en": "Count", "pt-BR": "Quantidade"},
    "recording_hours": {"en": "Recorded hours", "pt-BR": "Horas gravadas"},
    "storage": {"en": "Storage (GB)", "pt-BR": "Armazenamento (GB)"},
    "cameras": {"en": "Cameras", "pt-BR": "Câmeras"},
    "uptime": {"en": "Uptime %", "pt-BR": "Disponibilidade %"},
    "outages": {"en": "Outages", "pt-BR": "Quedas"},
    "retention": {"en": "Retention (days)", "pt-BR": "Retenção (dias)"},
}


def _t(key: str, lang: Language) -> str:
    return _LABELS[key][lang]


def _subtitle(period: ReportRange, timezone: str, lang: Language) -> str:
    return (f"{_t('period', lang)}: {period.start.isoformat()} - {period.end.isoformat()} "
            f"({_t('timezone', lang)} {timezone})")


def _number(value: float | int | None) -> str:
    if value is None:
        return "-"
    return f"{value:,}" if isinstance(value, int) else f"{value:,.2f}"


def traffic_document(report: TrafficReport, period: ReportRange,
                     lang: Language) -> ReportDocument:
    def name(camera_id: uuid.UUID) -> str:
        return report.camera_names.get(camera_id, str(camera_id))

    return ReportDocument(
        title=_t("traffic", lang), subtitle=_subtitle(period, report.timezone, lang),
        figures=((_t("total_reads", lang), _number(report.total_reads)),),
        tables=(
            ReportTable(_t("busiest", lang), (_t("camera", lang), _t("reads", lang)),
                        tuple((c["camera_name"] or str(c["camera_id"]), _number(c["reads"]))
                              for c in report.busiest)),
            ReportTable(f"{_t('series', lang)} {_t(report.bucket, lang)}",
                        (_t("start", lang), _t("camera", lang), _t("reads", lang)),
                        tuple((p["bucket_start"].replace("T", " "), name(p["camera_id"]),
                               _number(p["reads"])) for p in report.series)),
        ))


def plates_document(report: PlatesReport, period: ReportRange,
                    lang: Language) -> ReportDocument:
    return ReportDocument(
        title=_t("plates", lang), subtitle=_subtitle(period, report.timezone, lang),
        figures=((_t("total_reads", lang), _number(report.total_reads)),
                 (_t("distinct", lang), _number(report.distinct_plates)),
                 (_t("single", lang), _number(report.single_read_plates)),
                 (_t("recurring", lang), _number(report.recurring_plates))))


def alerts_document(report: AlertsReport, period: ReportRange,
                    lang: Language) -> ReportDocument:
    return ReportDocument(
        title=_t("alerts", lang), subtitle=_subtitle(period, report.timezone, lang),
        figures=((_t("total_alerts", lang), _number(report.total)),
                 (_t("acknowledged", lang), _number(report.acknowledged)),
                 (_t("ack_median", lang), _number(report.ack_median_seconds)),
                 (_t("ack_p90", lang), _number(report.ack_p90_seconds)),
                 (_t("unacked", lang), _number(report.unacknowledged_now))),
        tables=(
            ReportTable(_t("by_severity", lang), (_t("severity", lang), _t("count", lang)),
                        tuple((s["severity"], _number(s["count"])) for s in report.by_severity)),
            ReportTable(_t("by_watchlist", lang), (_t("watchlist", lang), _t("count", lang)),
                        tuple((w["watchlist_name"] or "-", _number(w["count"]))
                              for w in report.by_watchlist)),
        ))


def availability_document(report: AvailabilityReport, period: ReportRange,
                          lang: Language) -> ReportDocument:
    return ReportDocument(
        title=_t("availability", lang), subtitle=_subtitle(period, report.timezone, lang),
        figures=((_t("recording_hours", lang), _number(report.recording_hours_total)),
                 (_t("storage", lang), _number(report.storage_bytes_total / 1e9))),
        tables=(ReportTable(
            _t("cameras", lang),
            (_t("camera", lang), _t("uptime", lang), _t("outages", lang),
             _t("recording_hours", lang), _t("storage", lang), _t("retention", lang)),
            tuple((c["name"], _number(c["uptime_pct"]), _number(c["outages"]),
                   _number(c["recording_hours"]), _number(c["storage_bytes"] / 1e9),
                   _number(c["retention_days"])) for c in report.cameras)),))
