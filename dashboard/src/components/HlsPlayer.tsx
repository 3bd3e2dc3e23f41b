import { useEffect, useRef } from "react";
import Hls from "hls.js";
import { liveRequest } from "../lib/hlsAuth";

interface Props {
  src: string | null;
  /** The current access token (read at each playlist request). */
  token: () => string | null;
  /** Called when playback fails for good (the parent restarts the stream). */
  onFatal?: (reason: string) => void;
  onPlaying?: () => void;
  className?: string;
  cameraId?: string;
  controls?: boolean;
}

/** A muted, auto-playing live HLS player (hls.js; native HLS on Safari). */
export function HlsPlayer({ src, token, onFatal, onPlaying, className, cameraId, controls = false }: Props) {
  const videoRef = useRef<HTMLVideoElement>(null);
  const tokenRef = useRef(token);
  tokenRef.current = token;
  const fatalRef = useRef(onFatal);
  fatalRef.current = onFatal;

  useEffect(() => {
    const video = videoRef.current;
    if (!video || !src) return;
    const origin = window.location.origin;
    if (Hls.isSupported()) {
      const hls = new Hls({
        lowLatencyMode: true,
        liveSyncDurationCount: 2,
        liveMaxLatencyDurationCount: 6,
        backBufferLength: 30,
        manifestLoadingMaxRetry: 4,
        levelLoadingMaxRetry: 6,
        fragLoadingMaxRetry: 6,
        xhrSetup: (xhr, url) => {
          const req = liveRequest(url, origin, tokenRef.current());
          if (req.bearer) {
            xhr.open("GET", req.url, true);
            xhr.setRequestHeader("Authorization", `Bearer ${req.bearer}`);
          }
        },
      });
      let mediaRecoveries = 0;
      hls.on(Hls.Events.ERROR, (_event, data) => {
        if (!data.fatal) return;
        if (data.type === Hls.ErrorTypes.MEDIA_ERROR && mediaRecoveries < 3) {
          mediaRecoveries += 1;
          hls.recoverMediaError();
          return;
        }
        fatalRef.current?.(`${data.type}:${data.details}`);
      });
      hls.loadSource(src);
      hls.attachMedia(video);
      hls.on(Hls.Events.MANIFEST_PARSED, () => {
        void video.play().catch(() => undefined);
      });
      return () => hls.destroy();
    }
    if (video.canPlayType("application/vnd.apple.mpegurl")) {
      video.src = src;
      void video.play().catch(() => undefined);
      const onError = () => fatalRef.current?.("native");
      video.addEventListener("error", onError);
      return () => {
        video.removeEventListener("error", onError);
        video.removeAttribute("src");
        video.load();
      };
    }
    fatalRef.current?.("unsupported");
    return undefined;
  }, [src]);

  return (
    <video
      ref={videoRef}
      className={className}
      data-camera-id={cameraId}
      data-testid="live-video"
      muted
      playsInline
      autoPlay
      controls={controls}
      onPlaying={onPlaying}
    />
  );
}
