/**
 * A minimal WHEP client (WebRTC-HTTP Egress Protocol, RFC 9725) for live tiles.
 *
 * With MediaMTX the streaming service answers `POST .../start` with a `webrtc_url` (the
 * path's `/whep` endpoint, carrying a media token). Playback: a receive-only
 * RTCPeerConnection (video + audio transceivers), an SDP offer sent once ICE gathering is
 * complete (or after a short timeout: non-trickle), `POST` as `application/sdp`, the SDP
 * answer applied; the answer's `Location` header is the session URL, `DELETE`d on close.
 *
 * The bearer access token is sent only to our own origin (as for HLS playlists, see
 * hlsAuth.ts); a cross-origin WHEP endpoint relies on the `?token=` in its URL.
 */

export const ICE_GATHERING_TIMEOUT_MS = 1_500;
export const WHEP_REQUEST_TIMEOUT_MS = 8_000;

export class WhepError extends Error {
  constructor(
    message: string,
    readonly status: number | null = null,
  ) {
    super(message);
    this.name = "WhepError";
  }
}

export interface WhepOptions {
  /** The viewer's access token (sent as `Authorization: Bearer` to our own origin). */
  token?: string | null;
  /** Called with the remote stream as soon as the first track arrives. */
  onStream?: (stream: MediaStream) => void;
  /** Called when the connection fails or closes after it was set up. */
  onDisconnect?: (reason: string) => void;
  /** Aborts the set-up (the peer connection is closed, nothing is left behind). */
  signal?: AbortSignal;
  iceGatheringTimeoutMs?: number;
  requestTimeoutMs?: number;
  /** The page's origin (relative URLs and the bearer rule); window.location.origin. */
  origin?: string;
}

export interface WhepDeps {
  fetch?: typeof fetch;
  createPeerConnection?: (config: RTCConfiguration) => RTCPeerConnection;
}

export interface WhepSession {
  readonly pc: RTCPeerConnection;
  /** The session resource (the answer's Location, absolute), or null if none was given. */
  readonly sessionUrl: string | null;
  /** Closes the peer connection and DELETEs the session (once; errors are ignored). */
  close(): Promise<void>;
}

/** Whether this browser can do WebRTC at all. */
export function whepSupported(): boolean {
  return typeof globalThis.RTCPeerConnection === "function";
}

function pageOrigin(): string {
  return typeof window !== "undefined" ? window.location.origin : "http://localhost";
}

function authHeaders(url: string, origin: string, token: string | null | undefined): Record<string, string> {
  if (!token) return {};
  try {
    return new URL(url, origin).origin === origin ? { Authorization: `Bearer ${token}` } : {};
  } catch {
    return {};
  }
}

/** The absolute session URL from the answer's Location; the offer URL's media token is
 * carried over (the session resource is authorised like the endpoint). */
export function sessionUrlFrom(location: string | null, endpoint: string, origin: string): string | null {
  if (!location) return null;
  try {
    const base = new URL(endpoint, origin);
    const session = new URL(location, base);
    const token = base.searchParams.get("token");
    if (token && !session.searchParams.has("token")) session.searchParams.set("token", token);
    return session.toString();
  } catch {
    return null;
  }
}

function waitForIceGathering(pc: RTCPeerConnection, timeoutMs: number): Promise<void> {
  if (pc.iceGatheringState === "complete") return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      window.clearTimeout(timer);
      pc.removeEventListener("icegatheringstatechange", onChange);
      resolve();
    };
    const onChange = () => {
      if (pc.iceGatheringState === "complete") done();
    };
    // Non-trickle WHEP: send what was gathered so far if gathering takes too long
    // (host candidates come at once; a slow STUN server must not delay the tile).
    const timer = window.setTimeout(done, timeoutMs);
    pc.addEventListener("icegatheringstatechange", onChange);
  });
}

/**
 * Starts WHEP playback of `url`. Resolves once the SDP answer is applied (media follows:
 * `onStream`); rejects with a WhepError (and leaves nothing open) on any failure.
 */
