import type { AccessClaims } from "./types";

function base64UrlDecode(segment: string): string {
  const b64 = segment.replace(/-/g, "+").replace(/_/g, "/");
  const padded = b64 + "=".repeat((4 - (b64.length % 4)) % 4);
  const binary = atob(padded);
  const bytes = Uint8Array.from(binary, (c) => c.charCodeAt(0));
  return new TextDecoder().decode(bytes);
}

/**
 * Reads an access token's claims without verifying it: the services verify; the
 * dashboard only needs `exp` (when to refresh) and `roles`/`tenant_id` (what to show).
 */
export function decodeClaims(token: string): AccessClaims | null {
  const parts = token.split(".");
  if (parts.length !== 3 || !parts[1]) return null;
  try {
    const claims = JSON.parse(base64UrlDecode(parts[1])) as unknown;
    if (typeof claims !== "object" || claims === null) return null;
    const exp = (claims as { exp?: unknown }).exp;
    if (typeof exp !== "number") return null;
    return claims as AccessClaims;
  } catch {
    return null;
  }
}
