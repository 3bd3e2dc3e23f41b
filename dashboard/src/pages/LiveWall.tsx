import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import { Link, useSearchParams } from "react-router";
import { useAuth } from "../auth/AuthContext";
import { useI18n } from "../i18n/i18n";
import { isStreamFailureCode, type Camera, type StreamStatus } from "../api/types";
import { ApiError } from "../api/errors";
import { LivePlayer, TransportBadge, type Transport } from "../components/LivePlayer";
import {
  StatusBadge,
  StreamFailureNote,
  streamFailureKey,
  tileStatus,
  type TileStatus,
} from "../components/StatusBadge";
import { livePlaylistPath } from "../lib/hlsAuth";
import { errorMessage } from "../components/ErrorNote";
import { PtzControl } from "../components/PtzControl";

export const GRID_SIZES = [1, 4, 9, 16] as const;
type GridSize = (typeof GRID_SIZES)[number];
const GRID_KEY = "gtv.grid";
const STATUS_POLL_MS = 5_000;

function storedGrid(): GridSize {
  const n = Number(window.localStorage.getItem(GRID_KEY));
  return (GRID_SIZES as readonly number[]).includes(n) ? (n as GridSize) : 4;
}

export function LiveWall() {
  const auth = useAuth();
  const { cameras, client } = auth;
  const { t } = useI18n();
  const [grid, setGrid] = useState<GridSize>(storedGrid);
  const [page, setPage] = useState(0);
  // ?camera=<id> (a map marker, the console's camera list) opens that camera enlarged.
  const [params] = useSearchParams();
  const [enlarged, setEnlarged] = useState<string | null>(() => params.get("camera"));
  const [statuses, setStatuses] = useState<Map<string, StreamStatus>>(new Map());
  const [notice, setNotice] = useState<string | null>(null);

  useEffect(() => {
    let stopped = false;
    const poll = () =>
      client
        .streams()
        .then((list) => {
          if (!stopped) setStatuses(new Map(list.map((s) => [s.camera_id, s])));
        })
        .catch(() => undefined);
    void poll();
    const timer = window.setInterval(poll, STATUS_POLL_MS);
    return () => {
      stopped = true;
      window.clearInterval(timer);
    };
  }, [client]);

  const visible = useMemo(() => {
    if (enlarged && cameras.some((c) => c.id === enlarged)) return cameras.filter((c) => c.id === enlarged);
    return cameras.slice(page * grid, page * grid + grid);
  }, [cameras, page, grid, enlarged]);
  const pages = Math.max(1, Math.ceil(cameras.length / grid));

  const chooseGrid = (size: GridSize) => {
    setGrid(size);
    setPage(0);
    setEnlarged(null);
    window.localStorage.setItem(GRID_KEY, String(size));
  };

  if (cameras.length === 0) {
    return (
      <section>
        <h1>{t("live.title")}</h1>
        <p className="muted">{t("live.noCameras")}</p>
      </section>
    );
  }

  const columns = enlarged ? 1 : Math.sqrt(grid);
  return (
    <section className="live">
      <div className="toolbar">
        <h1>{t("live.title")}</h1>
        <div className="segmented" role="group" aria-label={t("live.grid")}>
          {GRID_SIZES.map((size) => (
            <button
              key={size}
              type="button"
              className={size === grid && !enlarged ? "active" : ""}
              onClick={() => chooseGrid(size)}
              data-testid={`grid-${size}`}
            >
              {size}
            </button>
          ))}
        </div>
        {!enlarged && pages > 1 && (
          <div className="pager">
            <button type="button" className="secondary" disabled={page === 0} onClick={() => setPage(page - 1)}>
              {t("common.previous")}
            </button>
            <span>{t("common.page", { page: page + 1, pages })}</span>
            <button type="button" className="secondary" disabled={page >= pages - 1} onClick={() => setPage(page + 1)}>
              {t("common.next")}
            </button>
          </div>
        )}
        {enlarged && (
          <button type="button" className="secondary" onClick={() => setEnlarged(null)} data-testid="shrink">
            {t("live.shrink")}
          </button>
        )}
      </div>
      {notice && (
        <div className="notice" role="status" onClick={() => setNotice(null)}>
          {notice}
        </div>
      )}
      <div className="wall" style={{ gridTemplateColumns: `repeat(${columns}, minmax(0, 1fr))` }}>
        {visible.map((camera) => (
          <Tile
            key={camera.id}
            camera={camera}
            status={statuses.get(camera.id) ?? null}
            enlarged={enlarged === camera.id}
            onToggle={() => setEnlarged(enlarged === camera.id ? null : camera.id)}
            onNotice={setNotice}
            canStart={auth.can("stream.start")}
            canSnapshot={auth.can("snapshot.take")}
            canPtz={auth.can("ptz.control")}
          />
        ))}
      </div>
    </section>
  );
}

interface TileProps {
  camera: Camera;
  status: StreamStatus | null;
  enlarged: boolean;
  onToggle: () => void;
  onNotice: (message: string) => void;
  canStart: boolean;
  canSnapshot: boolean;
  canPtz: boolean;
}

