/**
 * The admin console's and the reports' paths and shapes (admin service: prefeituras,
 * cameras, locations, zones, users, audit log; streaming service: camera probe, reports).
 * Kept beside client.ts so the operators' pages and the console evolve separately; every
 * request still goes through ApiClient (token refresh, the one error shape).
 */
import { ApiClient, toPage, withQuery, type Query } from "./client";
import type { Camera, Page, RecordingMode, Role } from "./types";

export interface Tenant {
  id: string;
  name: string;
  slug: string;
  timezone: string;
  is_active: boolean;
  created_at?: string;
}

export interface TenantUsage {
  tenant: string;
  cameras: number;
  cameras_active: number;
  lpr_cameras: number;
  users: number;
  users_active: number;
}

export interface Location {
  id: string;
  tenant: string;
  name: string;
  address: string;
  latitude: number | null;
  longitude: number | null;
}

/** GeoJSON Polygon, [longitude, latitude] positions, one closed ring. */
export interface Polygon {
  type: "Polygon";
  coordinates: number[][][];
}

export interface Zone {
  id: string;
  tenant: string;
  name: string;
  description: string;
  location: string | null;
  geometry: Polygon | null;
}

export type TenantRole = Exclude<Role, "superadmin">;

/** An invitation as the admin sees it, once: ``accept_path`` holds the token. */
export interface Invitation {
  user: User;
  token: string;
  accept_path: string;
  expires_at: string;
}

export interface User {
  id: string;
  username: string;
  email: string;
  first_name: string;
  last_name: string;
  tenant: string | null;
  role: TenantRole | "";
  is_superadmin: boolean;
  is_active: boolean;
  date_joined?: string;
  last_login?: string | null;
}

export interface AuditEntry {
  id: string;
  occurred_at: string;
  actor: string | null;
  username: string;
  tenant_id: string | null;
  action: string;
  object_type: string;
  object_id: string | null;
  before: unknown;
  after: unknown;
  ip: string | null;
  user_agent: string;
  correlation_id: string;
}

export interface AuditQuery {
  username?: string;
  action?: string;
  action_prefix?: string;
  object_type?: string;
  object_id?: string;
  from?: string;
  to?: string;
  page?: number;
  page_size?: number;
}

/** What the camera form writes (rtsp_url only when typed: it is write-only). */
export interface CameraInput {
  name?: string;
  rtsp_url?: string;
  location?: string | null;
  zone?: string | null;
  /** A number; text the user typed is sent as it is, for the API to name the field. */
  latitude?: number | string | null;
  longitude?: number | string | null;
  recording_mode?: RecordingMode;
  retention_days?: number;
  lpr_enabled?: boolean;
  status?: string;
  tenant?: string;
}

export const PROBE_REASONS = [
  "unreachable",
  "auth_failed",
  "not_a_stream",
  "timeout",
  "address_not_allowed",
  "stream_error",
] as const;
export type ProbeReason = (typeof PROBE_REASONS)[number];

export interface ProbeResult {
  ok: boolean;
  reason: ProbeReason | null;
  video_codec: string | null;
  width: number | null;
  height: number | null;
  fps: number | null;
  format_name: string | null;
}

/** One ONVIF device that answered WS-Discovery (POST /api/cidades/cameras/discover/). */
export interface DiscoveredDevice {
  endpoint: string;
  device_url: string;
  xaddrs: string[];
  name: string | null;
  hardware: string | null;
  scopes: string[];
  types: string[];
  /** The camera already registered from this device, if any. */
  already_registered_camera_id: string | null;
}

/** What the ONVIF onboarding form sends: the device and its credentials, no RTSP URL. */
export interface OnboardInput {
  name: string;
  device_url: string;
  username: string;
  password: string;
  profile?: string;
  location?: string | null;
  recording_mode?: RecordingMode;
  tenant?: string;
}

/** The error codes of a refused onboarding, and the field each concerns. */
export const ONVIF_ERROR_FIELDS: Record<string, "password" | "device_url"> = {
  onvif_not_authorized: "password",
  onvif_unreachable: "device_url",
  onvif_error: "device_url",
};

const enc = encodeURIComponent;

export class ConsoleApi {
  constructor(readonly client: ApiClient) {}

  private async page<T>(path: string, query?: Query): Promise<Page<T>> {
    return toPage<T>(await this.client.request<unknown>("GET", path, { query }));
  }

  private async all<T>(path: string, query: Query = {}): Promise<T[]> {
    const out: T[] = [];
    for (let page = 1; page <= 20; page++) {
      const { items, count } = await this.page<T>(path, { ...query, page, page_size: 200 });
      out.push(...items);
      if (items.length === 0 || out.length >= count) break;
    }
    return out;
  }

  // --- prefeituras (superadmin) ----------------------------------------------------------
  tenants(): Promise<Tenant[]> {
    return this.all<Tenant>("/api/cidades/prefeituras/");
  }
  createTenant(body: { name: string; slug: string; timezone?: string }): Promise<Tenant> {
    return this.client.request<Tenant>("POST", "/api/cidades/prefeituras/", { body });
  }
  setTenantActive(id: string, is_active: boolean): Promise<Tenant> {
    return this.client.request<Tenant>("PATCH", `/api/cidades/prefeituras/${enc(id)}/`, { body: { is_active } });
  }
  tenantUsage(id: string): Promise<TenantUsage> {
    return this.client.request<TenantUsage>("GET", `/api/cidades/prefeituras/${enc(id)}/usage/`);
  }

