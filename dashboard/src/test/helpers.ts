/** Test helpers: unsigned JWTs, a scripted fetch, manual timers. */
import type { SessionDeps } from "../api/session";

function b64url(text: string): string {
  return btoa(text).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

export function fakeJwt(claims: Record<string, unknown>): string {
  return `${b64url(JSON.stringify({ alg: "RS256", typ: "JWT" }))}.${b64url(JSON.stringify(claims))}.c2ln`;
}

export function accessToken(nowMs: number, opts: { roles?: string[]; lifetimeS?: number; n?: number } = {}): string {
  return fakeJwt({
    user_id: "u1",
    username: "ana",
    tenant_id: "t1",
    roles: opts.roles ?? ["operator"],
    exp: Math.floor(nowMs / 1000) + (opts.lifetimeS ?? 300),
    jti: `j${opts.n ?? 0}`,
  });
}

/** The one list envelope of both services, for scripted backends. */
export function listPage<T>(results: T[], count = results.length, page = 1, pageSize = 50) {
  return { count, page, page_size: pageSize, next: null, previous: null, results };
}

export function json(status: number, body: unknown): Response {
  return new Response(body === null ? null : JSON.stringify(body), {
    status,
    headers: { "Content-Type": "application/json" },
  });
}

export interface Call {
  url: string;
  method: string;
  headers: Record<string, string>;
  body: unknown;
}

/** A fetch whose answers come from `handler`; every call is recorded. */
export function scriptedFetch(handler: (call: Call) => Response | Promise<Response>) {
  const calls: Call[] = [];
  const fn = async (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
    const call: Call = {
      url: String(input),
      method: init?.method ?? "GET",
      headers: (init?.headers as Record<string, string>) ?? {},
      body: typeof init?.body === "string" ? (JSON.parse(init.body) as unknown) : undefined,
    };
    calls.push(call);
    return handler(call);
  };
  return { fetch: fn as typeof fetch, calls };
}

export class MemoryStorage {
  private data = new Map<string, string>();
  getItem(key: string): string | null {
    return this.data.get(key) ?? null;
  }
  setItem(key: string, value: string): void {
    this.data.set(key, value);
  }
  removeItem(key: string): void {
    this.data.delete(key);
  }
}

/** Timers run only when the test says so. */
export class ManualTimers {
  now = 1_700_000_000_000;
  private seq = 0;
  private pending = new Map<number, { at: number; fn: () => void }>();
  set = (fn: () => void, ms: number): unknown => {
    const id = ++this.seq;
    this.pending.set(id, { at: this.now + ms, fn });
    return id;
  };
  clear = (handle: unknown): void => {
    this.pending.delete(handle as number);
  };
  get count(): number {
    return this.pending.size;
  }
  delays(): number[] {
    return [...this.pending.values()].map((p) => p.at - this.now);
  }
  /** Advance the clock, running due timers in order. */
  advance(ms: number): void {
    const target = this.now + ms;
    for (;;) {
      const due = [...this.pending.entries()].filter(([, p]) => p.at <= target).sort((a, b) => a[1].at - b[1].at)[0];
      if (!due) break;
      this.pending.delete(due[0]);
      this.now = due[1].at;
      due[1].fn();
    }
    this.now = target;
  }
}

export function sessionDeps(fetchImpl: typeof fetch, timers: ManualTimers, storage = new MemoryStorage()): SessionDeps {
  return {
    fetch: fetchImpl,
    storage,
    now: () => timers.now,
    setTimer: timers.set,
    clearTimer: timers.clear,
  };
}

export const flush = () => new Promise<void>((resolve) => setTimeout(resolve, 0));