export async function startWhep(url: string, options: WhepOptions = {}, deps: WhepDeps = {}): Promise<WhepSession> {
  const origin = options.origin ?? pageOrigin();
  const doFetch = deps.fetch ?? globalThis.fetch.bind(globalThis);
  const create =
    deps.createPeerConnection ??
    ((config: RTCConfiguration) => {
      if (!whepSupported()) throw new WhepError("WebRTC is not supported by this browser");
      return new RTCPeerConnection(config);
    });
  const headers = authHeaders(url, origin, options.token);
  const signal = options.signal;
  if (signal?.aborted) throw new WhepError("aborted");

  const pc = create({ bundlePolicy: "max-bundle" });
  let sessionUrl: string | null = null;
  let closed = false;
  let remote: MediaStream | null = null;

  const close = async (): Promise<void> => {
    if (closed) return;
    closed = true;
    pc.close();
    if (sessionUrl) {
      try {
        await doFetch(sessionUrl, { method: "DELETE", headers });
      } catch {
        // The server expires abandoned sessions anyway.
      }
    }
  };

  pc.addEventListener("track", (event: RTCTrackEvent) => {
    const stream =
      event.streams[0] ?? remote ?? (typeof MediaStream === "function" ? new MediaStream() : null);
    if (!stream) return;
    if (!event.streams[0] && !stream.getTracks().includes(event.track)) stream.addTrack(event.track);
    if (stream !== remote) {
      remote = stream;
      options.onStream?.(stream);
    }
  });
  pc.addEventListener("connectionstatechange", () => {
    if (!closed && (pc.connectionState === "failed" || pc.connectionState === "closed")) {
      options.onDisconnect?.(`webrtc:${pc.connectionState}`);
    }
  });

  const onAbort = () => void close();
  signal?.addEventListener("abort", onAbort);
  try {
    pc.addTransceiver("video", { direction: "recvonly" });
    pc.addTransceiver("audio", { direction: "recvonly" });
    const offer = await pc.createOffer();
    await pc.setLocalDescription(offer);
    await waitForIceGathering(pc, options.iceGatheringTimeoutMs ?? ICE_GATHERING_TIMEOUT_MS);
    const sdp = pc.localDescription?.sdp ?? offer.sdp;
    if (!sdp) throw new WhepError("no SDP offer");
    if (closed) throw new WhepError("aborted");

    const controller = new AbortController();
    const abortRequest = () => controller.abort();
    signal?.addEventListener("abort", abortRequest);
    const timer = window.setTimeout(abortRequest, options.requestTimeoutMs ?? WHEP_REQUEST_TIMEOUT_MS);
    let response: Response;
    let answer: string;
    try {
      response = await doFetch(url, {
        method: "POST",
        headers: { ...headers, "Content-Type": "application/sdp", Accept: "application/sdp" },
        body: sdp,
        signal: controller.signal,
      });
      if (response.status !== 201 && !response.ok) {
        throw new WhepError(`WHEP offer rejected: HTTP ${response.status}`, response.status);
      }
      sessionUrl = sessionUrlFrom(response.headers.get("Location"), url, origin);
      answer = await response.text();
    } catch (err) {
      if (err instanceof WhepError) throw err;
      throw new WhepError(closed || signal?.aborted ? "aborted" : `WHEP request failed: ${String(err)}`);
    } finally {
      window.clearTimeout(timer);
      signal?.removeEventListener("abort", abortRequest);
    }
    if (closed) throw new WhepError("aborted");
    if (!answer.trim()) throw new WhepError("empty SDP answer");
    await pc.setRemoteDescription({ type: "answer", sdp: answer });
    if (closed) throw new WhepError("aborted");
  } catch (err) {
    await close();
    throw err instanceof WhepError ? err : new WhepError(`WHEP set-up failed: ${String(err)}`);
  } finally {
    signal?.removeEventListener("abort", onAbort);
  }
  return { pc, get sessionUrl() { return sessionUrl; }, close };
}
