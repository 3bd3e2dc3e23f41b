/**
 * Accepting an invitation (no session yet): the invitee sets their password with the
 * link's token, which the page reads from the URL's fragment.
 */
import { parseErrorBody } from "./errors";

export const ACCEPT_URL = "/api/admin/auth/invitations/accept";

export async function acceptInvitation(
  token: string,
  password: string,
  fetchImpl: typeof fetch = (input, init) => window.fetch(input, init),
): Promise<string> {
  const response = await fetchImpl(ACCEPT_URL, {
    method: "POST",
    headers: { "Content-Type": "application/json", Accept: "application/json" },
    body: JSON.stringify({ token, password }),
  });
  const body: unknown = await response.json().catch(() => null);
  if (!response.ok) throw parseErrorBody(response.status, body, response.statusText);
  return (body as { username: string }).username;
}

/** The token from a link's fragment (``/accept-invitation#TOKEN``). */
export function tokenFromHash(hash: string): string {
  return decodeURIComponent(hash.replace(/^#/, "")).trim();
}
