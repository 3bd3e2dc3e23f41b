import { useCallback, useEffect, useMemo, useState, type FormEvent } from "react";
import { NavLink, Navigate, Route, Routes } from "react-router";
import { useAuth } from "../../auth/AuthContext";
import { formatDateTime, useI18n } from "../../i18n/i18n";
import type { MessageKey } from "../../i18n/messages";
import {
  ReportsApi,
  toCsv,
  type AlertsReport,
  type AvailabilityReport,
  type PdfReport,
  type PlateRead,
  type PlatesReport,
  type ReportBucket,
  type ReportRange,
  type TrafficReport,
} from "../../api/reports";
import { downloadBlob, downloadText, type Tenant } from "../../api/console";
import { ErrorNote } from "../../components/ErrorNote";
import { Chart, type Dataset } from "../../components/Chart";
import { formatBytes, useConsole } from "../admin/common";
import { isoUtc, zonedDay, zonedToUtc } from "../../lib/time";
import { heatmapGrid, seriesByCamera } from "./shape";
import { PlateMap } from "./PlateMap";

const DAY_MS = 86_400_000;

interface Scope {
  api: ReportsApi;
  range: ReportRange;
  timeZone: string;
}

/** Reports (operator and above): one page per report, a shared period and, for a
 * superadmin, the prefeitura to look at. */
export function ReportsPage() {
  const { client, me, timeZone } = useAuth();
  const consoleApi = useConsole();
  const { t } = useI18n();
  const superadmin = me?.is_superadmin ?? false;
  const today = zonedDay(new Date(), timeZone);
  const weekAgo = zonedDay(new Date(Date.now() - 6 * DAY_MS), timeZone);
  const [fromDay, setFromDay] = useState(weekAgo);
  const [toDay, setToDay] = useState(today);
  const [range, setRange] = useState<ReportRange>(() => dayRange(weekAgo, today, timeZone));
  const [tenants, setTenants] = useState<Tenant[]>([]);
  const [tenantId, setTenantId] = useState<string | null>(null);

  useEffect(() => {
    if (!superadmin) return;
    void consoleApi
      .tenants()
      .then((list) => {
        setTenants(list);
        setTenantId((cur) => cur ?? list[0]?.id ?? null);
      })
      .catch(() => undefined);
  }, [consoleApi, superadmin]);

  const tenantZone = superadmin ? (tenants.find((x) => x.id === tenantId)?.timezone ?? timeZone) : timeZone;
  const api = useMemo(() => new ReportsApi(client, superadmin ? tenantId : null), [client, superadmin, tenantId]);
  const scope: Scope = { api, range, timeZone: tenantZone };

  function apply(event: FormEvent) {
    event.preventDefault();
    setRange(dayRange(fromDay, toDay, tenantZone));
  }

  return (
    <section className="reports">
      <h1>{t("reports.title")}</h1>
      <nav className="console-nav">
        <NavLink to="/reports/traffic">{t("reports.traffic")}</NavLink>
        <NavLink to="/reports/alerts">{t("reports.alerts")}</NavLink>
        <NavLink to="/reports/availability">{t("reports.availability")}</NavLink>
        <NavLink to="/reports/plates">{t("reports.plateHistory")}</NavLink>
      </nav>
      <form className="filters" onSubmit={apply} data-testid="report-range">
        {superadmin && (
          <label className="field">
            <span>{t("reports.pickTenant")}</span>
            <select value={tenantId ?? ""} onChange={(e) => setTenantId(e.target.value || null)}>
              {tenants.map((x) => (
                <option key={x.id} value={x.id}>
                  {x.name}
                </option>
              ))}
            </select>
          </label>
        )}
        <label className="field">
          <span>{t("common.from")}</span>
          <input type="date" value={fromDay} onChange={(e) => setFromDay(e.target.value)} data-testid="report-from" />
        </label>
        <label className="field">
          <span>{t("common.to")}</span>
          <input type="date" value={toDay} onChange={(e) => setToDay(e.target.value)} data-testid="report-to" />
        </label>
        <button type="submit">{t("common.apply")}</button>
        <button type="button" className="secondary" onClick={() => window.print()} data-testid="report-print">
          {t("reports.print")}
        </button>
        <span className="muted small">{t("reports.timezone", { tz: tenantZone })}</span>
      </form>
      {superadmin && !tenantId ? (
        <p className="muted">{t("reports.pickTenant")}</p>
      ) : (
        <Routes>
          <Route index element={<Navigate to="traffic" replace />} />
          <Route path="traffic" element={<TrafficView scope={scope} />} />
          <Route path="alerts" element={<AlertsView scope={scope} />} />
          <Route path="availability" element={<AvailabilityView scope={scope} />} />
          <Route path="plates" element={<PlateHistoryView scope={scope} />} />
        </Routes>
      )}
    </section>
  );
}

