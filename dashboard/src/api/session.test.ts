import { describe, expect, it } from "vitest";
import { AuthSession, REFRESH_STORAGE_KEY, refreshDelayMs } from "./session";
import { ApiError } from "./errors";
import { ManualTimers, MemoryStorage, accessToken, flush, json, scriptedFetch, sessionDeps } from "../test/helpers";

function setup(lifetimeS = 300) {
  const timers = new ManualTimers();
  const storage = new MemoryStorage();
  let n = 0;
  const server = scriptedFetch((call) => {
    if (call.url.endsWith("/auth/token")) {
      const body = call.body as { password: string };
      if (body.password !== "secret") return json(401, { error: { code: "authentication_failed", message: "No active account", details: {} } });
      return json(200, { access: accessToken(timers.now, { lifetimeS, n: ++n }), refresh: `r${n}` });
    }
    if (call.url.endsWith("/auth/refresh")) {
      const presented = (call.body as { refresh: string }).refresh;
      if (presented !== `r${n}`) return json(401, { error: { code: "authentication_failed", message: "spent", details: {} } });
      return json(200, { access: accessToken(timers.now, { lifetimeS, n: ++n }), refresh: `r${n}` });
    }
    if (call.url.endsWith("/auth/logout")) return new Response(null, { status: 204 });
    return json(404, { error: { code: "not_found", message: "nope", details: {} } });
  });
  const session = new AuthSession(sessionDeps(server.fetch, timers, storage));
  return { timers, storage, server, session };
}

describe("refreshDelayMs", () => {
  it("refreshes a minute before expiry for normal lifetimes", () => {
    expect(refreshDelayMs(1_000 + 900, 1_000_000)).toBe(900_000 - 60_000);
  });
  it("refreshes at three quarters of the life of short tokens", () => {
    expect(refreshDelayMs(1_000 + 40, 1_000_000)).toBe(30_000);
  });
  it("never answers a negative delay", () => {
    expect(refreshDelayMs(10, 1_000_000)).toBe(0);
  });
});

describe("AuthSession", () => {
  it("keeps the access token in memory and the refresh token in session storage", async () => {
    const { session, storage } = setup();
    const claims = await session.login("ana", "secret");
    expect(claims.roles).toEqual(["operator"]);
    expect(session.currentAccessToken).toBeTruthy();
    expect(storage.getItem(REFRESH_STORAGE_KEY)).toBe("r1");
  });

  it("rejects bad credentials with the API's error shape", async () => {
    const { session } = setup();
    await expect(session.login("ana", "wrong")).rejects.toMatchObject({ status: 401, code: "authentication_failed" });
    expect(session.currentClaims).toBeNull();
  });

  it("refreshes on a timer before the access token expires, rotating the refresh token", async () => {
    const { session, timers, storage, server } = setup(300);
    await session.login("ana", "secret");
    const first = session.currentAccessToken;
    expect(timers.delays()).toEqual([240_000]);
    timers.advance(240_000);
    await flush();
    expect(server.calls.filter((c) => c.url.endsWith("/auth/refresh"))).toHaveLength(1);
    expect(session.currentAccessToken).not.toBe(first);
    expect(storage.getItem(REFRESH_STORAGE_KEY)).toBe("r2");
    expect(timers.count).toBe(1); // the next refresh is scheduled
  });

  it("refreshes once for concurrent callers (a rotated token must not be replayed)", async () => {
    const { session, timers, server } = setup(300);
    await session.login("ana", "secret");
    timers.now += 299_000; // 1 s left: callers must refresh first
    const tokens = await Promise.all([session.accessToken(), session.accessToken(), session.accessToken()]);
    expect(new Set(tokens).size).toBe(1);
    expect(server.calls.filter((c) => c.url.endsWith("/auth/refresh"))).toHaveLength(1);
  });

  it("hands out the held token while it is still valid", async () => {
    const { session, server } = setup();
    await session.login("ana", "secret");
    await session.accessToken();
    expect(server.calls).toHaveLength(1);
  });

  it("ends the session when the refresh token is refused", async () => {
    const { session, storage } = setup();
    await session.login("ana", "secret");
    storage.setItem(REFRESH_STORAGE_KEY, "stolen-or-spent");
    const seen: unknown[] = [];
    session.subscribe((c) => seen.push(c));
    await expect(session.refresh()).rejects.toBeInstanceOf(ApiError);
    expect(session.currentAccessToken).toBeNull();
    expect(storage.getItem(REFRESH_STORAGE_KEY)).toBeNull();
    expect(seen).toEqual([null]);
  });

  it("keeps the session through a network failure of the refresh", async () => {
    const timers = new ManualTimers();
    const storage = new MemoryStorage();
    storage.setItem(REFRESH_STORAGE_KEY, "r1");
    const session = new AuthSession(
      sessionDeps(
        (async () => {
          throw new TypeError("Failed to fetch");
        }) as typeof fetch,
        timers,
        storage,
      ),
    );
    await expect(session.refresh()).rejects.toMatchObject({ code: "network_error" });
    expect(storage.getItem(REFRESH_STORAGE_KEY)).toBe("r1");
  });

  it("restores a session after a reload from the stored refresh token", async () => {
    const first = setup();
    await first.session.login("ana", "secret");
    const reloaded = new AuthSession(sessionDeps(first.server.fetch, first.timers, first.storage));
    const claims = await reloaded.restore();
    expect(claims?.username).toBe("ana");
    expect(first.storage.getItem(REFRESH_STORAGE_KEY)).toBe("r2");
  });

  it("restores nothing without a refresh token", async () => {
    const { session, server } = setup();
    expect(await session.restore()).toBeNull();
    expect(server.calls).toHaveLength(0);
  });

  it("logs out by revoking both tokens with the bearer access token", async () => {
    const { session, server, storage, timers } = setup();
    await session.login("ana", "secret");
    const access = session.currentAccessToken;
    await session.logout();
    const call = server.calls.at(-1)!;
    expect(call.url).toBe("/api/admin/auth/logout");
    expect(call.headers.Authorization).toBe(`Bearer ${access}`);
    expect(call.body).toEqual({ refresh: "r1" });
    expect(session.currentAccessToken).toBeNull();
    expect(storage.getItem(REFRESH_STORAGE_KEY)).toBeNull();
    expect(timers.count).toBe(0);
  });
});
