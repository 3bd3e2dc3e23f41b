/**
 * The live tile's transport choice: WHEP when the stream offers a webrtc_url, HLS when it
 * does not, and an explicit fall back to HLS when WHEP fails or times out.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { act, cleanup, render, screen, waitFor } from "@testing-library/react";
import { useState } from "react";
import { LivePlayer, TransportBadge, type Transport } from "./LivePlayer";
import { FakePeerConnection, firstPc } from "../test/fakeRtc";

vi.mock("./HlsPlayer", () => ({
  HlsPlayer: ({ src, cameraId }: { src: string | null; cameraId?: string }) => (
    <video data-testid="live-video" data-transport="hls" data-src={src ?? ""} data-camera-id={cameraId} />
  ),
}));

const HLS = "/api/streaming/live/c1/index.m3u8?token=m&_a=0";
const WHEP = "/api/streaming/webrtc/c1/whep?token=m";

function Harness({ webrtcUrl, timeoutMs }: { webrtcUrl: string | null; timeoutMs?: number }) {
  const [transport, setTransport] = useState<Transport>("hls");
  return (
    <div>
      <LivePlayer hlsSrc={HLS} webrtcUrl={webrtcUrl} token={() => "jwt-1"} onTransport={setTransport} cameraId="c1" whepTimeoutMs={timeoutMs} />
      <TransportBadge transport={transport} />
    </div>
  );
}

let calls: { url: string; method: string; headers: Record<string, string>; body: unknown }[] = [];
let answer: (method: string) => Response | Promise<Response>;

beforeEach(() => {
  FakePeerConnection.reset();
  FakePeerConnection.gathering = "complete";
  vi.spyOn(HTMLMediaElement.prototype, "play").mockResolvedValue(undefined);
  calls = [];
  answer = (method) =>
    method === "POST"
      ? new Response("v=0\r\no=- answer\r\n", { status: 201, headers: { Location: "/api/streaming/webrtc/c1/whep/s1" } })
      : new Response(null, { status: 200 });
  vi.stubGlobal("RTCPeerConnection", FakePeerConnection);
  vi.stubGlobal(
    "fetch",
    vi.fn(async (input: RequestInfo | URL, init?: RequestInit) => {
      const method = init?.method ?? "GET";
      calls.push({ url: String(input), method, headers: (init?.headers as Record<string, string>) ?? {}, body: init?.body });
      return answer(method);
    }),
  );
});

afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
  vi.useRealTimers();
});

const video = () => screen.getByTestId("live-video");
const badge = () => screen.getByTestId("stream-transport");

describe("LivePlayer", () => {
  it("plays HLS directly when the stream has no webrtc_url (FFmpeg engine)", () => {
    render(<Harness webrtcUrl={null} />);
    expect(video().dataset.transport).toBe("hls");
    expect(video().dataset.src).toBe(HLS);
    expect(badge().textContent).toBe("HLS");
    expect(FakePeerConnection.instances).toHaveLength(0);
    expect(calls).toHaveLength(0);
  });

  it("plays WebRTC over WHEP when the stream offers it, and DELETEs the session on unmount", async () => {
    const view = render(<Harness webrtcUrl={WHEP} />);
    expect(video().dataset.transport).toBe("webrtc");
    await waitFor(() => expect(badge().textContent).toBe("WebRTC"));
    await waitFor(() => expect(firstPc().remoteDescription?.sdp).toBe("v=0\r\no=- answer\r\n"));
    const post = calls[0]!;
    expect(post.method).toBe("POST");
    expect(post.headers["Content-Type"]).toBe("application/sdp");
    expect(post.headers.Authorization).toBe("Bearer jwt-1");
    const stream = { id: "remote" };
    act(() => firstPc().deliverTrack(stream));
    expect((video() as HTMLVideoElement & { srcObject: unknown }).srcObject).toBe(stream);
    act(() => video().dispatchEvent(new Event("playing")));

    view.unmount();
    await waitFor(() => expect(calls.map((c) => c.method)).toEqual(["POST", "DELETE"]));
    expect(calls[1]!.url).toContain("/api/streaming/webrtc/c1/whep/s1");
    expect(firstPc().closed).toBe(true);
  });

  it("falls back to HLS when the WHEP offer is refused", async () => {
    answer = () => new Response("no", { status: 500 });
    render(<Harness webrtcUrl={WHEP} />);
    await waitFor(() => expect(video().dataset.transport).toBe("hls"));
    expect(video().dataset.src).toBe(HLS);
    expect(badge().textContent).toBe("HLS");
    expect(firstPc().closed).toBe(true);
  });

  it("falls back to HLS when WebRTC shows no frame in time", async () => {
    vi.useFakeTimers();
    render(<Harness webrtcUrl={WHEP} timeoutMs={5_000} />);
    await act(async () => {
      await vi.advanceTimersByTimeAsync(100);
    });
    expect(video().dataset.transport).toBe("webrtc");
    expect(badge().textContent).toBe("WebRTC");
    await act(async () => {
      await vi.advanceTimersByTimeAsync(5_000);
    });
    expect(video().dataset.transport).toBe("hls");
    expect(badge().textContent).toBe("HLS");
    expect(firstPc().closed).toBe(true);
    expect(calls.map((c) => c.method)).toEqual(["POST", "DELETE"]);
  });

  it("falls back to HLS when an established WebRTC connection fails", async () => {
    render(<Harness webrtcUrl={WHEP} />);
    await waitFor(() => expect(firstPc().remoteDescription).not.toBeNull());
    act(() => video().dispatchEvent(new Event("playing")));
    act(() => firstPc().setConnectionState("failed"));
    await waitFor(() => expect(video().dataset.transport).toBe("hls"));
    expect(badge().textContent).toBe("HLS");
  });

  it("uses HLS when the browser has no WebRTC", () => {
    vi.stubGlobal("RTCPeerConnection", undefined);
    render(<Harness webrtcUrl={WHEP} />);
    expect(video().dataset.transport).toBe("hls");
    expect(calls).toHaveLength(0);
  });
});
