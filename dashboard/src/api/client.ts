/**
 * The typed client of the GT-Vision APIs: every path and response shape the dashboard
 * uses is here, so a change in a backend is a change in this one module.
 */
import { ApiError, NetworkError, parseErrorBody } from "./errors";
import type { AuthSession, Fetch } from "./session";
import type {
  Alert,
  AlertStatus,
  Camera,
  ClipLink,
  Detection,
  DetectionQuery,
  ExportJob,
  Me,
  NewWatchlistEntry,
  Page,
  Playback,
  Recording,
  Snapshot,
  StreamStart,
  StreamStatus,
  Watchlist,
  WatchlistEntry,
} from "./types";

export type Query = Record<string, string | number | boolean | null | undefined>;

export interface RequestOptions {
  query?: Query;
  body?: unknown;
  signal?: AbortSignal;
  /** Extra headers, e.g. a superadmin's X-GTV-Tenant-ID on the streaming service. */
  headers?: Record<string, string>;
}

export function withQuery(path: string, query?: Query): string {
  if (!query) return path;
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value === undefined || value === null || value === "") continue;
    params.set(key, String(value));
  }
  const qs = params.toString();
  return qs ? `${path}${path.includes("?") ? "&" : "?"}${qs}` : path;
}

/**
 * The one list envelope of both services: {count, page, page_size, next, previous, results}
 * (docs/api.md, "Lists"). Anything else is a broken response, not an empty list.
 */
export function toPage<T>(body: unknown): Page<T> {
  if (typeof body === "object" && body !== null && !Array.isArray(body)) {
    const b = body as { results?: unknown; count?: unknown };
    if (Array.isArray(b.results) && typeof b.count === "number") {
      return { items: b.results as T[], count: b.count };
    }
  }
  throw new Error("unexpected list response: expected {count, results, ...}");
}

export class ApiClient {
  constructor(
    readonly session: AuthSession,
    private readonly fetchImpl: Fetch = (input, init) => window.fetch(input, init),
  ) {}