  // --- cameras ---------------------------------------------------------------------------
  createCamera(body: CameraInput): Promise<Camera> {
    return this.client.request<Camera>("POST", "/api/cidades/cameras/", { body });
  }
  updateCamera(id: string, body: CameraInput): Promise<Camera> {
    return this.client.request<Camera>("PATCH", `/api/cidades/cameras/${enc(id)}/`, { body });
  }
  decommissionCamera(id: string): Promise<void> {
    return this.client.request<void>("DELETE", `/api/cidades/cameras/${enc(id)}/`);
  }
  /** ONVIF devices answering WS-Discovery on the tenant's networks (tenant admins). */
  async discoverCameras(): Promise<Page<DiscoveredDevice>> {
    return toPage<DiscoveredDevice>(
      await this.client.request<unknown>("POST", "/api/cidades/cameras/discover/", { query: { page_size: 200 }, body: {} }),
    );
  }
  /** Registers a camera from its ONVIF device: the service reads the stream URI. */
  onboardCamera(body: OnboardInput): Promise<Camera> {
    return this.client.request<Camera>("POST", "/api/cidades/cameras/onboard/", { body });
  }
  probeCamera(rtsp_url: string): Promise<ProbeResult> {
    return this.client.request<ProbeResult>("POST", "/api/streaming/cameras/probe", { body: { rtsp_url } });
  }
  /** The newest periodic thumbnail's signed URL, or null when the camera has none yet. */
  async thumbnailUrl(cameraId: string): Promise<string | null> {
    try {
      const t = await this.client.request<{ url: string }>("GET", `/api/streaming/cameras/${enc(cameraId)}/thumbnail`);
      return t.url;
    } catch {
      return null;
    }
  }

  // --- locations and zones ---------------------------------------------------------------
  locations(): Promise<Location[]> {
    return this.all<Location>("/api/cidades/locations/", { ordering: "name" });
  }
  saveLocation(body: Partial<Location>, id?: string): Promise<Location> {
    return id
      ? this.client.request<Location>("PATCH", `/api/cidades/locations/${enc(id)}/`, { body })
      : this.client.request<Location>("POST", "/api/cidades/locations/", { body });
  }
  deleteLocation(id: string): Promise<void> {
    return this.client.request<void>("DELETE", `/api/cidades/locations/${enc(id)}/`);
  }
  zones(): Promise<Zone[]> {
    return this.all<Zone>("/api/cidades/zones/", { ordering: "name" });
  }
  saveZone(body: Partial<Zone>, id?: string): Promise<Zone> {
    return id
      ? this.client.request<Zone>("PATCH", `/api/cidades/zones/${enc(id)}/`, { body })
      : this.client.request<Zone>("POST", "/api/cidades/zones/", { body });
  }
  deleteZone(id: string): Promise<void> {
    return this.client.request<void>("DELETE", `/api/cidades/zones/${enc(id)}/`);
  }

  // --- users -----------------------------------------------------------------------------
  users(): Promise<User[]> {
    return this.all<User>("/api/admin/users/", { ordering: "username" });
  }
  createUser(body: Partial<User> & { password: string }): Promise<User> {
    return this.client.request<User>("POST", "/api/admin/users/", { body });
  }
  updateUser(id: string, body: Partial<User> & { password?: string }): Promise<User> {
    return this.client.request<User>("PATCH", `/api/admin/users/${enc(id)}/`, { body });
  }
  /** Create a user without a password; the answer carries the one-time link. */
  inviteUser(body: Partial<User>): Promise<Invitation> {
    return this.client.request<Invitation>("POST", "/api/admin/users/invite/", { body });
  }
  /** A new link for a user who has not accepted yet (the old one stops working). */
  reinviteUser(id: string): Promise<Invitation> {
    return this.client.request<Invitation>("POST", `/api/admin/users/${enc(id)}/invitation/`);
  }
  deactivateUser(id: string): Promise<void> {
    return this.client.request<void>("DELETE", `/api/admin/users/${enc(id)}/`);
  }

  // --- audit log -------------------------------------------------------------------------
  audit(query: AuditQuery): Promise<Page<AuditEntry>> {
    return this.page<AuditEntry>("/api/admin/audit-logs/", { ...query });
  }
  auditEntry(id: string): Promise<AuditEntry> {
    return this.client.request<AuditEntry>("GET", `/api/admin/audit-logs/${enc(id)}/`);
  }
  /** The filtered audit log as CSV text (the export is itself audited). */
  auditCsv(query: AuditQuery): Promise<string> {
    const { page: _page, page_size: _size, ...filters } = query;
    return this.client.request<string>("GET", withQuery("/api/admin/audit-logs/export/", { ...filters }));
  }
}

/** Offers ``text`` to the browser as a file download. */
export function downloadText(filename: string, text: string, type = "text/csv;charset=utf-8"): void {
  downloadBlob(filename, new Blob([text], { type }));
}

/** Offers ``blob`` to the browser as a file download. */
export function downloadBlob(filename: string, blob: Blob): void {
  const url = URL.createObjectURL(blob);
  const a = document.createElement("a");
  a.href = url;
  a.download = filename;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}
