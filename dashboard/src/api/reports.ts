/**
 * Reports (streaming service, operator and above): traffic, alerts, availability, plate
 * history. A superadmin names the tenant with the X-GTV-Tenant-ID header.
 */
import { toPage, withQuery, type ApiClient, type Query } from "./client";
import type { Page } from "./types";

export type ReportBucket = "hour" | "day" | "week";

export interface TrafficReport {
  timezone: string;
  bucket: ReportBucket;
  start: string;
  end: string;
  total_reads: number;
  series: Array<{ bucket_start: string; camera_id: string; reads: number }>;
  heatmap: Array<{ weekday: number; hour: number; reads: number }>;
  busiest: Array<{ camera_id: string; camera_name: string | null; reads: number }>;
}

/** Unique vs recurring plates (a separate, heavier query: every read is looked at). */
export interface PlatesReport {
  timezone: string;
  total_reads: number;
  distinct_plates: number;
  single_read_plates: number;
  recurring_plates: number;
}

export interface AlertsReport {
  timezone: string;
  start: string;
  end: string;
  total: number;
  acknowledged: number;
  ack_median_seconds: number | null;
  ack_p90_seconds: number | null;
  unacknowledged_now: number;
  by_severity: Array<{ severity: string; count: number }>;
  by_watchlist: Array<{ watchlist_id: string | null; watchlist_name: string | null; count: number }>;
}

export interface CameraAvailability {
  camera_id: string;
  name: string;
  recording_mode: string;
  status: string;
  uptime_pct: number | null;
  outages: number | null;
  recording_hours: number;
  storage_bytes: number;
  retention_days: number;
  oldest_recording_at: string | null;
}

export interface AvailabilityReport {
  timezone: string;
  start: string;
  end: string;
  storage_bytes_total: number;
  recording_hours_total: number;
  cameras: CameraAvailability[];
}

export interface PlateRead {
  detection_id: string;
  camera_id: string;
  camera_name: string | null;
  latitude: number | null;
  longitude: number | null;
  detected_at: string;
  confidence: number;
}

/** The reports the server exports as PDF (``?format=pdf``). */
export type PdfReport = "traffic" | "plates" | "alerts" | "availability";

const PDF_PATHS: Record<PdfReport, string> = {
  traffic: "/api/ai/reports/traffic",
  plates: "/api/ai/reports/plates",
  alerts: "/api/ai/reports/alerts",
  availability: "/api/streaming/reports/availability",
};

export interface ReportRange {
  start?: string;
  end?: string;
}

export class ReportsApi {
  constructor(
    readonly client: ApiClient,
    /** The tenant a superadmin looks at (their token names none). */
    readonly tenantId: string | null = null,
  ) {}

  private get<T>(path: string, query: Query, tenantId = this.tenantId): Promise<T> {
    const headers = tenantId ? { "X-GTV-Tenant-ID": tenantId } : undefined;
    return this.client.request<T>("GET", path, { query, headers });
  }

  traffic(range: ReportRange, bucket: ReportBucket, cameraId?: string): Promise<TrafficReport> {
    return this.get<TrafficReport>("/api/ai/reports/traffic", { ...range, bucket, camera_id: cameraId });
  }

  plates(range: ReportRange, cameraId?: string): Promise<PlatesReport> {
    return this.get<PlatesReport>("/api/ai/reports/plates", { ...range, camera_id: cameraId });
  }

  alerts(range: ReportRange): Promise<AlertsReport> {
    return this.get<AlertsReport>("/api/ai/reports/alerts", { ...range });
  }

  availability(range: ReportRange): Promise<AvailabilityReport> {
    return this.get<AvailabilityReport>("/api/streaming/reports/availability", { ...range });
  }

  async plateHistory(plate: string, range: ReportRange, page = 1): Promise<Page<PlateRead>> {
    return toPage<PlateRead>(await this.get<unknown>("/api/ai/reports/plate-history", { ...range, plate, page, page_size: 500 }));
  }

  /** The report as a PDF made by the server, in ``lang``. */
  pdf(report: PdfReport, range: ReportRange, lang: "en" | "pt-BR", extra: Query = {}): Promise<Blob> {
    const headers = this.tenantId ? { "X-GTV-Tenant-ID": this.tenantId } : undefined;
    return this.client.blob(withQuery(PDF_PATHS[report], { ...range, ...extra, format: "pdf", lang }), undefined, headers);
  }

  /** A tenant's stored recordings, in bytes (the prefeituras page's usage). */
  async storageBytes(tenantId: string): Promise<number> {
    const r = await this.get<AvailabilityReport>("/api/streaming/reports/availability", {}, tenantId);
    return r.storage_bytes_total;
  }
}

/** Rows as CSV text (RFC 4180 quoting; a cell a spreadsheet would run as a formula is
 * prefixed with a quote). */
export function toCsv(header: readonly string[], rows: ReadonlyArray<ReadonlyArray<unknown>>): string {
  const cell = (value: unknown): string => {
    let text = value === null || value === undefined ? "" : String(value);
    if (/^[=+\-@\t\r]/.test(text)) text = `'${text}`;
    return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
  };
  return [header, ...rows].map((r) => r.map(cell).join(",")).join("\r\n") + "\r\n";
}
