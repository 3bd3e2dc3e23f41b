import { describe, expect, it } from "vitest";
import { livePlaylistPath, liveRequest } from "./hlsAuth";

const origin = "http://127.0.0.1:8080";

describe("live playlist requests", () => {
  it("swap the expiring media token for the bearer token on our playlists", () => {
    const r = liveRequest("/api/streaming/live/c1/index.m3u8?token=abc&_a=0", origin, "jwt");
    expect(r).toEqual({ url: `${origin}/api/streaming/live/c1/index.m3u8?_a=0`, bearer: "jwt" });
  });
  it("leave segments alone (the rewritten playlist carries a fresh media token)", () => {
    expect(liveRequest(`${origin}/api/streaming/live/c1/seg1.ts?token=abc`, origin, "jwt").bearer).toBeNull();
  });
  it("never send the token to another origin (MediaMTX's own HLS server)", () => {
    expect(liveRequest("http://media:8888/cam/index.m3u8?token=x", origin, "jwt")).toEqual({
      url: "http://media:8888/cam/index.m3u8?token=x",
      bearer: null,
    });
  });
  it("need a token to do anything", () => {
    expect(liveRequest("/api/streaming/live/c1/index.m3u8?token=abc", origin, null).bearer).toBeNull();
  });
  it("know the embedded engine's playlist path", () => {
    expect(livePlaylistPath("c1")).toBe("/api/streaming/live/c1/index.m3u8");
  });
});
