import { describe, expect, it } from "vitest";
import { AlertsSocket, CLOSE_FORBIDDEN, CLOSE_UNAUTHORIZED, alertsSocketUrl, backoffDelay, type LiveStatus, type SocketLike } from "./ws";
import type { LiveEvent } from "./types";
import { ManualTimers, flush } from "../test/helpers";

class FakeSocket implements SocketLike {
  onopen: SocketLike["onopen"] = null;
  onmessage: SocketLike["onmessage"] = null;
  onclose: SocketLike["onclose"] = null;
  onerror: SocketLike["onerror"] = null;
  sent: string[] = [];
  closed: number | null = null;
  constructor(readonly url: string) {}
  close(code = 1000): void {
    this.closed = code;
  }
  send(data: string): void {
    this.sent.push(data);
  }
  open(): void {
    this.onopen?.({});
  }
  message(data: unknown): void {
    this.onmessage?.({ data: JSON.stringify(data) });
  }
  drop(code = 1006): void {
    this.onclose?.({ code });
  }
  get params(): URLSearchParams {
    return new URL(this.url).searchParams;
  }
}

function alertEvent(eventId: string, streamId: string, plate = "ABC1D23") {
  return {
    type: "AlertRaised",
    event_id: eventId,
    id: streamId,
    payload: { alert_id: `a-${eventId}`, plate, severity: "high", camera_id: "c1", detection_id: "d1", watchlist_entry_id: "e1", tenant_id: "t1", reason: "stolen", raised_at: "2025-01-01T00:00:00Z" },
  };
}

function setup() {
  const timers = new ManualTimers();
  const sockets: FakeSocket[] = [];
  const events: LiveEvent[] = [];
  const statuses: LiveStatus[] = [];
  const tokenCalls: boolean[] = [];
  let tokenN = 0;
  const client = new AlertsSocket({
    url: "ws://gw/ws/alerts",
    getToken: async (force) => {
      tokenCalls.push(force);
      return `tok${++tokenN}`;
    },
    onEvent: (e) => events.push(e),
    onStatus: (s) => statuses.push(s),
    createSocket: (url) => {
      const s = new FakeSocket(url);
      sockets.push(s);
      return s;
    },
    setTimer: timers.set,
    clearTimer: timers.clear,
    random: () => 0.5,
    baseDelayMs: 1_000,
    maxDelayMs: 30_000,
  });
  return { client, timers, sockets, events, statuses, tokenCalls };
}

describe("backoffDelay", () => {
  it("grows exponentially with jitter and is capped", () => {
    const mid = () => 0.5;
    expect(backoffDelay(0, 1000, 30000, mid)).toBe(750);
    expect(backoffDelay(3, 1000, 30000, mid)).toBe(6000);
    expect(backoffDelay(20, 1000, 30000, mid)).toBe(22500);
    expect(backoffDelay(20, 1000, 30000, () => 1)).toBe(30000);
    expect(backoffDelay(2, 1000, 30000, () => 0)).toBe(2000);
  });
});

describe("alertsSocketUrl", () => {
  it("uses wss behind TLS", () => {
    expect(alertsSocketUrl({ protocol: "https:", host: "vms.city" })).toBe("wss://vms.city/ws/alerts");
    expect(alertsSocketUrl({ protocol: "http:", host: "127.0.0.1:8080" })).toBe("ws://127.0.0.1:8080/ws/alerts");
  });
});

