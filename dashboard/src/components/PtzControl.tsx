/**
 * The PTZ overlay of a live tile (operators and above; docs/onvif_ptz.md): a pad whose
 * arrows move the camera while pressed (a continuous `move`, re-sent while held, `stop` on
 * release: the server stops a move at its deadline, so a lost client never leaves a camera
 * spinning), zoom, home, presets, keyboard control on the focused tile, and the control
 * lock (who steers, for how long; a take-over button when this user outranks them).
 */
import { useCallback, useEffect, useMemo, useRef, useState, type RefObject } from "react";
import { useAuth } from "../auth/AuthContext";
import { useI18n, type MessageKey } from "../i18n/i18n";
import { ApiError } from "../api/errors";
import { PtzApi, lockedDetails, type PtzLock, type PtzLockedDetails, type PtzPreset, type PtzVelocity } from "../api/ptz";
import { errorMessage } from "./ErrorNote";

/** How often a held direction re-sends its move, and the deadline each move asks for. */
export const MOVE_RESEND_MS = 1_000;
export const MOVE_TIMEOUT_S = 2;
const LOCK_POLL_MS = 5_000;
const PRESET_POLL_MS = 15_000;
const SPEED = 0.5;

export type Direction = "up" | "down" | "left" | "right" | "up-left" | "up-right" | "down-left" | "down-right" | "zoom-in" | "zoom-out";

export const VELOCITIES: Record<Direction, PtzVelocity> = {
  up: { pan: 0, tilt: SPEED, zoom: 0 },
  down: { pan: 0, tilt: -SPEED, zoom: 0 },
  left: { pan: -SPEED, tilt: 0, zoom: 0 },
  right: { pan: SPEED, tilt: 0, zoom: 0 },
  "up-left": { pan: -SPEED, tilt: SPEED, zoom: 0 },
  "up-right": { pan: SPEED, tilt: SPEED, zoom: 0 },
  "down-left": { pan: -SPEED, tilt: -SPEED, zoom: 0 },
  "down-right": { pan: SPEED, tilt: -SPEED, zoom: 0 },
  "zoom-in": { pan: 0, tilt: 0, zoom: SPEED },
  "zoom-out": { pan: 0, tilt: 0, zoom: -SPEED },
};

/** The direction a key steers (arrows, + and -), or null. */
export function keyDirection(key: string): Direction | null {
  switch (key) {
    case "ArrowUp":
      return "up";
    case "ArrowDown":
      return "down";
    case "ArrowLeft":
      return "left";
    case "ArrowRight":
      return "right";
    case "+":
    case "=":
    case "Add":
      return "zoom-in";
    case "-":
    case "_":
    case "Subtract":
      return "zoom-out";
    default:
      return null;
  }
}

/** The message of a refused PTZ command, translated when the API names why. */
export function ptzErrorKey(error: unknown): MessageKey | null {
  if (!(error instanceof ApiError)) return null;
  if (error.status === 429 || error.code === "ptz_rate_limited") return "ptz.error.rateLimited";
  if (error.code === "ptz_device_error" || error.status === 502) return "ptz.error.device";
  if (error.code === "ptz_not_available") return "ptz.error.notAvailable";
  if (error.code === "ptz_preset_not_found") return "ptz.error.presetNotFound";
  if (error.status === 403) return "ptz.error.forbidden";
  if (error.status === 503) return "ptz.error.unavailable";
  return null;
}

interface Props {
  cameraId: string;
  /** The element whose focus gives the keyboard to this camera (the tile). */
  keyTarget?: RefObject<HTMLElement | null>;
}

type Held = { direction: Direction; timer: number };

