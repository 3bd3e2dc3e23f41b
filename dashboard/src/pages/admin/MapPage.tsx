import { useCallback, useEffect, useRef, useState } from "react";
import { useNavigate, useSearchParams } from "react-router";
import L from "leaflet";
import "leaflet/dist/leaflet.css";
import { useAuth } from "../../auth/AuthContext";
import { useI18n } from "../../i18n/i18n";
import type { Camera } from "../../api/types";
import type { Zone } from "../../api/console";
import { ErrorNote } from "../../components/ErrorNote";
import { latLngsOf, loadMapConfig, polygonOf, type MapConfig } from "../../lib/mapConfig";
import { Notice, useConsole } from "./common";

type Mode = { kind: "view" } | { kind: "place"; camera: Camera } | { kind: "draw"; zone: Zone; points: Array<[number, number]> };

/** Edit mode for ``zone``: its current polygon's corners, to move, extend or redraw. */
function drawing(zone: Zone): Mode {
  return { kind: "draw", zone, points: latLngsOf(zone.geometry) };
}

/**
 * Cameras as markers (click: live view), zones as polygons; a tenant admin places a camera
 * by clicking the map and draws or edits a zone's polygon: its corners are handles to
 * drag, a click adds a corner, and the shape can be cleared or removed. Markers are
 * circle markers and div icons (no image assets), so the map works offline on a blank
 * background.
 */