function Tile({ camera, status, enlarged, onToggle, onNotice, canStart, canSnapshot, canPtz }: TileProps) {
  const { client, session } = useAuth();
  const { t } = useI18n();
  const [src, setSrc] = useState<string | null>(null);
  // The WHEP endpoint when the streaming service runs MediaMTX (null with FFmpeg: HLS).
  const [webrtcUrl, setWebrtcUrl] = useState<string | null>(null);
  const [transport, setTransport] = useState<{ kind: Transport; reason?: string }>({ kind: "hls" });
  const [playing, setPlaying] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [attempt, setAttempt] = useState(0);
  const retryTimer = useRef<number | null>(null);
  const tileRef = useRef<HTMLElement>(null);
  // The PTZ overlay: open on the enlarged view, on demand on a grid tile.
  const [ptzOpen, setPtzOpen] = useState<boolean | null>(null);
  const hasPtz = canPtz && camera.ptz === true;
  const showPtz = hasPtz && (ptzOpen ?? enlarged);
  const serverState = status?.state ?? null;
  const streamUp = serverState === "live" || serverState === "reconnecting" || serverState === "starting";

  const scheduleRetry = useCallback(() => {
    if (retryTimer.current !== null) return;
    const delay = Math.min(30_000, 2_000 * 2 ** Math.min(attempt, 4));
    retryTimer.current = window.setTimeout(() => {
      retryTimer.current = null;
      setAttempt((a) => a + 1);
    }, delay);
  }, [attempt]);

  useEffect(
    () => () => {
      if (retryTimer.current !== null) window.clearTimeout(retryTimer.current);
    },
    [],
  );

  // Operators start the stream (idempotent); viewers watch a stream someone started.
  const viewerCanWatch = !canStart && streamUp;
  useEffect(() => {
    let cancelled = false;
    setPlaying(false);
    if (canStart) {
      client
        .startStream(camera.id)
        .then((started) => {
          if (cancelled) return;
          setError(null);
          setSrc(`${started.hls_url}${started.hls_url.includes("?") ? "&" : "?"}_a=${attempt}`);
          setWebrtcUrl(started.webrtc_url ?? null);
        })
        .catch((err: unknown) => {
          if (cancelled) return;
          // A camera the server refuses (address not allowed, unreachable) answers with
          // one of the stream failure codes: shown translated, like the status list's.
          setError(
            err instanceof ApiError && isStreamFailureCode(err.code)
              ? t(streamFailureKey(err.code))
              : errorMessage(err),
          );
          scheduleRetry();
        });
    } else {
      setSrc(viewerCanWatch ? `${livePlaylistPath(camera.id)}?_a=${attempt}` : null);
      setWebrtcUrl(null);
    }
    return () => {
      cancelled = true;
    };
    // scheduleRetry changes with attempt, which is already a dependency.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [camera.id, canStart, attempt, viewerCanWatch, client]);

  const onFatal = useCallback(() => {
    setPlaying(false);
    scheduleRetry();
  }, [scheduleRetry]);

  const onTransport = useCallback((kind: Transport, reason?: string) => {
    setTransport((prev) => (kind === "hls" && !reason && prev.kind === "hls" ? prev : { kind, reason }));
  }, []);

  const failure =
    (serverState === "reconnecting" || serverState === "failed") && isStreamFailureCode(status?.error_code)
      ? status.error_code
      : null;

  let shown: TileStatus = tileStatus(serverState);
  if (playing && shown === "offline" && !status) shown = "live";
  if (!playing && shown === "live" && src) shown = "starting";

  async function snapshot(event: React.MouseEvent) {
    event.stopPropagation();
    try {
      const snap = await client.snapshot(camera.id);
      onNotice(`${t("live.snapshotTaken")}: ${camera.name}`);
      window.open(snap.url, "_blank", "noopener");
    } catch (err) {
      onNotice(t("common.error", { message: errorMessage(err) }));
    }
  }

  return (
    <article
      ref={tileRef}
      className={`tile ${enlarged ? "tile-enlarged" : ""}`}
      data-testid="live-tile"
      data-camera-id={camera.id}
      data-ptz={hasPtz ? "true" : "false"}
      onClick={onToggle}
      title={enlarged ? t("live.shrink") : t("live.enlarge")}
      tabIndex={hasPtz ? 0 : undefined}
    >
      {src ? (
        <LivePlayer
          hlsSrc={src}
          webrtcUrl={webrtcUrl}
          onTransport={onTransport}
          token={() => session.currentAccessToken}
          onFatal={onFatal}
          onPlaying={() => setPlaying(true)}
          cameraId={camera.id}
          className="tile-video"
        />
      ) : (
        <div className="tile-empty">{error ?? (canStart ? t("common.loading") : t("live.viewerWaiting"))}</div>
      )}
      {failure && <StreamFailureNote code={failure} />}
      {showPtz && <PtzControl cameraId={camera.id} keyTarget={tileRef} />}
      <div className="tile-bar">
        <span className="tile-name">{camera.name}</span>
        <StatusBadge status={shown} />
        {src && (
          <TransportBadge
            transport={transport.kind}
            title={transport.reason ? t("live.webrtcFallback", { reason: transport.reason }) : undefined}
          />
        )}
        <span className="tile-actions">
          <Link
            to={`/recordings?camera=${encodeURIComponent(camera.id)}`}
            onClick={(e) => e.stopPropagation()}
            className="icon-link"
            title={t("live.openRecordings")}
          >
            <svg width="16" height="16" viewBox="0 0 16 16" aria-hidden="true">
              <path d="M3 2h2v12H3zM14 2v12L6 8z" fill="currentColor" />
            </svg>
          </Link>
          {hasPtz && (
            <button
              type="button"
              className={`small${showPtz ? " active" : " secondary"}`}
              onClick={(e) => {
                e.stopPropagation();
                setPtzOpen(!showPtz);
                tileRef.current?.focus();
              }}
              title={t("ptz.toggleTitle")}
              aria-pressed={showPtz}
              data-testid="ptz-toggle"
            >
              {t("ptz.toggle")}
            </button>
          )}
          {canSnapshot && (
            <button type="button" className="small" onClick={snapshot} data-testid="snapshot">
              {t("live.snapshot")}
            </button>
          )}
        </span>
      </div>
    </article>
  );
}