  /**
   * An authenticated request. A 401 is answered once by refreshing the access token and
   * retrying (the token may have been revoked or expired in between); a second 401 ends
   * the session.
   */
  async request<T>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
    const url = withQuery(path, options.query);
    let token = await this.session.accessToken();
    let response = await this.send(method, url, token, options);
    if (response.status === 401) {
      try {
        token = await this.session.refresh();
      } catch (error) {
        if (error instanceof ApiError && error.status === 401) this.session.clear();
        throw error;
      }
      response = await this.send(method, url, token, options);
      if (response.status === 401) this.session.clear();
    }
    const text = await response.text();
    let data: unknown = null;
    if (text) {
      try {
        data = JSON.parse(text) as unknown;
      } catch {
        data = text;
      }
    }
    if (!response.ok) throw parseErrorBody(response.status, data, response.statusText);
    return data as T;
  }

  /** An authenticated binary GET (plate crops, report PDFs), as a Blob. */
  async blob(path: string, signal?: AbortSignal, headers?: Record<string, string>): Promise<Blob> {
    let token = await this.session.accessToken();
    let response = await this.send("GET", path, token, { signal, headers });
    if (response.status === 401) {
      token = await this.session.refresh();
      response = await this.send("GET", path, token, { signal, headers });
    }
    if (!response.ok) throw parseErrorBody(response.status, null, response.statusText);
    return response.blob();
  }

  private async send(method: string, url: string, token: string, options: RequestOptions): Promise<Response> {
    const headers: Record<string, string> = {
      Accept: "application/json",
      ...options.headers,
      Authorization: `Bearer ${token}`,
    };
    const init: RequestInit = { method, headers, signal: options.signal };
    if (options.body !== undefined) {
      headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(options.body);
    }
    try {
      return await this.fetchImpl(url, init);
    } catch (error) {
      if (error instanceof DOMException && error.name === "AbortError") throw error;
      throw new NetworkError(error instanceof Error ? error.message : String(error));
    }
  }

  private async page<T>(path: string, query?: Query, signal?: AbortSignal): Promise<Page<T>> {
    return toPage<T>(await this.request<unknown>("GET", path, { query, signal }));
  }

  /** Every page of a list (bounded), for small per-tenant lists such as cameras. */
  private async all<T>(path: string, query: Query = {}, maxPages = 20): Promise<T[]> {
    const pageSize = 200;
    const out: T[] = [];
    for (let page = 1; page <= maxPages; page++) {
      const { items, count } = await this.page<T>(path, { ...query, page, page_size: pageSize });
      out.push(...items);
      if (items.length === 0 || out.length >= count) break;
    }
    return out;
  }

  // --- admin service ---------------------------------------------------------------------

  me(): Promise<Me> {
    return this.request<Me>("GET", "/api/admin/me");
  }

  cameras(): Promise<Camera[]> {
    return this.all<Camera>("/api/cidades/cameras/", { ordering: "name" });
  }

  // --- streaming service ------------------------------------------------------------------

  streams(): Promise<StreamStatus[]> {
    return this.all<StreamStatus>("/api/streaming/streams/");
  }

  startStream(cameraId: string): Promise<StreamStart> {
    return this.request<StreamStart>("POST", `/api/streaming/streams/${encodeURIComponent(cameraId)}/start`);
  }

  stopStream(cameraId: string): Promise<void> {
    return this.request<void>("POST", `/api/streaming/streams/${encodeURIComponent(cameraId)}/stop`);
  }

  snapshot(cameraId: string): Promise<Snapshot> {
    return this.request<Snapshot>("POST", `/api/streaming/cameras/${encodeURIComponent(cameraId)}/snapshot`);
  }

  recordings(cameraId: string, start: string, end: string, page = 1): Promise<Page<Recording>> {
    return this.page<Recording>("/api/streaming/recordings/", { camera_id: cameraId, start, end, page, page_size: 500 });
  }

  /** Every recording of a camera in a range (a day is at most 1440 one-minute segments). */
  async allRecordings(cameraId: string, start: string, end: string): Promise<Recording[]> {
    const out: Recording[] = [];
    for (let page = 1; page <= 20; page++) {
      const { items, count } = await this.recordings(cameraId, start, end, page);
      out.push(...items);
      if (items.length === 0 || out.length >= count) break;
    }
    return out.sort((a, b) => a.started_at.localeCompare(b.started_at));
  }

  playback(recordingId: string): Promise<Playback> {
    return this.request<Playback>("GET", `/api/streaming/recordings/${encodeURIComponent(recordingId)}/playback`);
  }

  requestExport(cameraId: string, start: string, end: string): Promise<ExportJob> {
    return this.request<ExportJob>("POST", "/api/streaming/exports", { body: { camera_id: cameraId, start, end } });
  }

  exportJob(id: string): Promise<ExportJob> {
    return this.request<ExportJob>("GET", `/api/streaming/exports/${encodeURIComponent(id)}`);
  }

  // --- AI: watchlists, detections, alerts -------------------------------------------------

  watchlists(): Promise<Watchlist[]> {
    return this.all<Watchlist>("/api/ai/watchlists/");
  }

  createWatchlist(name: string, description = ""): Promise<Watchlist> {
    return this.request<Watchlist>("POST", "/api/ai/watchlists/", { body: { name, description } });
  }

  deleteWatchlist(id: string): Promise<void> {
    return this.request<void>("DELETE", `/api/ai/watchlists/${encodeURIComponent(id)}`);
  }

  watchlistEntries(id: string): Promise<WatchlistEntry[]> {
    return this.all<WatchlistEntry>(`/api/ai/watchlists/${encodeURIComponent(id)}/entries/`);
  }

  addWatchlistEntry(id: string, entry: NewWatchlistEntry): Promise<WatchlistEntry> {
    return this.request<WatchlistEntry>("POST", `/api/ai/watchlists/${encodeURIComponent(id)}/entries/`, {
      body: entry,
    });
  }

  removeWatchlistEntry(id: string, entryId: string): Promise<void> {
    return this.request<void>(
      "DELETE",
      `/api/ai/watchlists/${encodeURIComponent(id)}/entries/${encodeURIComponent(entryId)}`,
    );
  }

  detections(query: DetectionQuery, signal?: AbortSignal): Promise<Page<Detection>> {
    return this.page<Detection>("/api/ai/detections/", { ...query }, signal);
  }

  alerts(query: { status?: AlertStatus; camera_id?: string; page?: number; page_size?: number } = {}): Promise<Page<Alert>> {
    return this.page<Alert>("/api/ai/alerts/", query);
  }

  /** An expiring URL of an event clip (the API path is the alert's or detection's clip_url). */
  clipLink(clipPath: string): Promise<ClipLink> {
    return this.request<ClipLink>("GET", clipPath);
  }

  acknowledgeAlert(id: string): Promise<Alert> {
    return this.request<Alert>("POST", `/api/ai/alerts/${encodeURIComponent(id)}/ack`);
  }
}

/** The crop of a detection: the API path (fetched with the bearer token, see AuthImage). */
export function cropPath(detectionId: string): string {
  return `/api/ai/detections/${encodeURIComponent(detectionId)}/crop`;
}