export function PtzControl({ cameraId, keyTarget }: Props) {
  const { client } = useAuth();
  const { t } = useI18n();
  const api = useMemo(() => new PtzApi(client), [client]);
  const [lock, setLock] = useState<PtzLock | null>(null);
  const [lockSeenAt, setLockSeenAt] = useState(0);
  const [refused, setRefused] = useState<PtzLockedDetails | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [presets, setPresets] = useState<PtzPreset[]>([]);
  const [presetName, setPresetName] = useState("");
  const [active, setActive] = useState<Direction | null>(null);
  const [now, setNow] = useState(() => Date.now());
  const held = useRef<Held | null>(null);
  const mine = useRef(false);
  // When the last refusal came: a lock answer to a request sent before it is stale.
  const refusedAt = useRef(0);
  mine.current = lock?.mine === true;

  const fail = useCallback(
    (err: unknown) => {
      const locked = lockedDetails(err);
      if (locked) {
        refusedAt.current = performance.now();
        setRefused(locked);
        setLock({ held: true, user_id: locked.holder.user_id, username: locked.holder.username, expires_in: locked.holder.expires_in, mine: false });
        setLockSeenAt(Date.now());
        setError(null);
        return;
      }
      const key = ptzErrorKey(err);
      setError(key ? t(key) : t("common.error", { message: errorMessage(err) }));
    },
    [t],
  );

  const refreshLock = useCallback(async () => {
    const asked = performance.now();
    try {
      const current = await api.lock(cameraId);
      if (asked < refusedAt.current) return; // a refusal came meanwhile: it is newer
      setLock(current);
      setLockSeenAt(Date.now());
      if (!current.held || current.mine) setRefused(null);
    } catch {
      // The pad still works; a command answers with the holder if there is one.
    }
  }, [api, cameraId]);

  const loadPresets = useCallback(
    async (quiet = false) => {
      try {
        setPresets(await api.presets(cameraId));
      } catch (err) {
        if (!quiet) fail(err);
      }
    },
    [api, cameraId, fail],
  );

  useEffect(() => {
    void refreshLock();
    void loadPresets();
    const poll = window.setInterval(() => void refreshLock(), LOCK_POLL_MS);
    // Another operator may save or remove presets meanwhile.
    const presetPoll = window.setInterval(() => void loadPresets(true), PRESET_POLL_MS);
    const tick = window.setInterval(() => setNow(Date.now()), 1_000);
    return () => {
      window.clearInterval(poll);
      window.clearInterval(presetPoll);
      window.clearInterval(tick);
    };
  }, [refreshLock, loadPresets]);

  /** A command that took the lock: this user now steers. */
  const steered = useCallback(() => {
    setRefused(null);
    setError(null);
    if (!mine.current) {
      mine.current = true;
      setLock({ held: true, mine: true });
      void refreshLock();
    }
  }, [refreshLock]);

  const sendMove = useCallback(
    (direction: Direction) =>
      api.move(cameraId, VELOCITIES[direction], MOVE_TIMEOUT_S).then(steered, (err: unknown) => {
        fail(err);
        // Refused: no point re-sending while the button is held.
        if (held.current?.direction === direction) {
          window.clearInterval(held.current.timer);
          held.current = null;
          setActive(null);
        }
      }),
    [api, cameraId, fail, steered],
  );

  const start = useCallback(
    (direction: Direction) => {
      if (held.current) {
        if (held.current.direction === direction) return;
        window.clearInterval(held.current.timer);
      }
      const timer = window.setInterval(() => void sendMove(direction), MOVE_RESEND_MS);
      held.current = { direction, timer };
      setActive(direction);
      void sendMove(direction);
    },
    [sendMove],
  );

  const release = useCallback(() => {
    const current = held.current;
    if (!current) return;
    window.clearInterval(current.timer);
    held.current = null;
    setActive(null);
    void api.stop(cameraId).then(() => undefined, fail);
  }, [api, cameraId, fail]);

  // Leaving the tile while a direction is held stops the camera.
  useEffect(
    () => () => {
      if (held.current) {
        window.clearInterval(held.current.timer);
        held.current = null;
        void api.stop(cameraId).catch(() => undefined);
      }
    },
    [api, cameraId],
  );

  useEffect(() => {
    const target = keyTarget?.current;
    if (!target) return;
    const down = (event: KeyboardEvent) => {
      if (event.target instanceof HTMLInputElement || event.target instanceof HTMLSelectElement) return;
      const direction = keyDirection(event.key);
      if (!direction) return;
      event.preventDefault();
      if (!event.repeat) start(direction);
    };
    const up = (event: KeyboardEvent) => {
      const direction = keyDirection(event.key);
      if (direction && held.current?.direction === direction) {
        event.preventDefault();
        release();
      }
    };
    // Focus leaving the tile (not moving inside it, to a pad button) ends a held key.
    const leave = (event: FocusEvent) => {
      if (!(event.relatedTarget instanceof Node && target.contains(event.relatedTarget))) release();
    };
    target.addEventListener("keydown", down);
    target.addEventListener("keyup", up);
    target.addEventListener("focusout", leave);
    return () => {
      target.removeEventListener("keydown", down);
      target.removeEventListener("keyup", up);
      target.removeEventListener("focusout", leave);
    };
  }, [keyTarget, start, release]);

  async function run(action: () => Promise<unknown>, after?: () => Promise<void>) {
    try {
      await action();
      steered();
      if (after) await after();
    } catch (err) {
      fail(err);
    }
  }

  async function takeOver() {
    try {
      const taken = await api.takeLock(cameraId, true);
      setLock(taken);
      setLockSeenAt(Date.now());
      setRefused(null);
      setError(null);
    } catch (err) {
      fail(err);
    }
  }

  async function savePreset() {
    const name = presetName.trim();
    if (!name) return;
    await run(() => api.setPreset(cameraId, name), async () => {
      setPresetName("");
      await loadPresets();
    });
  }

  async function removePreset(preset: PtzPreset) {
    if (!window.confirm(t("common.confirmRemove", { name: preset.name }))) return;
    await run(() => api.removePreset(cameraId, preset.token), () => loadPresets());
  }

  const left = lock?.expires_in != null ? Math.max(0, Math.round(lock.expires_in - (now - lockSeenAt) / 1000)) : null;
  const otherHolder = lock?.held && !lock.mine && lock.username && (left === null || left > 0) ? lock.username : null;
  const pad = (direction: Direction, label: string, glyph: string) => (
    <button
      type="button"
      className={`ptz-btn ptz-${direction}${active === direction ? " active" : ""}`}
      data-testid={`ptz-${direction}`}
      aria-label={label}
      title={label}
      onPointerDown={(e) => {
        e.preventDefault();
        keyTarget?.current?.focus({ preventScroll: true });
        try {
          e.currentTarget.setPointerCapture(e.pointerId);
        } catch {
          // No capture (an old browser, a synthetic event): pointerup on the button still ends it.
        }
        start(direction);
      }}
      onPointerUp={release}
      onPointerCancel={release}
      onLostPointerCapture={release}
      onContextMenu={(e) => e.preventDefault()}
    >
      {glyph}
    </button>
  );

  return (
    <div
      className="ptz-overlay"
      data-testid="ptz-overlay"
      data-active={active ?? ""}
      onClick={(e) => e.stopPropagation()}
      onDoubleClick={(e) => e.stopPropagation()}
    >
      <div className="ptz-lock" data-testid="ptz-lock" data-holder={otherHolder ?? ""} data-mine={lock?.mine ? "true" : "false"}>
        {otherHolder
          ? left !== null
            ? t("ptz.lock.heldBy", { user: otherHolder, seconds: left })
            : t("ptz.lock.heldByNoTime", { user: otherHolder })
          : lock?.mine
            ? left !== null
              ? t("ptz.lock.mine", { seconds: left })
              : t("ptz.lock.mineNoTime")
            : t("ptz.lock.free")}
        {refused?.can_take_over && (
          <button type="button" className="small" onClick={() => void takeOver()} data-testid="ptz-takeover">
            {t("ptz.takeOver")}
          </button>
        )}
      </div>
      {refused && !refused.can_take_over && (
        <p className="ptz-error" role="alert" data-testid="ptz-refused">
          {t("ptz.lock.refused", { user: refused.holder.username })}
        </p>
      )}
      {error && (
        <p className="ptz-error" role="alert" data-testid="ptz-error">
          {error}
        </p>
      )}
      <div className="ptz-pad" role="group" aria-label={t("ptz.pad")}>
        {pad("up-left", t("ptz.upLeft"), "↖")}
        {pad("up", t("ptz.up"), "▲")}
        {pad("up-right", t("ptz.upRight"), "↗")}
        {pad("left", t("ptz.left"), "◀")}
        <button type="button" className="ptz-btn ptz-home" data-testid="ptz-home" title={t("ptz.home")} aria-label={t("ptz.home")} onClick={() => void run(() => api.home(cameraId))}>
          ⌂
        </button>
        {pad("right", t("ptz.right"), "▶")}
        {pad("down-left", t("ptz.downLeft"), "↙")}
        {pad("down", t("ptz.down"), "▼")}
        {pad("down-right", t("ptz.downRight"), "↘")}
      </div>
      <div className="ptz-zoom" role="group" aria-label={t("ptz.zoom")}>
        {pad("zoom-in", t("ptz.zoomIn"), "+")}
        {pad("zoom-out", t("ptz.zoomOut"), "−")}
      </div>
      <div className="ptz-presets" data-testid="ptz-presets">
        <strong>{t("ptz.presets")}</strong>
        {presets.length === 0 && <small className="muted">{t("ptz.noPresets")}</small>}
        <ul>
          {presets.map((p) => (
            <li key={p.token} data-testid="ptz-preset" data-token={p.token} data-name={p.name}>
              <span>{p.name}</span>
              <button type="button" className="small" onClick={() => void run(() => api.gotoPreset(cameraId, p.token))} data-testid="ptz-preset-goto">
                {t("ptz.goto")}
              </button>
              <button type="button" className="small danger" onClick={() => void removePreset(p)} data-testid="ptz-preset-remove">
                {t("common.remove")}
              </button>
            </li>
          ))}
        </ul>
        <form
          className="ptz-preset-new"
          onSubmit={(e) => {
            e.preventDefault();
            void savePreset();
          }}
        >
          <input
            value={presetName}
            onChange={(e) => setPresetName(e.target.value)}
            placeholder={t("ptz.presetName")}
            maxLength={64}
            aria-label={t("ptz.presetName")}
            data-testid="ptz-preset-name"
          />
          <button type="submit" className="small" disabled={!presetName.trim()} data-testid="ptz-preset-save">
            {t("ptz.savePreset")}
          </button>
        </form>
      </div>
      <small className="muted ptz-keys">{t("ptz.keysHint")}</small>
    </div>
  );
}
