/**
 * Steering a camera (streaming service, /api/streaming/cameras/{id}/ptz/...; operators
 * and above; docs/onvif_ptz.md): continuous moves the server stops at a deadline, stop,
 * home, presets and the control lock. Every request goes through ApiClient.
 */
import type { ApiClient } from "./client";
import { ApiError } from "./errors";

/** ONVIF generic spaces: pan/tilt -1..1, zoom 0..1 (null when the camera does not say). */
export interface PtzStatus {
  pan: number | null;
  tilt: number | null;
  zoom: number | null;
  moving: boolean;
}

/** Velocities, each -1..1. */
export interface PtzVelocity {
  pan: number;
  tilt: number;
  zoom: number;
}

export interface PtzPreset {
  token: string;
  name: string;
}

/** GET/POST .../ptz/lock */
export interface PtzLock {
  held: boolean;
  user_id?: string | null;
  username?: string | null;
  /** Seconds of idleness left before the lock expires. */
  expires_in?: number | null;
  mine?: boolean;
}

/** details of a 409 ptz_locked: who steers, and whether this user may take over. */
export interface PtzLockedDetails {
  holder: { user_id: string; username: string; expires_in: number };
  can_take_over: boolean;
}

/** The ptz_locked refusal's details, or null for any other error. */
export function lockedDetails(error: unknown): PtzLockedDetails | null {
  if (!(error instanceof ApiError) || error.status !== 409 || error.code !== "ptz_locked") return null;
  const holder = error.details.holder as Partial<PtzLockedDetails["holder"]> | undefined;
  if (!holder || typeof holder.username !== "string") return null;
  return {
    holder: {
      user_id: String(holder.user_id ?? ""),
      username: holder.username,
      expires_in: typeof holder.expires_in === "number" ? holder.expires_in : 0,
    },
    can_take_over: error.details.can_take_over === true,
  };
}

const enc = encodeURIComponent;

export class PtzApi {
  constructor(readonly client: ApiClient) {}

  private path(cameraId: string, rest: string): string {
    return `/api/streaming/cameras/${enc(cameraId)}/ptz/${rest}`;
  }

  status(cameraId: string): Promise<PtzStatus> {
    return this.client.request<PtzStatus>("GET", this.path(cameraId, "status"));
  }

  /** A continuous move; the server stops it after ``timeoutSeconds`` unless re-sent. */
  move(cameraId: string, velocity: PtzVelocity, timeoutSeconds?: number): Promise<{ stops_in_seconds: number }> {
    return this.client.request("POST", this.path(cameraId, "move"), {
      body: { ...velocity, ...(timeoutSeconds ? { timeout_seconds: timeoutSeconds } : {}) },
    });
  }

  stop(cameraId: string): Promise<void> {
    return this.client.request<void>("POST", this.path(cameraId, "stop"));
  }

  home(cameraId: string): Promise<void> {
    return this.client.request<void>("POST", this.path(cameraId, "home"));
  }

  presets(cameraId: string): Promise<PtzPreset[]> {
    return this.client.request<PtzPreset[]>("GET", this.path(cameraId, "presets"));
  }

  setPreset(cameraId: string, name: string): Promise<PtzPreset> {
    return this.client.request<PtzPreset>("POST", this.path(cameraId, "presets"), { body: { name } });
  }

  gotoPreset(cameraId: string, token: string): Promise<void> {
    return this.client.request<void>("POST", this.path(cameraId, `presets/${enc(token)}/goto`));
  }

  removePreset(cameraId: string, token: string): Promise<void> {
    return this.client.request<void>("DELETE", this.path(cameraId, `presets/${enc(token)}`));
  }

  lock(cameraId: string): Promise<PtzLock> {
    return this.client.request<PtzLock>("GET", this.path(cameraId, "lock"));
  }

  takeLock(cameraId: string, takeover: boolean): Promise<PtzLock> {
    return this.client.request<PtzLock>("POST", this.path(cameraId, "lock"), { body: { takeover } });
  }

  releaseLock(cameraId: string): Promise<void> {
    return this.client.request<void>("DELETE", this.path(cameraId, "lock"));
  }
}
