/**
 * The signed-in user, their tenant's cameras and the API client, for every page.
 */
import { createContext, useCallback, useContext, useEffect, useMemo, useRef, useState, type ReactNode } from "react";
import { ApiClient } from "../api/client";
import { AuthSession } from "../api/session";
import type { AccessClaims, Camera, Me } from "../api/types";
import { DEFAULT_TIMEZONE, isValidTimeZone } from "../lib/time";
import { can as canDo, highestRole, type Action } from "../lib/roles";
import type { Role } from "../api/types";

export type AuthStatus = "restoring" | "anonymous" | "signed-in";

interface AuthValue {
  status: AuthStatus;
  client: ApiClient;
  session: AuthSession;
  claims: AccessClaims | null;
  me: Me | null;
  role: Role | null;
  roles: string[];
  timeZone: string;
  cameras: Camera[];
  cameraName: (id: string) => string | null;
  reloadCameras: () => Promise<void>;
  can: (action: Action) => boolean;
  login: (username: string, password: string) => Promise<void>;
  logout: () => Promise<void>;
}

const AuthContext = createContext<AuthValue | null>(null);

export function AuthProvider({ children, session: given }: { children: ReactNode; session?: AuthSession }) {
  const sessionRef = useRef<AuthSession>(given ?? new AuthSession());
  const session = sessionRef.current;
  const client = useMemo(() => new ApiClient(session), [session]);
  const [status, setStatus] = useState<AuthStatus>("restoring");
  const [claims, setClaims] = useState<AccessClaims | null>(null);
  const [me, setMe] = useState<Me | null>(null);
  const [cameras, setCameras] = useState<Camera[]>([]);

  const loadProfile = useCallback(async () => {
    const [profile, list] = await Promise.all([client.me(), client.cameras().catch(() => [] as Camera[])]);
    setMe(profile);
    setCameras(list);
  }, [client]);

  useEffect(() => {
    const unsubscribe = session.subscribe((next) => {
      setClaims(next);
      if (next === null) {
        setStatus("anonymous");
        setMe(null);
        setCameras([]);
      }
    });
    let cancelled = false;
    session
      .restore()
      .then(async (restored) => {
        if (cancelled) return;
        if (restored) {
          await loadProfile().catch(() => undefined);
          if (!cancelled) setStatus("signed-in");
        } else {
          setStatus("anonymous");
        }
      })
      .catch(() => setStatus("anonymous"));
    return () => {
      cancelled = true;
      unsubscribe();
    };
  }, [session, loadProfile]);

  const login = useCallback(
    async (username: string, password: string) => {
      await session.login(username, password);
      await loadProfile();
      setStatus("signed-in");
    },
    [session, loadProfile],
  );

  const logout = useCallback(async () => {
    await session.logout();
    setStatus("anonymous");
  }, [session]);

  const reloadCameras = useCallback(async () => {
    setCameras(await client.cameras());
  }, [client]);

  const value = useMemo<AuthValue>(() => {
    // The token's roles are authoritative (the services enforce them); /me fills in.
    const roles = claims?.roles ?? me?.roles ?? (me?.role ? [me.role] : []);
    const names = new Map(cameras.map((c) => [c.id, c.name]));
    return {
      status,
      client,
      session,
      claims,
      me,
      role: highestRole(roles),
      roles,
      timeZone: isValidTimeZone(me?.tenant_timezone) ? me.tenant_timezone : DEFAULT_TIMEZONE,
      cameras,
      cameraName: (id: string) => names.get(id) ?? null,
      reloadCameras,
      can: (action: Action) => canDo(roles, action),
      login,
      logout,
    };
  }, [status, client, session, claims, me, cameras, reloadCameras, login, logout]);

  return <AuthContext.Provider value={value}>{children}</AuthContext.Provider>;
}

export function useAuth(): AuthValue {
  const value = useContext(AuthContext);
  if (!value) throw new Error("useAuth outside AuthProvider");
  return value;
}

/** Renders its children only when the signed-in user may perform `action`. */
export function Can({ action, children, fallback = null }: { action: Action; children: ReactNode; fallback?: ReactNode }) {
  const { can } = useAuth();
  return <>{can(action) ? children : fallback}</>;
}
