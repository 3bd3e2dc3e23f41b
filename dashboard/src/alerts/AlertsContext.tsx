/**
 * Live alerts for the whole app: one WebSocket per signed-in tab, the feed state, the
 * sound/visual cue of a watchlist hit and one-click acknowledgement.
 */
import { createContext, useCallback, useContext, useEffect, useMemo, useReducer, useRef, useState, type ReactNode } from "react";
import { AlertsSocket, alertsSocketUrl, type LiveStatus } from "../api/ws";
import type { Alert, LiveEvent } from "../api/types";
import { useAuth } from "../auth/AuthContext";
import { feedReducer, initialFeed, type FeedState } from "./state";
import { beep } from "./beep";

interface AlertsValue extends FeedState {
  liveStatus: LiveStatus;
  soundOn: boolean;
  setSoundOn: (on: boolean) => void;
  acknowledge: (id: string) => Promise<Alert>;
  markSeen: (id: string) => void;
  refresh: () => Promise<void>;
}

const AlertsContext = createContext<AlertsValue | null>(null);
const SOUND_KEY = "gtv.sound";

export function AlertsProvider({ children }: { children: ReactNode }) {
  const { status, client, session } = useAuth();
  const [state, dispatch] = useReducer(feedReducer, initialFeed);
  const [liveStatus, setLiveStatus] = useState<LiveStatus>("closed");
  const [soundOn, setSoundOnState] = useState<boolean>(() => {
    try {
      return window.localStorage.getItem(SOUND_KEY) !== "off";
    } catch {
      return true;
    }
  });
  const soundRef = useRef(soundOn);
  soundRef.current = soundOn;

  const setSoundOn = useCallback((on: boolean) => {
    setSoundOnState(on);
    try {
      window.localStorage.setItem(SOUND_KEY, on ? "on" : "off");
    } catch {
      /* ignore */
    }
  }, []);

  const refresh = useCallback(async () => {
    const [recent, unacked] = await Promise.all([
      client.alerts({ page_size: 50 }),
      client.alerts({ status: "new", page_size: 1 }),
    ]);
    dispatch({ type: "loaded", alerts: recent.items, unacked: unacked.count });
  }, [client]);

  useEffect(() => {
    if (status !== "signed-in") {
      dispatch({ type: "reset" });
      return;
    }
    void refresh().catch(() => undefined);
    const socket = new AlertsSocket({
      url: alertsSocketUrl(window.location),
      getToken: (force) => (force ? session.refresh() : session.accessToken()),
      onEvent: (event: LiveEvent) => {
        dispatch({ type: "event", event });
        if (event.type === "AlertRaised" && soundRef.current) beep(event.payload.severity);
      },
      onStatus: setLiveStatus,
    });
    socket.start();
    // Self-heal the badge (acknowledgements by others while this tab was asleep).
    const timer = window.setInterval(() => {
      client
        .alerts({ status: "new", page_size: 1 })
        .then((page) => dispatch({ type: "unackedCount", unacked: page.count }))
        .catch(() => undefined);
    }, 60_000);
    return () => {
      window.clearInterval(timer);
      socket.stop();
    };
  }, [status, client, session, refresh]);

  const acknowledge = useCallback(
    async (id: string) => {
      const alert = await client.acknowledgeAlert(id);
      dispatch({ type: "acknowledged", alert });
      return alert;
    },
    [client],
  );

  const markSeen = useCallback((id: string) => dispatch({ type: "seen", id }), []);

  const value = useMemo<AlertsValue>(
    () => ({ ...state, liveStatus, soundOn, setSoundOn, acknowledge, markSeen, refresh }),
    [state, liveStatus, soundOn, setSoundOn, acknowledge, markSeen, refresh],
  );
  return <AlertsContext.Provider value={value}>{children}</AlertsContext.Provider>;
}

export function useAlerts(): AlertsValue {
  const value = useContext(AlertsContext);
  if (!value) throw new Error("useAlerts outside AlertsProvider");
  return value;
}
