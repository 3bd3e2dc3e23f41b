/**
 * Live playlists of the streaming service (`/api/streaming/live/<camera>/index.m3u8`)
 * accept either a short-lived media token (`?token=`) or the viewer's bearer JWT. The
 * dashboard fetches playlists with the bearer token (always fresh, refreshed by the
 * session) instead of the media token, which expires after a few minutes; the server then
 * rewrites the segment URIs with a fresh media token on every playlist reload.
 */

export interface LiveRequest {
  url: string;
  bearer: string | null;
}

export function liveRequest(url: string, origin: string, token: string | null): LiveRequest {
  let parsed: URL;
  try {
    parsed = new URL(url, origin);
  } catch {
    return { url, bearer: null };
  }
  const ours = parsed.origin === origin && parsed.pathname.startsWith("/api/streaming/live/");
  if (!ours || !token || !parsed.pathname.endsWith(".m3u8")) return { url, bearer: null };
  parsed.searchParams.delete("token");
  return { url: parsed.toString(), bearer: token };
}

/** The live playlist of a camera on the embedded engine (viewers cannot start streams). */
export function livePlaylistPath(cameraId: string): string {
  return `/api/streaming/live/${encodeURIComponent(cameraId)}/index.m3u8`;
}
