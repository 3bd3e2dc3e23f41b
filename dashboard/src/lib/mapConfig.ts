/**
 * The map's settings, read at run time from /config.json (served beside the dashboard, so
 * an installation sets its tile server without a rebuild). No tile URL — the default, and
 * what the offline tests use — shows the markers and zones on a blank background.
 */
export interface MapConfig {
  tileUrl: string;
  attribution: string;
  center: [number, number];
  zoom: number;
}

export const DEFAULT_MAP_CONFIG: MapConfig = {
  tileUrl: "",
  attribution: "",
  center: [-22.9056, -47.0608],
  zoom: 13,
};

function isLatLng(value: unknown): value is [number, number] {
  return (
    Array.isArray(value) &&
    value.length === 2 &&
    typeof value[0] === "number" &&
    typeof value[1] === "number" &&
    Math.abs(value[0]) <= 90 &&
    Math.abs(value[1]) <= 180
  );
}

/** A tile URL must be http(s) with Leaflet's {z}/{x}/{y} placeholders; anything else is ignored. */
export function parseMapConfig(raw: unknown): MapConfig {
  const out = { ...DEFAULT_MAP_CONFIG };
  if (typeof raw !== "object" || raw === null) return out;
  const r = raw as Record<string, unknown>;
  if (typeof r.map_tile_url === "string" && /^https?:\/\//.test(r.map_tile_url) && r.map_tile_url.includes("{z}")) {
    out.tileUrl = r.map_tile_url;
  }
  if (typeof r.map_attribution === "string") out.attribution = r.map_attribution;
  if (isLatLng(r.map_center)) out.center = r.map_center;
  if (typeof r.map_zoom === "number" && r.map_zoom >= 1 && r.map_zoom <= 20) out.zoom = r.map_zoom;
  return out;
}

export async function loadMapConfig(fetchImpl: typeof fetch = (i, init) => window.fetch(i, init)): Promise<MapConfig> {
  try {
    const response = await fetchImpl("/config.json", { headers: { Accept: "application/json" } });
    if (!response.ok) return DEFAULT_MAP_CONFIG;
    return parseMapConfig(await response.json());
  } catch {
    return DEFAULT_MAP_CONFIG;
  }
}

/** Clicked points ([lat, lng]) as a closed GeoJSON ring ([lng, lat]); null under 3 points. */
export function polygonOf(points: ReadonlyArray<readonly [number, number]>): { type: "Polygon"; coordinates: number[][][] } | null {
  if (points.length < 3) return null;
  const ring = points.map(([lat, lng]) => [lng, lat]);
  ring.push([...ring[0]!]);
  return { type: "Polygon", coordinates: [ring] };
}

/** A GeoJSON ring back to Leaflet's [lat, lng] points (without the closing point). */
export function latLngsOf(polygon: { coordinates: number[][][] } | null | undefined): Array<[number, number]> {
  const ring = polygon?.coordinates?.[0] ?? [];
  const points = ring.map((p) => [p[1] ?? 0, p[0] ?? 0] as [number, number]);
  return points.length > 1 ? points.slice(0, -1) : points;
}
