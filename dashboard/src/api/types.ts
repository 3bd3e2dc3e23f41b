/**
 * Shapes of the GT-Vision APIs the dashboard uses (SPEC §10), written from the services'
 * serializers/pydantic schemas (admin_service/<app>/api/serializers.py,
 * streaming_service/api/schemas.py, streaming_service/api/ai_schemas.py).
 * Ids are UUID strings; times are ISO 8601 UTC strings.
 */

export type Role = "viewer" | "operator" | "tenant_admin" | "superadmin";

export interface TokenPair {
  access: string;
  refresh: string;
}

/** GET /api/admin/me */
export interface Me {
  id: string;
  username: string;
  email?: string;
  first_name?: string;
  last_name?: string;
  tenant: string | null;
  tenant_name?: string | null;
  /** Not yet served by admin_service; the dashboard falls back to America/Sao_Paulo. */
  tenant_timezone?: string | null;
  role: Exclude<Role, "superadmin"> | "" | null;
  roles: string[];
  is_superadmin: boolean;
}

/** The claims the dashboard reads from an access token (it never verifies them). */
export interface AccessClaims {
  user_id?: string;
  sub?: string;
  username?: string;
  tenant_id?: string | null;
  roles?: string[];
  exp: number;
  jti?: string;
}

export type RecordingMode = "off" | "continuous" | "events";

/** /api/cidades/cameras/ (rtsp_url is write-only and never read). */
export interface Camera {
  id: string;
  tenant: string;
  name: string;
  rtsp_url_masked?: string;
  location: string | null;
  zone: string | null;
  latitude: number | null;
  longitude: number | null;
  recording_mode: RecordingMode;
  retention_days: number;
  lpr_enabled: boolean;
  status: string;
  metadata: Record<string, unknown>;
  /** Onboarded by ONVIF with a PTZ service: the dashboard offers the PTZ controls. */
  ptz?: boolean;
  /** What the ONVIF device said at onboarding (maker, model, firmware, serial, profile). */
  onvif_device?: OnvifDevice | null;
  /** The device's last health check, when the admin service has one. */
  onvif_health?: OnvifHealth | null;
}

export interface OnvifDevice {
  manufacturer?: string | null;
  model?: string | null;
  firmware?: string | null;
  serial?: string | null;
  profile?: string | null;
  clock_drift_seconds?: number | null;
}

export interface OnvifHealth {
  reachable: boolean;
  authorized?: boolean | null;
  clock_drift_seconds?: number | null;
  checked_at?: string | null;
}

export type StreamState = "starting" | "live" | "reconnecting" | "failed" | "stopped";

/** Why a stream is reconnecting or failed (the streaming service's stable codes). */
export const STREAM_FAILURE_CODES = [
  "unreachable",
  "auth_failed",
  "not_a_stream",
  "timeout",
  "address_not_allowed",
  "stream_error",
] as const;
export type StreamFailureCode = (typeof STREAM_FAILURE_CODES)[number];

export function isStreamFailureCode(code: unknown): code is StreamFailureCode {
  return typeof code === "string" && (STREAM_FAILURE_CODES as readonly string[]).includes(code);
}

export interface StreamStatus {
  camera_id: string;
  state: StreamState;
  engine: string;
  started_at: string | null;
  last_frame_at: string | null;
  bitrate_kbps: number | null;
  restarts: number;
  recording: boolean;
  /** Shown translated; `error` is the server's fixed English text for the same code. */
  error_code: StreamFailureCode | null;
  error: string | null;
}

export interface StreamStart {
  camera_id: string;
  hls_url: string;
  webrtc_url: string | null;
  status: StreamState;
  expires_in: number;
}

export interface Snapshot {
  id: string;
  camera_id: string;
  taken_at: string;
  content_type: string;
  size_bytes: number;
  width: number | null;
  height: number | null;
  url: string;
}

export interface Recording {
  id: string;
  camera_id: string;
  started_at: string;
  ended_at: string;
  size_bytes: number;
}

export interface Playback {
  recording_id: string;
  url: string;
  expires_at: string;
}

