import { useEffect, useRef, useState } from "react";
import { HlsPlayer } from "./HlsPlayer";
import { startWhep, whepSupported, type WhepSession } from "../lib/whep";

export type Transport = "webrtc" | "hls";

/** How long WHEP gets, from the offer to the first frame, before the tile falls back to HLS. */
export const WHEP_PLAY_TIMEOUT_MS = 10_000;

interface Props {
  /** The HLS playlist (always there: the fallback). */
  hlsSrc: string | null;
  /** The WHEP endpoint (MediaMTX), or null (embedded FFmpeg engine): HLS only. */
  webrtcUrl: string | null;
  token: () => string | null;
  onFatal?: (reason: string) => void;
  onPlaying?: () => void;
  /** Which transport the tile is using (for its badge); "hls" after a WebRTC failure. */
  onTransport?: (transport: Transport, reason?: string) => void;
  className?: string;
  cameraId?: string;
  controls?: boolean;
  whepTimeoutMs?: number;
}

/**
 * A live tile's player: WebRTC (WHEP) when the stream offers it and the browser can, HLS
 * (hls.js) otherwise or as soon as WHEP fails, times out or drops.
 */
export function LivePlayer({ hlsSrc, webrtcUrl, token, onFatal, onPlaying, onTransport, className, cameraId, controls, whepTimeoutMs }: Props) {
  // The WHEP URL that failed (a new URL, i.e. a restarted stream, tries WebRTC again).
  const [failedUrl, setFailedUrl] = useState<string | null>(null);
  const useWhep = webrtcUrl !== null && failedUrl !== webrtcUrl && whepSupported();
  const transport: Transport = useWhep ? "webrtc" : "hls";
  const transportRef = useRef(onTransport);
  transportRef.current = onTransport;

  useEffect(() => {
    transportRef.current?.(transport);
  }, [transport]);

  if (useWhep && webrtcUrl) {
    return (
      <WhepPlayer
        url={webrtcUrl}
        token={token}
        timeoutMs={whepTimeoutMs ?? WHEP_PLAY_TIMEOUT_MS}
        onFailed={(reason) => {
          transportRef.current?.("hls", reason);
          setFailedUrl(webrtcUrl);
        }}
        onPlaying={onPlaying}
        className={className}
        cameraId={cameraId}
        controls={controls}
      />
    );
  }
  return (
    <HlsPlayer src={hlsSrc} token={token} onFatal={onFatal} onPlaying={onPlaying} className={className} cameraId={cameraId} controls={controls} />
  );
}

interface WhepPlayerProps {
  url: string;
  token: () => string | null;
  timeoutMs: number;
  onFailed: (reason: string) => void;
  onPlaying?: () => void;
  className?: string;
  cameraId?: string;
  controls?: boolean;
}

function WhepPlayer({ url, token, timeoutMs, onFailed, onPlaying, className, cameraId, controls = false }: WhepPlayerProps) {
  const videoRef = useRef<HTMLVideoElement>(null);
  const tokenRef = useRef(token);
  tokenRef.current = token;
  const failedRef = useRef(onFailed);
  failedRef.current = onFailed;
  const playingRef = useRef(false);

  useEffect(() => {
    const video = videoRef.current;
    if (!video) return;
    const controller = new AbortController();
    let session: WhepSession | null = null;
    let done = false;
    playingRef.current = false;
    const fail = (reason: string) => {
      if (done) return;
      done = true;
      controller.abort();
      void session?.close();
      failedRef.current(reason);
    };
    // No first frame in time (offer, answer, ICE, DTLS, keyframe) → HLS.
    const timer = window.setTimeout(() => {
      if (!playingRef.current) fail("webrtc:timeout");
    }, timeoutMs);
    const onPlayingEvent = () => {
      playingRef.current = true;
      window.clearTimeout(timer);
    };
    video.addEventListener("playing", onPlayingEvent);

    startWhep(url, {
      token: tokenRef.current(),
      signal: controller.signal,
      onStream: (stream) => {
        video.srcObject = stream;
        try {
          void Promise.resolve(video.play()).catch(() => undefined);
        } catch {
          // autoplay handles it
        }
      },
      onDisconnect: (reason) => fail(reason),
    })
      .then((started) => {
        session = started;
        if (done) void started.close();
      })
      .catch((err: unknown) => fail(err instanceof Error ? err.message : String(err)));

    return () => {
      done = true;
      window.clearTimeout(timer);
      video.removeEventListener("playing", onPlayingEvent);
      controller.abort();
      void session?.close();
      video.srcObject = null;
    };
  }, [url, timeoutMs]);

  return (
    <video
      ref={videoRef}
      className={className}
      data-camera-id={cameraId}
      data-testid="live-video"
      data-transport="webrtc"
      muted
      playsInline
      autoPlay
      controls={controls}
      onPlaying={onPlaying}
    />
  );
}

export function TransportBadge({ transport, title }: { transport: Transport; title?: string }) {
  return (
    <span className={`badge badge-transport badge-${transport}`} data-testid="stream-transport" data-transport={transport} title={title}>
      {transport === "webrtc" ? "WebRTC" : "HLS"}
    </span>
  );
}