/** Whole local days, from the first day's midnight to the midnight after the last. */
export function dayRange(fromDay: string, toDay: string, timeZone: string): ReportRange {
  const start = zonedToUtc(fromDay, "00:00", timeZone);
  const end = new Date(zonedToUtc(toDay, "00:00", timeZone).getTime() + DAY_MS);
  return { start: isoUtc(start), end: isoUtc(end) };
}

function useReport<T>(load: () => Promise<T>): { data: T | null; error: unknown; reload: () => void } {
  const [data, setData] = useState<T | null>(null);
  const [error, setError] = useState<unknown>(null);
  const run = useCallback(() => {
    setError(null);
    setData(null);
    load().then(setData, setError);
  }, [load]);
  useEffect(run, [run]);
  return { data, error, reload: run };
}

function Kpi({ label, value, testId }: { label: string; value: string | number; testId?: string }) {
  return (
    <div className="kpi" data-testid={testId}>
      <span className="muted small">{label}</span>
      <strong>{value}</strong>
    </div>
  );
}

function CsvButton({ name, make }: { name: string; make: () => string }) {
  const { t } = useI18n();
  return (
    <button type="button" className="secondary small" onClick={() => downloadText(`${name}.csv`, make())} data-testid="report-csv">
      {t("common.exportCsv")}
    </button>
  );
}

/** The report as a PDF made by the server, in the page's language. */
function PdfButton({ scope, report, name, extra, label = "reports.exportPdf" }: { scope: Scope; report: PdfReport; name: string; extra?: Record<string, string>; label?: MessageKey }) {
  const { t, locale } = useI18n();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const download = () => {
    setBusy(true);
    setError(null);
    scope.api
      .pdf(report, scope.range, locale, extra)
      .then((blob) => downloadBlob(`${name}.pdf`, blob), setError)
      .finally(() => setBusy(false));
  };
  return (
    <>
      <button type="button" className="secondary small" onClick={download} disabled={busy} data-testid={`report-pdf-${report}`}>
        {t(label)}
      </button>
      <ErrorNote error={error} />
    </>
  );
}

function TrafficView({ scope }: { scope: Scope }) {
  const { t } = useI18n();
  const { cameraName } = useAuth();
  const [bucket, setBucket] = useState<ReportBucket>("day");
  const load = useCallback(() => scope.api.traffic(scope.range, bucket), [scope.api, scope.range, bucket]);
  const { data, error, reload } = useReport<TrafficReport>(load);
  const [plates, setPlates] = useState<PlatesReport | null>(null);
  useEffect(() => {
    let live = true;
    setPlates(null);
    scope.api.plates(scope.range).then(
      (p) => live && setPlates(p),
      () => undefined,
    );
    return () => {
      live = false;
    };
  }, [scope.api, scope.range]);
  const series = useMemo(() => (data ? seriesByCamera(data, (id) => cameraName(id) ?? id.slice(0, 8)) : null), [data, cameraName]);
  const grid = useMemo(() => (data ? heatmapGrid(data.heatmap) : null), [data]);

  return (
    <div data-testid="report-traffic">
      <ErrorNote error={error} onRetry={reload} />
      <div className="filters">
        <label className="field">
          <span>{t("reports.bucket")}</span>
          <select value={bucket} onChange={(e) => setBucket(e.target.value as ReportBucket)} data-testid="report-bucket">
            {(["hour", "day", "week"] as const).map((b) => (
              <option key={b} value={b}>
                {t(`reports.bucket.${b}` as MessageKey)}
              </option>
            ))}
          </select>
        </label>
        {data && (
          <CsvButton
            name="trafego"
            make={() =>
              toCsv(
                ["bucket_start", "camera_id", "camera", "reads"],
                data.series.map((p) => [p.bucket_start, p.camera_id, cameraName(p.camera_id) ?? "", p.reads]),
              )
            }
          />
        )}
        {data && <PdfButton scope={scope} report="traffic" name="trafego" extra={{ bucket }} />}
        {data && <PdfButton scope={scope} report="plates" name="placas" label="reports.exportPlatesPdf" />}
      </div>
      {data === null && !error && <p className="muted">{t("common.loading")}</p>}
      {data && (
        <>
          <div className="kpis">
            <Kpi label={t("reports.totalReads")} value={data.total_reads} testId="kpi-reads" />
            <Kpi label={t("reports.uniquePlates")} value={plates ? plates.distinct_plates : "…"} testId="kpi-unique" />
            <Kpi label={t("reports.recurringPlates")} value={plates ? plates.recurring_plates : "…"} />
          </div>
          {data.total_reads === 0 && <p className="muted">{t("reports.noData")}</p>}
          <h2>{t("reports.readsOverTime")}</h2>
          {series && <Chart type="bar" stacked labels={series.labels} datasets={series.datasets} testId="chart-traffic" />}
          <h2>{t("reports.heatmap")}</h2>
          {grid && <Heatmap grid={grid} />}
          <h2>{t("reports.busiest")}</h2>
          <Chart
            type="bar"
            labels={data.busiest.map((b) => b.camera_name ?? b.camera_id.slice(0, 8))}
            datasets={[{ label: t("reports.reads"), data: data.busiest.map((b) => b.reads) }]}
            testId="chart-busiest"
          />
        </>
      )}
    </div>
  );
}