export function MapPage() {
  const { client, can, reloadCameras } = useAuth();
  const api = useConsole();
  const { t } = useI18n();
  const navigate = useNavigate();
  const [params] = useSearchParams();
  const editable = can("admin.open");
  const container = useRef<HTMLDivElement | null>(null);
  const map = useRef<L.Map | null>(null);
  const layers = useRef<L.LayerGroup | null>(null);
  const draft = useRef<L.LayerGroup | null>(null);
  const fitted = useRef(false);
  const [config, setConfig] = useState<MapConfig | null>(null);
  const [cameras, setCameras] = useState<Camera[]>([]);
  const [zones, setZones] = useState<Zone[]>([]);
  const [mode, setMode] = useState<Mode>({ kind: "view" });
  const [error, setError] = useState<unknown>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const modeRef = useRef(mode);
  modeRef.current = mode;

  const load = useCallback(async () => {
    setError(null);
    try {
      const [cams, zs] = await Promise.all([client.cameras(), api.zones()]);
      setCameras(cams);
      setZones(zs);
      return { cams, zs };
    } catch (err) {
      setError(err);
      return null;
    }
  }, [client, api]);

  useEffect(() => {
    void loadMapConfig().then(setConfig);
    void load().then((loaded) => {
      if (!loaded) return;
      const place = params.get("place");
      const zone = params.get("zone");
      const camera = loaded.cams.find((c) => c.id === place);
      const z = loaded.zs.find((x) => x.id === zone);
      if (camera) setMode({ kind: "place", camera });
      else if (z) setMode(drawing(z));
    });
    // The query (?place=camera, ?zone=zone) only chooses the first mode.
  }, [load]);

  // The map itself, once the config is known.
  useEffect(() => {
    if (!config || !container.current || map.current) return;
    const m = L.map(container.current, { center: config.center, zoom: config.zoom, attributionControl: Boolean(config.attribution) });
    if (config.tileUrl) L.tileLayer(config.tileUrl, { attribution: config.attribution, maxZoom: 19 }).addTo(m);
    layers.current = L.layerGroup().addTo(m);
    draft.current = L.layerGroup().addTo(m);
    m.on("click", (event: L.LeafletMouseEvent) => onMapClick(event.latlng.lat, event.latlng.lng));
    map.current = m;
    return () => {
      m.remove();
      map.current = null;
    };
  }, [config]);

  // Markers and polygons (the zone being edited is the draft).
  const editing = mode.kind === "draw" ? mode.zone.id : null;
  useEffect(() => {
    const m = map.current;
    const group = layers.current;
    if (!m || !group) return;
    group.clearLayers();
    const bounds: L.LatLngExpression[] = [];
    for (const z of zones) {
      if (z.id === editing) continue; // drawn as the draft, with its handles
      const points = latLngsOf(z.geometry);
      if (points.length < 3) continue;
      L.polygon(points, { color: "#d29922", weight: 2, fillOpacity: 0.15, className: "zone-polygon" })
        .bindTooltip(z.name)
        .addTo(group);
      bounds.push(...points);
    }
    for (const c of cameras) {
      if (c.latitude === null || c.longitude === null) continue;
      const marker = L.circleMarker([c.latitude, c.longitude], {
        radius: 9,
        color: "#ffffff",
        weight: 2,
        fillColor: c.status === "active" ? "#2f81f7" : "#8b98a5",
        fillOpacity: 0.95,
        className: `camera-marker camera-${c.id}`,
      });
      marker.bindTooltip(c.name, { direction: "top" });
      marker.on("click", (event: L.LeafletMouseEvent) => {
        L.DomEvent.stopPropagation(event);
        if (modeRef.current.kind === "view") navigate(`/live?camera=${encodeURIComponent(c.id)}`);
      });
      marker.addTo(group);
      bounds.push([c.latitude, c.longitude]);
    }
    if (!fitted.current && bounds.length > 0) {
      m.fitBounds(L.latLngBounds(bounds), { padding: [40, 40], maxZoom: 16 });
      fitted.current = true;
    }
  }, [cameras, zones, config, navigate, editing]);

  // The polygon being drawn.
  useEffect(() => {
    const group = draft.current;
    if (!group) return;
    group.clearLayers();
    if (mode.kind !== "draw") return;
    if (mode.points.length > 1) L.polyline([...mode.points, mode.points[0]!], { color: "#d29922", dashArray: "4" }).addTo(group);
    mode.points.forEach((p, index) => {
      const handle = L.marker(p, {
        draggable: true,
        icon: L.divIcon({ className: "zone-handle", iconSize: [12, 12] }),
        keyboard: false,
      });
      handle.on("click", (event: L.LeafletMouseEvent) => L.DomEvent.stopPropagation(event));
      handle.on("dragend", () => {
        const at = handle.getLatLng();
        moveCorner(index, at.lat, at.lng);
      });
      handle.addTo(group);
    });
  }, [mode]);

  function onMapClick(lat: number, lng: number) {
    const current = modeRef.current;
    if (current.kind === "place") {
      const camera = current.camera;
      const round = (n: number) => Math.round(n * 1e6) / 1e6;
      void api
        .updateCamera(camera.id, { latitude: round(lat), longitude: round(lng) })
        .then(async () => {
          setNotice(t("map.placed", { name: camera.name }));
          setMode({ kind: "view" });
          await load();
          void reloadCameras().catch(() => undefined);
        })
        .catch(setError);
    } else if (current.kind === "draw") {
      setMode({ ...current, points: [...current.points, [lat, lng]] });
    }
  }

  function moveCorner(index: number, lat: number, lng: number) {
    const current = modeRef.current;
    if (current.kind !== "draw") return;
    setMode({ ...current, points: current.points.map((p, i) => (i === index ? [lat, lng] : p)) });
  }

  async function saveZone(remove = false) {
    if (mode.kind !== "draw") return;
    const geometry = remove ? null : polygonOf(mode.points);
    if (!geometry && !remove) return;
    try {
      await api.saveZone({ geometry }, mode.zone.id);
      setNotice(t("map.zoneSaved", { name: mode.zone.name }));
      setMode({ kind: "view" });
      await load();
    } catch (err) {
      setError(err);
    }
  }

  const unplaced = cameras.filter((c) => c.latitude === null || c.longitude === null).length;

  return (
    <section className="console-map">
      <h1>{t("map.title")}</h1>
      <ErrorNote error={error} onRetry={() => void load()} />
      <Notice text={notice} />
      {editable && (
        <div className="map-tools">
          <label>
            {t("map.place")}:{" "}
            <select
              value={mode.kind === "place" ? mode.camera.id : ""}
              onChange={(e) => {
                const camera = cameras.find((c) => c.id === e.target.value);
                setNotice(null);
                setMode(camera ? { kind: "place", camera } : { kind: "view" });
              }}
              data-testid="map-place"
            >
              <option value="">{t("map.choose")}</option>
              {cameras.map((c) => (
                <option key={c.id} value={c.id}>
                  {c.name}
                </option>
              ))}
            </select>
          </label>
          <label>
            {t("map.drawZone")}:{" "}
            <select
              value={mode.kind === "draw" ? mode.zone.id : ""}
              onChange={(e) => {
                const zone = zones.find((z) => z.id === e.target.value);
                setNotice(null);
                setMode(zone ? drawing(zone) : { kind: "view" });
              }}
              data-testid="map-draw"
            >
              <option value="">{t("map.choose")}</option>
              {zones.map((z) => (
                <option key={z.id} value={z.id}>
                  {z.name}
                </option>
              ))}
            </select>
          </label>
          {mode.kind === "draw" && (
            <>
              <span className="muted">{t("map.points", { count: mode.points.length })}</span>
              <button type="button" className="small secondary" disabled={mode.points.length === 0} onClick={() => setMode({ ...mode, points: mode.points.slice(0, -1) })}>
                {t("map.undoPoint")}
              </button>
              <button type="button" className="small secondary" disabled={mode.points.length === 0} onClick={() => setMode({ ...mode, points: [] })} data-testid="map-clear-zone">
                {t("map.clearPoints")}
              </button>
              <button type="button" className="small" disabled={mode.points.length < 3} onClick={() => void saveZone()} data-testid="map-save-zone">
                {t("map.saveZone")}
              </button>
              {mode.zone.geometry && (
                <button type="button" className="small danger" onClick={() => window.confirm(t("map.confirmRemoveShape", { name: mode.zone.name })) && void saveZone(true)} data-testid="map-remove-zone-shape">
                  {t("map.removeShape")}
                </button>
              )}
            </>
          )}
          {unplaced > 0 && <span className="muted">{t("map.unplaced", { count: unplaced })}</span>}
        </div>
      )}
      {mode.kind === "place" && <p className="muted" data-testid="map-hint">{t("map.placeHint", { name: mode.camera.name })}</p>}
      {mode.kind === "draw" && <p className="muted" data-testid="map-hint">{t("map.drawHint", { name: mode.zone.name })}</p>}
      {config && !config.tileUrl && <p className="muted small">{t("map.noTiles")}</p>}
      <div ref={container} className="map" data-testid="map" data-tiles={config?.tileUrl ? "yes" : "no"} />
      {config === null && <p className="muted">{t("common.loading")}</p>}
    </section>
  );
}