describe("AlertsSocket", () => {
  it("connects with the access token and delivers events", async () => {
    const { client, sockets, events } = setup();
    client.start();
    await flush();
    expect(sockets).toHaveLength(1);
    expect(sockets[0]!.params.get("token")).toBe("tok1");
    expect(sockets[0]!.params.has("last_event_id")).toBe(false);
    sockets[0]!.open();
    sockets[0]!.message({ type: "welcome", last_event_id: "100-0" });
    sockets[0]!.message(alertEvent("e1", "101-0"));
    expect(events.map((e) => e.event_id)).toEqual(["e1"]);
    client.stop();
  });

  it("answers heartbeats and ignores unknown messages", async () => {
    const { client, sockets, events } = setup();
    client.start();
    await flush();
    sockets[0]!.message({ type: "ping", at: 1 });
    sockets[0]!.onmessage?.({ data: "not json" });
    sockets[0]!.message({ type: "SomethingElse", event_id: "x", id: "5-0" });
    expect(sockets[0]!.sent).toEqual([JSON.stringify({ type: "pong" })]);
    expect(events).toHaveLength(0);
    client.stop();
  });

  it("reconnects with growing backoff and resumes from the last event id", async () => {
    const { client, sockets, timers, statuses } = setup();
    client.start();
    await flush();
    sockets[0]!.message({ type: "welcome", last_event_id: "100-0" });
    sockets[0]!.message(alertEvent("e1", "101-0"));
    sockets[0]!.drop();
    expect(statuses.at(-1)).toBe("reconnecting");
    expect(timers.delays()).toEqual([750]);
    timers.advance(750);
    await flush();
    expect(sockets).toHaveLength(2);
    expect(sockets[1]!.params.get("last_event_id")).toBe("101-0");
    // The server is down: each failure waits longer.
    sockets[1]!.drop();
    expect(timers.delays()).toEqual([1500]);
    timers.advance(1500);
    await flush();
    sockets[2]!.drop();
    expect(timers.delays()).toEqual([3000]);
    timers.advance(3000);
    await flush();
    // Back: the welcome resets the backoff.
    sockets[3]!.message({ type: "welcome", last_event_id: "101-0" });
    expect(statuses.at(-1)).toBe("open");
    sockets[3]!.drop();
    expect(timers.delays()).toEqual([750]);
    client.stop();
  });

  it("resumes from the welcome position when no event arrived yet", async () => {
    const { client, sockets, timers } = setup();
    client.start();
    await flush();
    sockets[0]!.message({ type: "welcome", last_event_id: "42-0" });
    sockets[0]!.drop();
    timers.advance(750);
    await flush();
    expect(sockets[1]!.params.get("last_event_id")).toBe("42-0");
    client.stop();
  });

  it("drops events replayed on catch-up (same event id)", async () => {
    const { client, sockets, timers, events } = setup();
    client.start();
    await flush();
    sockets[0]!.message(alertEvent("e1", "101-0"));
    sockets[0]!.drop();
    timers.advance(750);
    await flush();
    sockets[1]!.message(alertEvent("e1", "101-0"));
    sockets[1]!.message(alertEvent("e2", "102-0"));
    expect(events.map((e) => e.event_id)).toEqual(["e1", "e2"]);
    client.stop();
  });

  it("gets a fresh token after the server closes with 4401 (expired or revoked)", async () => {
    const { client, sockets, timers, tokenCalls } = setup();
    client.start();
    await flush();
    sockets[0]!.drop(CLOSE_UNAUTHORIZED);
    timers.advance(750);
    await flush();
    expect(tokenCalls).toEqual([false, true]);
    expect(sockets[1]!.params.get("token")).toBe("tok2");
    client.stop();
  });

  it("gives up on 4403 (the token names no tenant)", async () => {
    const { client, sockets, timers, statuses } = setup();
    client.start();
    await flush();
    sockets[0]!.drop(CLOSE_FORBIDDEN);
    expect(timers.count).toBe(0);
    expect(statuses.at(-1)).toBe("closed");
  });

  it("reconnects when the socket goes silent (no heartbeat)", async () => {
    const { client, sockets, timers } = setup();
    client.start();
    await flush();
    sockets[0]!.open();
    timers.advance(75_000);
    expect(sockets[0]!.closed).toBe(4000);
    timers.advance(750);
    await flush();
    expect(sockets).toHaveLength(2);
    client.stop();
  });

  it("stops for good: closes the socket and schedules nothing", async () => {
    const { client, sockets, timers } = setup();
    client.start();
    await flush();
    client.stop();
    expect(sockets[0]!.closed).toBe(1000);
    expect(timers.count).toBe(0);
  });

  it("retries later when no token can be had", async () => {
    const timers = new ManualTimers();
    let fail = true;
    const sockets: FakeSocket[] = [];
    const client = new AlertsSocket({
      url: "ws://gw/ws/alerts",
      getToken: async () => {
        if (fail) throw new Error("offline");
        return "tok";
      },
      onEvent: () => undefined,
      createSocket: (url) => {
        const s = new FakeSocket(url);
        sockets.push(s);
        return s;
      },
      setTimer: timers.set,
      clearTimer: timers.clear,
      random: () => 0.5,
    });
    client.start();
    await flush();
    expect(sockets).toHaveLength(0);
    fail = false;
    timers.advance(750);
    await flush();
    expect(sockets).toHaveLength(1);
    client.stop();
  });
});
