/**
 * What each role may do in the dashboard (SPEC §3). The services enforce the same rules;
 * the dashboard only hides what would be refused. Roles are cumulative.
 */
import type { Role } from "../api/types";

const RANK: Record<Role, number> = { viewer: 1, operator: 2, tenant_admin: 3, superadmin: 4 };

export type Action =
  | "stream.start"
  | "stream.stop"
  | "snapshot.take"
  | "alert.acknowledge"
  | "watchlist.edit"
  | "export.request"
  | "recording.view"
  | "live.view"
  | "detection.search"
  | "admin.open"
  | "reports.view"
  | "tenants.manage"
  | "ptz.control"
  | "camera.onboard";

const REQUIRED: Record<Action, Role> = {
  "live.view": "viewer",
  "recording.view": "viewer",
  "detection.search": "viewer",
  "stream.start": "operator",
  "stream.stop": "operator",
  "snapshot.take": "operator",
  "alert.acknowledge": "operator",
  "watchlist.edit": "operator",
  "export.request": "operator",
  "admin.open": "tenant_admin",
  "reports.view": "operator",
  "tenants.manage": "superadmin",
  "ptz.control": "operator",
  "camera.onboard": "tenant_admin",
};

/** The highest known role among the token's roles (unknown roles are ignored). */
export function highestRole(roles: readonly string[] | undefined | null): Role | null {
  let best: Role | null = null;
  for (const r of roles ?? []) {
    if (r in RANK && (best === null || RANK[r as Role] > RANK[best])) best = r as Role;
  }
  return best;
}

export function hasRole(roles: readonly string[] | undefined | null, required: Role): boolean {
  const best = highestRole(roles);
  return best !== null && RANK[best] >= RANK[required];
}

export function can(roles: readonly string[] | undefined | null, action: Action): boolean {
  return hasRole(roles, REQUIRED[action]);
}
