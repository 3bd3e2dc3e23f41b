/**
 * The live alerts feed (WS /ws/alerts): authenticates with the access token, reconnects
 * with capped, jittered exponential backoff, and resumes from the last seen position
 * (?last_event_id=) so nothing raised while disconnected is missed. Events replayed on a
 * resume are de-duplicated by event id.
 */
import type { LiveEvent } from "./types";

/** The subset of the browser WebSocket this client uses (a fake one in tests). */
export interface SocketLike {
  onopen: ((ev: unknown) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
  onclose: ((ev: { code: number; reason?: string }) => void) | null;
  onerror: ((ev: unknown) => void) | null;
  close(code?: number, reason?: string): void;
  send(data: string): void;
}

export type LiveStatus = "connecting" | "open" | "reconnecting" | "closed";

export interface AlertsSocketOptions {
  /** ws(s)://host/ws/alerts */
  url: string;
  /** A current access token; `forceRefresh` after the server refused the last one. */
  getToken: (forceRefresh: boolean) => Promise<string>;
  onEvent: (event: LiveEvent) => void;
  onStatus?: (status: LiveStatus) => void;
  createSocket?: (url: string) => SocketLike;
  setTimer?: (fn: () => void, ms: number) => unknown;
  clearTimer?: (handle: unknown) => void;
  random?: () => number;
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** Reconnect when nothing (not even a heartbeat) arrived for this long. */
  idleTimeoutMs?: number;
}

export const CLOSE_UNAUTHORIZED = 4401;
export const CLOSE_FORBIDDEN = 4403;
export const CLOSE_BAD_REQUEST = 4400;

/** Backoff before reconnect attempt `attempt` (0-based): full jitter over 2^n, capped. */
export function backoffDelay(attempt: number, baseMs: number, maxMs: number, random: () => number): number {
  const ceiling = Math.min(maxMs, baseMs * 2 ** Math.min(attempt, 16));
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}

export function alertsSocketUrl(location: { protocol: string; host: string }): string {
  return `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/ws/alerts`;
}

export class AlertsSocket {
  private socket: SocketLike | null = null;
  private attempt = 0;
  private stopped = true;
  private reconnectTimer: unknown = null;
  private idleTimer: unknown = null;
  private forceRefresh = false;
  private lastEventId: string | null = null;
  private readonly seen = new Set<string>();
  private readonly seenOrder: string[] = [];
  private readonly opts: Required<Omit<AlertsSocketOptions, "onStatus">> & Pick<AlertsSocketOptions, "onStatus">;

  constructor(options: AlertsSocketOptions) {
    this.opts = {
      createSocket: (url) => new WebSocket(url) as unknown as SocketLike,
      setTimer: (fn, ms) => setTimeout(fn, ms),
      clearTimer: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
      random: Math.random,
      baseDelayMs: 1_000,
      maxDelayMs: 30_000,
      idleTimeoutMs: 75_000,
      ...options,
    };
  }

  /** The live-feed position the next connection resumes from. */
  get resumeFrom(): string | null {
    return this.lastEventId;
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    void this.connect();
  }

  stop(): void {
    this.stopped = true;
    this.clearTimers();
    const socket = this.socket;
    this.socket = null;
    if (socket) {
      socket.onclose = null;
      socket.onmessage = null;
      socket.onerror = null;
      socket.close(1000, "client stopped");
    }
    this.opts.onStatus?.("closed");
  }

  /** The URL of the next connection: the token and, once known, where to resume. */
  buildUrl(token: string): string {
    const params = new URLSearchParams({ token });
    if (this.lastEventId) params.set("last_event_id", this.lastEventId);
    return `${this.opts.url}?${params.toString()}`;
  }

  private async connect(): Promise<void> {
    this.opts.onStatus?.(this.attempt === 0 ? "connecting" : "reconnecting");
    let token: string;
    try {
      token = await this.opts.getToken(this.forceRefresh);
    } catch {
      // No token (signed out, or the refresh failed): retry later unless stopped.
      this.scheduleReconnect();
      return;
    }
    if (this.stopped) return;
    this.forceRefresh = false;
    const socket = this.opts.createSocket(this.buildUrl(token));
    this.socket = socket;
    socket.onopen = () => this.touch();
    socket.onmessage = (ev) => this.handleMessage(ev.data);
    socket.onerror = () => {
      /* a close follows every error; reconnecting is decided there */
    };
    socket.onclose = (ev) => this.handleClose(socket, ev.code);
  }

  private handleMessage(raw: unknown): void {
    this.touch();
    let message: Record<string, unknown>;
    try {
      message = JSON.parse(String(raw)) as Record<string, unknown>;
    } catch {
      return;
    }
    const type = message.type;
    if (type === "welcome") {
      // Connected and authenticated: the backoff starts over.
      this.attempt = 0;
      if (!this.lastEventId && typeof message.last_event_id === "string") this.lastEventId = message.last_event_id;
      this.opts.onStatus?.("open");
      return;
    }
    if (type === "ping") {
      this.socket?.send(JSON.stringify({ type: "pong" }));
      return;
    }
    if (typeof message.id === "string") this.lastEventId = message.id;
    if (type !== "PlateDetected" && type !== "AlertRaised" && type !== "AlertUpdated" && type !== "AlertAcknowledged") return;
    const eventId = typeof message.event_id === "string" ? message.event_id : null;
    if (eventId) {
      if (this.seen.has(eventId)) return;
      this.remember(eventId);
    }
    this.opts.onEvent(message as unknown as LiveEvent);
  }

  private handleClose(socket: SocketLike, code: number): void {
    if (socket !== this.socket) return;
    this.socket = null;
    this.clearTimers();
    if (this.stopped) return;
    if (code === CLOSE_FORBIDDEN) {
      // The token names no tenant: reconnecting cannot help.
      this.stopped = true;
      this.opts.onStatus?.("closed");
      return;
    }
    if (code === CLOSE_UNAUTHORIZED) this.forceRefresh = true;
    if (code === CLOSE_BAD_REQUEST) this.lastEventId = null; // a position the server no longer accepts
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    if (this.stopped) return;
    this.opts.onStatus?.("reconnecting");
    const delay = backoffDelay(this.attempt, this.opts.baseDelayMs, this.opts.maxDelayMs, this.opts.random);
    this.attempt += 1;
    this.reconnectTimer = this.opts.setTimer(() => {
      this.reconnectTimer = null;
      void this.connect();
    }, delay);
  }

  /** Any traffic proves the socket alive; silence beyond the timeout forces a reconnect. */
  private touch(): void {
    if (this.idleTimer !== null) this.opts.clearTimer(this.idleTimer);
    this.idleTimer = this.opts.setTimer(() => {
      this.idleTimer = null;
      const socket = this.socket;
      if (socket) {
        socket.onclose = null;
        socket.close(4000, "idle");
        this.handleClose(socket, 4000);
      }
    }, this.opts.idleTimeoutMs);
  }

  private remember(eventId: string): void {
    this.seen.add(eventId);
    this.seenOrder.push(eventId);
    if (this.seenOrder.length > 2000) {
      const old = this.seenOrder.shift();
      if (old) this.seen.delete(old);
    }
  }

  private clearTimers(): void {
    if (this.reconnectTimer !== null) this.opts.clearTimer(this.reconnectTimer);
    if (this.idleTimer !== null) this.opts.clearTimer(this.idleTimer);
    this.reconnectTimer = null;
    this.idleTimer = null;
  }
}
