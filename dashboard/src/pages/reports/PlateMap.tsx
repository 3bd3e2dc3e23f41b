import { useEffect, useRef, useState } from "react";
import L from "leaflet";
import "leaflet/dist/leaflet.css";
import type { PlateRead } from "../../api/reports";
import { loadMapConfig, type MapConfig } from "../../lib/mapConfig";

/** Where one plate was read: a marker per camera (sized by its reads), the path in time order. */
export function PlateMap({ reads }: { reads: PlateRead[] }) {
  const container = useRef<HTMLDivElement | null>(null);
  const [config, setConfig] = useState<MapConfig | null>(null);

  useEffect(() => {
    void loadMapConfig().then(setConfig);
  }, []);

  useEffect(() => {
    if (!config || !container.current) return;
    const map = L.map(container.current, { center: config.center, zoom: config.zoom, attributionControl: Boolean(config.attribution) });
    if (config.tileUrl) L.tileLayer(config.tileUrl, { attribution: config.attribution, maxZoom: 19 }).addTo(map);
    const placed = reads.filter((r) => r.latitude !== null && r.longitude !== null);
    const perCamera = new Map<string, { read: PlateRead; n: number }>();
    for (const r of placed) {
      const cur = perCamera.get(r.camera_id);
      perCamera.set(r.camera_id, { read: r, n: (cur?.n ?? 0) + 1 });
    }
    for (const { read, n } of perCamera.values()) {
      L.circleMarker([read.latitude!, read.longitude!], { radius: 6 + Math.min(10, n), color: "#fff", weight: 2, fillColor: "#f85149", fillOpacity: 0.9, className: "plate-marker" })
        .bindTooltip(`${read.camera_name ?? read.camera_id}: ${n}`)
        .addTo(map);
    }
    const path = [...placed].sort((a, b) => a.detected_at.localeCompare(b.detected_at)).map((r) => [r.latitude!, r.longitude!] as [number, number]);
    if (path.length > 1) L.polyline(path, { color: "#f85149", weight: 2, dashArray: "4" }).addTo(map);
    if (path.length > 0) map.fitBounds(L.latLngBounds(path), { padding: [30, 30], maxZoom: 16 });
    return () => {
      map.remove();
    };
  }, [config, reads]);

  return <div ref={container} className="map" style={{ height: 360 }} data-testid="plate-map" />;
}
