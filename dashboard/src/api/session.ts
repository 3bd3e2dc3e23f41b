/**
 * The signed-in session: the access token lives in memory only, the refresh token in
 * sessionStorage (survives a reload of this tab, not the browser). The access token is
 * refreshed shortly before it expires; refreshes are single-flight because the admin
 * service rotates refresh tokens (a replayed one answers 401 and ends the session).
 */
import { decodeClaims } from "./jwt";
import { ApiError, NetworkError, parseErrorBody } from "./errors";
import type { AccessClaims, TokenPair } from "./types";

export const REFRESH_STORAGE_KEY = "gtv.refresh";
export const AUTH_BASE = "/api/admin/auth";
export const PASSWORD_URL = "/api/admin/me/password";
/** Refresh this long before the access token expires. */
export const REFRESH_MARGIN_MS = 60_000;

export type Fetch = typeof fetch;

export interface SessionDeps {
  fetch: Fetch;
  storage: Pick<Storage, "getItem" | "setItem" | "removeItem"> | null;
  now: () => number;
  setTimer: (fn: () => void, ms: number) => unknown;
  clearTimer: (handle: unknown) => void;
}

export type SessionListener = (claims: AccessClaims | null) => void;

export function defaultSessionDeps(): SessionDeps {
  let storage: SessionDeps["storage"] = null;
  try {
    storage = window.sessionStorage;
  } catch {
    storage = null;
  }
  return {
    fetch: (input, init) => window.fetch(input, init),
    storage,
    now: () => Date.now(),
    setTimer: (fn, ms) => window.setTimeout(fn, ms),
    clearTimer: (h) => window.clearTimeout(h as number),
  };
}

/** When to refresh an access token that expires at `expSeconds` (epoch seconds). */
export function refreshDelayMs(expSeconds: number, nowMs: number, issuedAtMs = nowMs): number {
  const expMs = expSeconds * 1000;
  const lifetime = Math.max(0, expMs - issuedAtMs);
  // Short-lived tokens (tests, tight configs) refresh at 75 % of their life instead.
  const margin = Math.min(REFRESH_MARGIN_MS, lifetime / 4);
  return Math.max(0, expMs - margin - nowMs);
}

async function readBody(response: Response): Promise<unknown> {
  const text = await response.text();
  if (!text) return null;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

export class AuthSession {
  private access: string | null = null;
  private claims: AccessClaims | null = null;
  private refreshing: Promise<string> | null = null;
  private timer: unknown = null;
  private readonly listeners = new Set<SessionListener>();
  private readonly deps: SessionDeps;

  constructor(deps: SessionDeps = defaultSessionDeps()) {
    this.deps = deps;
  }

  get currentClaims(): AccessClaims | null {
    return this.claims;
  }

  /** The access token held now, even if about to expire (for synchronous callers). */
  get currentAccessToken(): string | null {
    return this.access;
  }

  get hasRefreshToken(): boolean {
    return Boolean(this.deps.storage?.getItem(REFRESH_STORAGE_KEY));
  }

  subscribe(listener: SessionListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async login(username: string, password: string): Promise<AccessClaims> {
    const pair = await this.post<TokenPair>(`${AUTH_BASE}/token`, { username, password });
    return this.accept(pair);
  }

  /** After a reload: trade the stored refresh token for a fresh pair, if there is one. */
  async restore(): Promise<AccessClaims | null> {
    if (!this.hasRefreshToken) return null;
    try {
      await this.refresh();
      return this.claims;
    } catch {
      return null;
    }
  }

  /** A valid access token, refreshed first when it expires within the margin. */
  async accessToken(): Promise<string> {
    if (this.access && this.claims) {
      const remaining = this.claims.exp * 1000 - this.deps.now();
      if (remaining > 5_000) return this.access;
    }
    return this.refresh();
  }

  /** Single-flight refresh: concurrent callers share one request (rotation-safe). */
  refresh(): Promise<string> {
    if (this.refreshing) return this.refreshing;
    const refreshToken = this.deps.storage?.getItem(REFRESH_STORAGE_KEY);
    if (!refreshToken) {
      this.clear();
      return Promise.reject(new ApiError(401, "not_authenticated", "No session."));
    }
    this.refreshing = this.post<TokenPair>(`${AUTH_BASE}/refresh`, { refresh: refreshToken })
      .then((pair) => {
        this.accept(pair);
        return pair.access;
      })
      .catch((error: unknown) => {
        // A rejected refresh token ends the session; a network blip keeps it for a retry.
        if (error instanceof ApiError && (error.status === 401 || error.status === 400)) this.clear();
        throw error;
      })
      .finally(() => {
        this.refreshing = null;
      });
    return this.refreshing;
  }

  /** The user's own password, proven by the current one. The server ends every session
   * of the user and answers a new pair, with which this tab carries on. */
  async changePassword(currentPassword: string, newPassword: string): Promise<AccessClaims> {
    const pair = await this.post<TokenPair>(
      PASSWORD_URL,
      { current_password: currentPassword, new_password: newPassword },
      await this.accessToken(),
    );
    return this.accept(pair);
  }

  /** Revokes the access token (denylist) and the refresh token, then forgets both. */
  async logout(): Promise<void> {
    const refresh = this.deps.storage?.getItem(REFRESH_STORAGE_KEY);
    const access = this.access;
    this.clear();
    if (!access) return;
    try {
      await this.post(`${AUTH_BASE}/logout`, refresh ? { refresh } : {}, access);
    } catch {
      // Already expired or offline: the tokens are gone from this tab either way.
    }
  }

  /** Forget the session locally (after a failed refresh or on logout). */
  clear(): void {
    const wasSignedIn = this.claims !== null;
    this.access = null;
    this.claims = null;
    if (this.timer !== null) this.deps.clearTimer(this.timer);
    this.timer = null;
    this.deps.storage?.removeItem(REFRESH_STORAGE_KEY);
    if (wasSignedIn) this.emit();
  }

  private accept(pair: TokenPair): AccessClaims {
    const claims = decodeClaims(pair.access);
    if (!claims) throw new ApiError(502, "bad_token", "The server issued an unreadable token.");
    this.access = pair.access;
    this.claims = claims;
    this.deps.storage?.setItem(REFRESH_STORAGE_KEY, pair.refresh);
    this.schedule(claims);
    this.emit();
    return claims;
  }

  private schedule(claims: AccessClaims): void {
    if (this.timer !== null) this.deps.clearTimer(this.timer);
    const delay = refreshDelayMs(claims.exp, this.deps.now());
    this.timer = this.deps.setTimer(() => {
      this.timer = null;
      this.refresh().catch(() => {
        /* listeners already saw the session end when the refresh was rejected */
      });
    }, delay);
  }

  private emit(): void {
    for (const listener of this.listeners) listener(this.claims);
  }

  private async post<T>(path: string, body: unknown, bearer?: string): Promise<T> {
    const headers: Record<string, string> = { "Content-Type": "application/json", Accept: "application/json" };
    if (bearer) headers.Authorization = `Bearer ${bearer}`;
    let response: Response;
    try {
      response = await this.deps.fetch(path, { method: "POST", headers, body: JSON.stringify(body) });
    } catch (error) {
      throw new NetworkError(error instanceof Error ? error.message : String(error));
    }
    const data = await readBody(response);
    if (!response.ok) throw parseErrorBody(response.status, data, response.statusText);
    return data as T;
  }
}
