import { describe, expect, it } from "vitest";
import { feedReducer, initialFeed } from "./state";
import type { Alert, LiveEvent } from "../api/types";

const raised = (id: string, at = "2025-01-01T00:00:00Z"): LiveEvent => ({
  type: "AlertRaised",
  event_id: `ev-${id}`,
  payload: { alert_id: id, detection_id: "d", watchlist_entry_id: "e", camera_id: "c", tenant_id: "t", plate: "ABC1D23", severity: "high", reason: "stolen", raised_at: at, crop_url: "/api/ai/detections/d/crop" },
});
const acked = (id: string): LiveEvent => ({
  type: "AlertAcknowledged",
  event_id: `ack-${id}`,
  payload: { alert_id: id, tenant_id: "t", user_id: "u", acknowledged_at: "2025-01-01T00:01:00Z" },
});
const updated = (id: string, change: "corrected" | "retracted", plate: string): LiveEvent => ({
  type: "AlertUpdated",
  event_id: `upd-${id}-${change}`,
  payload: { alert_id: id, detection_id: "d", watchlist_entry_id: "e", camera_id: "c", tenant_id: "t", change, plate, previous_plate: "ABC1D23", severity: "high", reason: "stolen", updated_at: "2025-01-01T00:00:02Z" },
});
const restAlert = (id: string, status: Alert["status"] = "new"): Alert => ({
  id, detection_id: "d", watchlist_id: "w", watchlist_entry_id: "e", camera_id: "c", plate: "XYZ9876", severity: "low", reason: "",
  status, raised_at: "2024-12-31T00:00:00Z", acknowledged_by: null, acknowledged_at: null,
});

describe("alerts feed", () => {
  it("counts a live alert as unacknowledged and fresh", () => {
    const s = feedReducer(initialFeed, { type: "event", event: raised("a1") });
    expect(s.unacked).toBe(1);
    expect(s.fresh).toEqual(["a1"]);
    expect(s.alerts[0]).toMatchObject({ id: "a1", status: "new", crop_url: "/api/ai/detections/d/crop" });
  });
  it("shows the voted plate of a corrected alert and withdraws a retracted one", () => {
    let s = feedReducer(initialFeed, { type: "event", event: raised("a1") });
    s = feedReducer(s, { type: "event", event: raised("a2") });
    s = feedReducer(s, { type: "event", event: updated("a1", "corrected", "ABC1D28") });
    expect(s.alerts.find((a) => a.id === "a1")).toMatchObject({ plate: "ABC1D28", status: "new" });
    expect(s.unacked).toBe(2);
    s = feedReducer(s, { type: "event", event: updated("a2", "retracted", "ABC1D29") });
    expect(s.alerts.find((a) => a.id === "a2")).toMatchObject({ plate: "ABC1D29", status: "retracted" });
    expect(s.unacked).toBe(1);
    expect(s.fresh).toEqual(["a1"]);
    // Acknowledging a withdrawn alert changes nothing.
    s = feedReducer(s, { type: "event", event: acked("a2") });
    expect(s.unacked).toBe(1);
  });
  it("ignores a replayed alert", () => {
    let s = feedReducer(initialFeed, { type: "event", event: raised("a1") });
    s = feedReducer(s, { type: "event", event: raised("a1") });
    expect(s.unacked).toBe(1);
    expect(s.alerts).toHaveLength(1);
  });
  it("decrements once whether the REST answer or the event comes first", () => {
    let s = feedReducer(initialFeed, { type: "event", event: raised("a1") });
    s = feedReducer(s, { type: "acknowledged", alert: { ...restAlert("a1", "acknowledged"), acknowledged_at: "x" } });
    s = feedReducer(s, { type: "event", event: acked("a1") });
    expect(s.unacked).toBe(0);
    expect(s.alerts[0]!.status).toBe("acknowledged");
    expect(s.fresh).toEqual([]);
  });
  it("decrements for acknowledgements of alerts older than the loaded page, never below zero", () => {
    let s = feedReducer(initialFeed, { type: "loaded", alerts: [], unacked: 1 });
    s = feedReducer(s, { type: "event", event: acked("old") });
    s = feedReducer(s, { type: "event", event: acked("older") });
    expect(s.unacked).toBe(0);
  });
  it("merges the REST page with live alerts, newest first", () => {
    let s = feedReducer(initialFeed, { type: "event", event: raised("a2", "2025-02-01T00:00:00Z") });
    s = feedReducer(s, { type: "loaded", alerts: [restAlert("a1")], unacked: 2 });
    expect(s.alerts.map((a) => a.id)).toEqual(["a2", "a1"]);
    expect(s.unacked).toBe(2);
  });
  it("keeps recent plate detections", () => {
    const s = feedReducer(initialFeed, {
      type: "event",
      event: { type: "PlateDetected", event_id: "p1", payload: { detection_id: "d1", camera_id: "c", tenant_id: "t", plate: "ABC1234", confidence: 0.9, detected_at: "2025-01-01T00:00:00Z" } },
    });
    expect(s.detections[0]).toMatchObject({ id: "d1", plate: "ABC1234" });
    expect(s.unacked).toBe(0);
  });
});