export type ExportStatus = "pending" | "running" | "done" | "failed";

export interface ExportJob {
  id: string;
  camera_id: string;
  start: string;
  end: string;
  status: ExportStatus;
  error: string | null;
  size_bytes: number | null;
  download_url: string | null;
  created_at: string | null;
  completed_at: string | null;
}

export type Severity = "low" | "medium" | "high" | "critical";
export const SEVERITIES: readonly Severity[] = ["low", "medium", "high", "critical"];

export interface Watchlist {
  id: string;
  name: string;
  description: string;
  created_by: string | null;
  created_at: string;
  updated_at: string;
}

export interface WatchlistEntry {
  id: string;
  watchlist_id: string;
  plate: string;
  is_exact: boolean;
  reason: string;
  severity: Severity;
  active_from: string | null;
  active_until: string | null;
  created_by: string | null;
  created_at: string;
}

export interface NewWatchlistEntry {
  plate: string;
  reason: string;
  severity: Severity;
}

export interface Detection {
  id: string;
  camera_id: string;
  plate: string;
  plate_style: string;
  confidence: number;
  detected_at: string;
  bbox: number[] | null;
  crop_url: string | null;
  score?: number | null;
}

export type AlertStatus = "new" | "acknowledged" | "retracted";

export interface Alert {
  id: string;
  detection_id: string;
  watchlist_id: string | null;
  watchlist_entry_id: string;
  camera_id: string;
  plate: string;
  severity: Severity;
  reason: string;
  status: AlertStatus;
  raised_at: string;
  acknowledged_by: string | null;
  acknowledged_at: string | null;
  /** Known from the live event; the REST shape has no crop, it is derived from detection_id. */
  crop_url?: string | null;
  /** Where to ask for the event clip's URL (cameras recording in "events" mode). */
  clip_url?: string | null;
}

/** GET /api/ai/detections/{id}/clip. */
export interface ClipLink {
  url: string;
  expires_at: string;
}

/** One page of any list endpoint (the client's view of the one list envelope). */
export interface Page<T> {
  items: T[];
  count: number;
}

/** Query filters of GET /api/ai/detections/. */
export interface DetectionQuery {
  plate?: string;
  camera_id?: string;
  start?: string;
  end?: string;
  page?: number;
  page_size?: number;
}

/** Messages on WS /ws/alerts. */
export interface PlateDetectedPayload {
  detection_id: string;
  camera_id: string;
  tenant_id: string;
  plate: string;
  confidence: number;
  detected_at: string;
  crop_url?: string | null;
  bbox?: number[] | null;
}

export interface AlertRaisedPayload {
  alert_id: string;
  detection_id: string;
  watchlist_entry_id: string;
  camera_id: string;
  tenant_id: string;
  plate: string;
  severity: Severity;
  reason: string;
  raised_at: string;
  crop_url?: string | null;
}

/** An alert raised on a first read whose plate the vote changed: corrected or withdrawn. */
export interface AlertUpdatedPayload {
  alert_id: string;
  detection_id: string;
  watchlist_entry_id: string;
  camera_id: string;
  tenant_id: string;
  change: "corrected" | "retracted";
  plate: string;
  previous_plate: string;
  severity: Severity;
  reason: string;
  updated_at: string;
  crop_url?: string | null;
}

export interface AlertAcknowledgedPayload {
  alert_id: string;
  tenant_id: string;
  user_id: string;
  acknowledged_at: string;
}

interface Envelope<TType extends string, TPayload> {
  type: TType;
  event_id: string;
  version?: number;
  occurred_at?: string;
  tenant_id?: string | null;
  correlation_id?: string;
  /** The live-feed position (Redis Stream id); resume from it with ?last_event_id=. */
  id?: string;
  payload: TPayload;
}

export type LiveEvent =
  | Envelope<"PlateDetected", PlateDetectedPayload>
  | Envelope<"AlertRaised", AlertRaisedPayload>
  | Envelope<"AlertUpdated", AlertUpdatedPayload>
  | Envelope<"AlertAcknowledged", AlertAcknowledgedPayload>;