function Heatmap({ grid }: { grid: { cells: number[][]; max: number } }) {
  const { t } = useI18n();
  return (
    <table className="heatmap" data-testid="heatmap">
      <thead>
        <tr>
          <th />
          {Array.from({ length: 24 }, (_, h) => (
            <th key={h}>{h}</th>
          ))}
        </tr>
      </thead>
      <tbody>
        {grid.cells.map((row, weekday) => (
          <tr key={weekday}>
            <th>{t(`reports.weekday.${weekday}` as MessageKey)}</th>
            {row.map((value, hour) => {
              const share = grid.max ? value / grid.max : 0;
              return (
                <td key={hour} title={`${value}`} style={{ background: value ? `rgba(47,129,247,${0.15 + 0.85 * share})` : "transparent" }}>
                  {value || ""}
                </td>
              );
            })}
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function minutes(seconds: number | null): string {
  return seconds === null ? "—" : (seconds / 60).toFixed(1);
}

function AlertsView({ scope }: { scope: Scope }) {
  const { t } = useI18n();
  const load = useCallback(() => scope.api.alerts(scope.range), [scope.api, scope.range]);
  const { data, error, reload } = useReport<AlertsReport>(load);
  const severities = ["low", "medium", "high", "critical"];
  return (
    <div data-testid="report-alerts">
      <ErrorNote error={error} onRetry={reload} />
      {data === null && !error && <p className="muted">{t("common.loading")}</p>}
      {data && (
        <>
          <div className="filters">
            <CsvButton
              name="alertas"
              make={() =>
                toCsv(
                  ["kind", "key", "count"],
                  [
                    ...data.by_severity.map((s) => ["severity", s.severity, s.count]),
                    ...data.by_watchlist.map((w) => ["watchlist", w.watchlist_name ?? w.watchlist_id ?? "", w.count]),
                    ["ack_median_seconds", "", data.ack_median_seconds ?? ""],
                    ["ack_p90_seconds", "", data.ack_p90_seconds ?? ""],
                    ["unacknowledged_now", "", data.unacknowledged_now],
                  ],
                )
              }
            />
            <PdfButton scope={scope} report="alerts" name="alertas" />
          </div>
          <div className="kpis">
            <Kpi label={t("reports.totalAlerts")} value={data.total} testId="kpi-alerts" />
            <Kpi label={t("reports.unackedNow")} value={data.unacknowledged_now} />
            <Kpi label={t("reports.ackMedian")} value={t("reports.minutes", { value: minutes(data.ack_median_seconds) })} />
            <Kpi label={t("reports.ackP90")} value={t("reports.minutes", { value: minutes(data.ack_p90_seconds) })} />
          </div>
          <h2>{t("reports.bySeverity")}</h2>
          <Chart
            type="bar"
            labels={severities.map((s) => t(`severity.${s}` as MessageKey))}
            datasets={[{ label: t("reports.alerts"), data: severities.map((s) => data.by_severity.find((x) => x.severity === s)?.count ?? 0) }]}
            testId="chart-severity"
          />
          <h2>{t("reports.byWatchlist")}</h2>
          <table className="table">
            <tbody>
              {data.by_watchlist.map((w) => (
                <tr key={w.watchlist_id ?? "none"}>
                  <td>{w.watchlist_name ?? "—"}</td>
                  <td>{w.count}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
    </div>
  );
}

function AvailabilityView({ scope }: { scope: Scope }) {
  const { t } = useI18n();
  const load = useCallback(() => scope.api.availability(scope.range), [scope.api, scope.range]);
  const { data, error, reload } = useReport<AvailabilityReport>(load);
  return (
    <div data-testid="report-availability">
      <ErrorNote error={error} onRetry={reload} />
      {data === null && !error && <p className="muted">{t("common.loading")}</p>}
      {data && (
        <>
          <div className="filters">
            <CsvButton
              name="disponibilidade"
              make={() =>
                toCsv(
                  ["camera_id", "camera", "recording_mode", "uptime_pct", "outages", "recording_hours", "storage_bytes", "retention_days"],
                  data.cameras.map((c) => [c.camera_id, c.name, c.recording_mode, c.uptime_pct ?? "", c.outages ?? "", c.recording_hours, c.storage_bytes, c.retention_days]),
                )
              }
            />
            <PdfButton scope={scope} report="availability" name="disponibilidade" />
          </div>
          <div className="kpis">
            <Kpi label={t("reports.recordingHours")} value={data.recording_hours_total.toFixed(1)} />
            <Kpi label={t("reports.storage")} value={formatBytes(data.storage_bytes_total)} testId="kpi-storage" />
          </div>
          <Chart
            type="bar"
            labels={data.cameras.map((c) => c.name)}
            datasets={[{ label: `${t("reports.uptime")} (%)`, data: data.cameras.map((c) => c.uptime_pct ?? 0) }]}
            testId="chart-uptime"
          />
          <table className="table" data-testid="availability-table">
            <thead>
              <tr>
                <th>{t("common.camera")}</th>
                <th>{t("reports.uptime")}</th>
                <th>{t("reports.outages")}</th>
                <th>{t("reports.recordingHours")}</th>
                <th>{t("reports.storage")}</th>
                <th>{t("reports.retention")}</th>
              </tr>
            </thead>
            <tbody>
              {data.cameras.map((c) => (
                <tr key={c.camera_id}>
                  <td>{c.name}</td>
                  <td>{c.uptime_pct === null ? "—" : `${c.uptime_pct.toFixed(1)} %`}</td>
                  <td>{c.outages ?? "—"}</td>
                  <td>{c.recording_hours.toFixed(2)}</td>
                  <td>{formatBytes(c.storage_bytes)}</td>
                  <td>{c.retention_days}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
    </div>
  );
}

function PlateHistoryView({ scope }: { scope: Scope }) {
  const { t, locale } = useI18n();
  const [plate, setPlate] = useState("");
  const [reads, setReads] = useState<PlateRead[] | null>(null);
  const [count, setCount] = useState(0);
  const [error, setError] = useState<unknown>(null);

  async function search(event: FormEvent) {
    event.preventDefault();
    setError(null);
    try {
      const page = await scope.api.plateHistory(plate.trim(), scope.range);
      setReads(page.items);
      setCount(page.count);
    } catch (err) {
      setError(err);
      setReads(null);
    }
  }

  const timeline: Dataset[] = [];
  const days = new Map<string, number>();
  for (const r of reads ?? []) {
    const day = zonedDay(new Date(r.detected_at), scope.timeZone);
    days.set(day, (days.get(day) ?? 0) + 1);
  }
  const labels = [...days.keys()].sort();
  timeline.push({ label: t("reports.reads"), data: labels.map((d) => days.get(d) ?? 0) });

  return (
    <div data-testid="report-plates">
      <form className="filters" onSubmit={search}>
        <label className="field">
          <span>{t("reports.plate")}</span>
          <input value={plate} onChange={(e) => setPlate(e.target.value)} placeholder="ABC1D23" maxLength={16} data-testid="plate-input" />
        </label>
        <button type="submit" data-testid="plate-search">
          {t("reports.plateSearch")}
        </button>
        {reads && reads.length > 0 && (
          <CsvButton
            name={`placa-${plate.trim().toUpperCase()}`}
            make={() =>
              toCsv(
                ["detected_at", "camera_id", "camera", "latitude", "longitude", "confidence"],
                reads.map((r) => [r.detected_at, r.camera_id, r.camera_name ?? "", r.latitude ?? "", r.longitude ?? "", r.confidence]),
              )
            }
          />
        )}
      </form>
      <p className="muted small">{t("reports.plateAudited")}</p>
      <ErrorNote error={error} />
      {reads && reads.length === 0 && <p className="muted">{t("reports.noData")}</p>}
      {reads && reads.length > 0 && (
        <>
          <p className="muted" data-testid="plate-count">
            {t("search.results", { count })}
          </p>
          <div className="two-col">
            <div>
              <Chart type="bar" labels={labels} datasets={timeline} testId="chart-plate" />
              <table className="table" data-testid="plate-table">
                <tbody>
                  {reads.map((r) => (
                    <tr key={r.detection_id}>
                      <td>{formatDateTime(r.detected_at, locale, scope.timeZone)}</td>
                      <td>{r.camera_name ?? r.camera_id}</td>
                      <td>{(r.confidence * 100).toFixed(0)}%</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
            <PlateMap reads={reads} />
          </div>
        </>
      )}
    </div>
  );
}
