/**
 * The alerts feed state: alerts (from the REST list and live events), recent plate
 * detections, and the tenant's unacknowledged count. Pure, so it is unit-tested.
 */
import type { Alert, Detection, LiveEvent } from "../api/types";

export interface FeedState {
  alerts: Alert[];
  detections: Detection[];
  unacked: number;
  /** Alert ids raised live since the page loaded (for the visual cue). */
  fresh: string[];
}

export const MAX_ALERTS = 200;
export const MAX_DETECTIONS = 50;

export const initialFeed: FeedState = { alerts: [], detections: [], unacked: 0, fresh: [] };

export type FeedAction =
  | { type: "loaded"; alerts: Alert[]; unacked: number }
  | { type: "event"; event: LiveEvent }
  | { type: "acknowledged"; alert: Alert }
  | { type: "unackedCount"; unacked: number }
  | { type: "seen"; id: string }
  | { type: "reset" };

function byNewest(a: Alert, b: Alert): number {
  return b.raised_at.localeCompare(a.raised_at);
}

function markAcknowledged(state: FeedState, id: string, by: string | null, at: string): FeedState {
  const current = state.alerts.find((a) => a.id === id);
  if (current && current.status !== "new") return state;
  const alerts = state.alerts.map((a) =>
    a.id === id ? { ...a, status: "acknowledged" as const, acknowledged_by: by, acknowledged_at: at } : a,
  );
  // Unknown alerts (older than the list) were counted by the server: still decrement.
  return { ...state, alerts, unacked: Math.max(0, state.unacked - 1), fresh: state.fresh.filter((f) => f !== id) };
}

export function feedReducer(state: FeedState, action: FeedAction): FeedState {
  switch (action.type) {
    case "reset":
      return initialFeed;
    case "loaded": {
      // Keep live alerts newer than the REST page; the REST copy wins for the same id.
      const ids = new Set(action.alerts.map((a) => a.id));
      const merged = [...action.alerts, ...state.alerts.filter((a) => !ids.has(a.id))].sort(byNewest);
      return { ...state, alerts: merged.slice(0, MAX_ALERTS), unacked: action.unacked };
    }
    case "unackedCount":
      return { ...state, unacked: action.unacked };
    case "seen":
      return { ...state, fresh: state.fresh.filter((f) => f !== action.id) };
    case "acknowledged":
      return markAcknowledged(state, action.alert.id, action.alert.acknowledged_by, action.alert.acknowledged_at ?? "");
    case "event": {
      const event = action.event;
      if (event.type === "AlertRaised") {
        const p = event.payload;
        if (state.alerts.some((a) => a.id === p.alert_id)) return state;
        const alert: Alert = {
          id: p.alert_id,
          detection_id: p.detection_id,
          watchlist_id: null,
          watchlist_entry_id: p.watchlist_entry_id,
          camera_id: p.camera_id,
          plate: p.plate,
          severity: p.severity,
          reason: p.reason,
          status: "new",
          raised_at: p.raised_at,
          acknowledged_by: null,
          acknowledged_at: null,
          crop_url: p.crop_url ?? null,
        };
        return {
          ...state,
          alerts: [alert, ...state.alerts].sort(byNewest).slice(0, MAX_ALERTS),
          unacked: state.unacked + 1,
          fresh: [...state.fresh, alert.id],
        };
      }
      if (event.type === "AlertUpdated") {
        // The vote changed the first read: show the voted plate; a withdrawn alert leaves
        // the unacknowledged count.
        const p = event.payload;
        const current = state.alerts.find((a) => a.id === p.alert_id);
        const retracted = p.change === "retracted";
        const alerts = state.alerts.map((a) =>
          a.id === p.alert_id ? { ...a, plate: p.plate, status: retracted ? ("retracted" as const) : a.status } : a,
        );
        const wasNew = current ? current.status === "new" : false;
        return {
          ...state,
          alerts,
          unacked: retracted && wasNew ? Math.max(0, state.unacked - 1) : state.unacked,
          fresh: retracted ? state.fresh.filter((f) => f !== p.alert_id) : state.fresh,
        };
      }
      if (event.type === "AlertAcknowledged") {
        const p = event.payload;
        return markAcknowledged(state, p.alert_id, p.user_id, p.acknowledged_at);
      }
      if (event.type === "PlateDetected") {
        const p = event.payload;
        if (state.detections.some((d) => d.id === p.detection_id)) return state;
        const detection: Detection = {
          id: p.detection_id,
          camera_id: p.camera_id,
          plate: p.plate,
          plate_style: "",
          confidence: p.confidence,
          detected_at: p.detected_at,
          bbox: p.bbox ?? null,
          crop_url: p.crop_url ?? null,
        };
        return { ...state, detections: [detection, ...state.detections].slice(0, MAX_DETECTIONS) };
      }
      return state;
    }
  }
}
