import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { WhepError, sessionUrlFrom, startWhep } from "./whep";
import { FakePeerConnection, asPeerConnection, firstPc } from "../test/fakeRtc";

interface Sent {
  url: string;
  method: string;
  headers: Record<string, string>;
  body: unknown;
}

function mockFetch(answer: (call: Sent) => Response | Promise<Response>) {
  const calls: Sent[] = [];
  const fn = vi.fn(async (input: RequestInfo | URL, init?: RequestInit) => {
    const call = { url: String(input), method: init?.method ?? "GET", headers: (init?.headers as Record<string, string>) ?? {}, body: init?.body };
    calls.push(call);
    return answer(call);
  });
  return { fetch: fn as unknown as typeof fetch, calls };
}

const ORIGIN = "http://localhost:3000";
const ENDPOINT = "/api/streaming/webrtc/cam-1/whep?token=media-1";
const deps = (f: typeof fetch) => ({ fetch: f, createPeerConnection: (c: RTCConfiguration) => asPeerConnection(new FakePeerConnection(c)) });

function created(location = "/api/streaming/webrtc/cam-1/whep/session-9") {
  return new Response("v=0\r\no=- answer\r\n", { status: 201, headers: { "Content-Type": "application/sdp", Location: location } });
}

beforeEach(() => FakePeerConnection.reset());
afterEach(() => vi.useRealTimers());

describe("startWhep", () => {
  it("posts the gathered SDP offer with the right headers and applies the answer", async () => {
    const server = mockFetch(() => created());
    const session = await startWhep(ENDPOINT, { token: "jwt-1", origin: ORIGIN }, deps(server.fetch));
    const pc = firstPc();
    expect(pc.transceivers).toEqual([
      { kind: "video", init: { direction: "recvonly" } },
      { kind: "audio", init: { direction: "recvonly" } },
    ]);
    expect(server.calls).toHaveLength(1);
    const post = server.calls[0]!;
    expect(post.method).toBe("POST");
    expect(post.url).toBe(ENDPOINT);
    expect(post.headers["Content-Type"]).toBe("application/sdp");
    expect(post.headers.Authorization).toBe("Bearer jwt-1");
    // Sent after gathering completed: the candidates are in the offer.
    expect(post.body).toContain("a=candidate:1");
    expect(pc.remoteDescription).toEqual({ type: "answer", sdp: "v=0\r\no=- answer\r\n" });
    expect(session.sessionUrl).toBe(`${ORIGIN}/api/streaming/webrtc/cam-1/whep/session-9?token=media-1`);
  });

  it("does not wait for ICE gathering longer than the timeout", async () => {
    vi.useFakeTimers();
    FakePeerConnection.gathering = "never";
    const server = mockFetch(() => created());
    const started = startWhep(ENDPOINT, { origin: ORIGIN, iceGatheringTimeoutMs: 500 }, deps(server.fetch));
    await vi.advanceTimersByTimeAsync(499);
    expect(server.calls).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(1);
    await started;
    expect(server.calls).toHaveLength(1);
    expect(server.calls[0]!.body).toBe("v=0\r\no=- offer\r\n");
    expect(server.calls[0]!.headers.Authorization).toBeUndefined();
  });

  it("DELETEs the session on close, once", async () => {
    const server = mockFetch((call) => (call.method === "POST" ? created() : new Response(null, { status: 200 })));
    const session = await startWhep(ENDPOINT, { token: "jwt-1", origin: ORIGIN }, deps(server.fetch));
    await session.close();
    await session.close();
    const pc = firstPc();
    expect(pc.closed).toBe(true);
    const deletes = server.calls.filter((c) => c.method === "DELETE");
    expect(deletes).toHaveLength(1);
    expect(deletes[0]!.url).toBe(`${ORIGIN}/api/streaming/webrtc/cam-1/whep/session-9?token=media-1`);
    expect(deletes[0]!.headers.Authorization).toBe("Bearer jwt-1");
  });

  it("sends no bearer token to another origin", async () => {
    const server = mockFetch(() => created("session-2"));
    const session = await startWhep("https://media.example.org/cam/whep?token=m", { token: "jwt-1", origin: ORIGIN }, deps(server.fetch));
    expect(server.calls[0]!.headers.Authorization).toBeUndefined();
    expect(session.sessionUrl).toBe("https://media.example.org/cam/session-2?token=m");
  });

  it("rejects and closes the peer connection when the offer is refused", async () => {
    const server = mockFetch(() => new Response("nope", { status: 404 }));
    await expect(startWhep(ENDPOINT, { origin: ORIGIN }, deps(server.fetch))).rejects.toMatchObject({ name: "WhepError", status: 404 });
    expect(firstPc().closed).toBe(true);
    expect(server.calls.filter((c) => c.method === "DELETE")).toHaveLength(0);
  });

  it("rejects, closes and deletes the session when the answer cannot be applied", async () => {
    FakePeerConnection.failSetRemote = true;
    const server = mockFetch((call) => (call.method === "POST" ? created() : new Response(null, { status: 200 })));
    await expect(startWhep(ENDPOINT, { origin: ORIGIN }, deps(server.fetch))).rejects.toBeInstanceOf(WhepError);
    expect(firstPc().closed).toBe(true);
    expect(server.calls.map((c) => c.method)).toEqual(["POST", "DELETE"]);
  });

  it("rejects when the endpoint does not answer in time", async () => {
    vi.useFakeTimers();
    FakePeerConnection.gathering = "complete";
    const fetchWithSignal = vi.fn(
      (_input: RequestInfo | URL, init?: RequestInit) =>
        new Promise<Response>((_resolve, reject) => {
          init?.signal?.addEventListener("abort", () => reject(new DOMException("aborted", "AbortError")));
        }),
    ) as unknown as typeof fetch;
    const started = startWhep(ENDPOINT, { origin: ORIGIN, requestTimeoutMs: 1_000 }, deps(fetchWithSignal));
    const outcome = expect(started).rejects.toBeInstanceOf(WhepError);
    await vi.advanceTimersByTimeAsync(1_000);
    await outcome;
    expect(firstPc().closed).toBe(true);
  });

  it("hands the remote stream over when a track arrives", async () => {
    const server = mockFetch(() => created());
    const onStream = vi.fn();
    await startWhep(ENDPOINT, { origin: ORIGIN, onStream }, deps(server.fetch));
    const stream = { id: "s1" };
    firstPc().deliverTrack(stream);
    firstPc().deliverTrack(stream);
    expect(onStream).toHaveBeenCalledTimes(1);
    expect(onStream).toHaveBeenCalledWith(stream);
  });
});

describe("sessionUrlFrom", () => {
  it("is null without a Location", () => {
    expect(sessionUrlFrom(null, ENDPOINT, ORIGIN)).toBeNull();
  });
  it("keeps a token already in the Location", () => {
    expect(sessionUrlFrom("/s/1?token=x", ENDPOINT, ORIGIN)).toBe(`${ORIGIN}/s/1?token=x`);
  });
});
