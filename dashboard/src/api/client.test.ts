import { describe, expect, it } from "vitest";
import { ApiClient, toPage, withQuery } from "./client";
import { AuthSession } from "./session";
import { ManualTimers, MemoryStorage, accessToken, json, listPage, scriptedFetch, sessionDeps } from "../test/helpers";

async function signedIn(api: (call: { url: string; method: string; headers: Record<string, string>; body: unknown }) => Response) {
  const timers = new ManualTimers();
  const storage = new MemoryStorage();
  let n = 0;
  const auth = scriptedFetch(() => {
    n += 1;
    return json(200, { access: accessToken(timers.now, { n }), refresh: `r${n}` });
  });
  const session = new AuthSession(sessionDeps(auth.fetch, timers, storage));
  await session.login("ana", "secret");
  const server = scriptedFetch(api);
  return { client: new ApiClient(session, server.fetch), server, auth, session };
}

describe("withQuery", () => {
  it("skips empty values and encodes the rest", () => {
    expect(withQuery("/x/", { plate: "ABC*", camera_id: "", page: 2, start: undefined })).toBe("/x/?plate=ABC*&page=2");
    expect(withQuery("/x/", { start: "2025-01-01T00:00:00+00:00" })).toBe("/x/?start=2025-01-01T00%3A00%3A00%2B00%3A00");
  });
});

describe("toPage", () => {
  it("reads the one list envelope of both services", () => {
    expect(toPage({ count: 3, page: 1, page_size: 2, next: "/x/?page=2", previous: null, results: [1, 2] })).toEqual({ items: [1, 2], count: 3 });
  });
  it("refuses other shapes instead of showing an empty list", () => {
    expect(() => toPage({ items: [1], count: 1 })).toThrow(/unexpected list response/);
    expect(() => toPage([1, 2, 3])).toThrow(/unexpected list response/);
  });
});

describe("ApiClient", () => {
  it("sends the bearer token", async () => {
    const { client, server, session } = await signedIn(() => json(200, { id: "u1", username: "ana" }));
    await client.me();
    expect(server.calls[0]!.headers.Authorization).toBe(`Bearer ${session.currentAccessToken}`);
  });

  it("refreshes once and retries after a 401 (revoked or expired access token)", async () => {
    let first = true;
    const { client, server, auth } = await signedIn(() => {
      if (first) {
        first = false;
        return json(401, { error: { code: "not_authenticated", message: "invalid or expired token", details: {} } });
      }
      return json(200, listPage([]));
    });
    await expect(client.streams()).resolves.toEqual([]);
    expect(server.calls).toHaveLength(2);
    expect(server.calls[0]!.headers.Authorization).not.toBe(server.calls[1]!.headers.Authorization);
    expect(auth.calls.filter((c) => c.url.endsWith("/refresh"))).toHaveLength(1);
  });

  it("ends the session when the retried request is refused again", async () => {
    const { client, session } = await signedIn(() =>
      json(401, { error: { code: "not_authenticated", message: "revoked", details: {} } }),
    );
    await expect(client.me()).rejects.toMatchObject({ status: 401, code: "not_authenticated" });
    expect(session.currentAccessToken).toBeNull();
  });

  it("turns error bodies into ApiError with code, message and details", async () => {
    const { client } = await signedIn(() =>
      json(400, { error: { code: "validation_error", message: "Invalid input.", details: { plate: ["bad"] } } }),
    );
    const error = await client.addWatchlistEntry("w1", { plate: "??", reason: "", severity: "low" }).catch((e: unknown) => e);
    expect(error).toMatchObject({ status: 400, code: "validation_error", message: "Invalid input.", details: { plate: ["bad"] } });
  });

  it("answers 204 with nothing", async () => {
    const { client } = await signedIn(() => new Response(null, { status: 204 }));
    await expect(client.stopStream("c1")).resolves.toBeNull();
  });

  it("follows pages until the count is reached", async () => {
    const { client, server } = await signedIn((call) => {
      const page = Number(new URL(call.url, "http://x").searchParams.get("page"));
      return json(200, listPage(page === 1 ? [{ id: "a" }, { id: "b" }] : [{ id: "c" }], 3, page, 2));
    });
    const cams = await client.cameras();
    expect(cams.map((c) => c.id)).toEqual(["a", "b", "c"]);
    expect(server.calls).toHaveLength(2);
  });

  it("builds the detections query with the plate operator", async () => {
    const { client, server } = await signedIn(() => json(200, listPage([])));
    await client.detections({ plate: "~ABC1D23", camera_id: "c1" });
    const url = new URL(server.calls[0]!.url, "http://x");
    expect(url.pathname).toBe("/api/ai/detections/");
    expect(url.searchParams.get("plate")).toBe("~ABC1D23");
    expect(url.searchParams.get("camera_id")).toBe("c1");
  });
});
