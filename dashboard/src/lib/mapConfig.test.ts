import { describe, expect, it } from "vitest";
import { DEFAULT_MAP_CONFIG, latLngsOf, loadMapConfig, parseMapConfig, polygonOf } from "./mapConfig";

describe("map config", () => {
  it("takes an http(s) tile URL with placeholders, else none", () => {
    expect(parseMapConfig({ map_tile_url: "https://tiles.example/{z}/{x}/{y}.png" }).tileUrl).toBe("https://tiles.example/{z}/{x}/{y}.png");
    expect(parseMapConfig({ map_tile_url: "javascript:alert(1)//{z}" }).tileUrl).toBe("");
    expect(parseMapConfig({ map_tile_url: "https://tiles.example/static.png" }).tileUrl).toBe("");
    expect(parseMapConfig(null)).toEqual(DEFAULT_MAP_CONFIG);
    expect(parseMapConfig({ map_center: [100, 0], map_zoom: 99 })).toEqual(DEFAULT_MAP_CONFIG);
  });
  it("falls back to no tiles when /config.json is missing", async () => {
    const missing = (async () => new Response("no", { status: 404 })) as typeof fetch;
    expect(await loadMapConfig(missing)).toEqual(DEFAULT_MAP_CONFIG);
    const broken = (async () => {
      throw new Error("offline");
    }) as typeof fetch;
    expect(await loadMapConfig(broken)).toEqual(DEFAULT_MAP_CONFIG);
  });
});

describe("zone polygons", () => {
  it("closes the clicked ring in GeoJSON order and reads it back", () => {
    const points: Array<[number, number]> = [
      [-22.9, -47.06],
      [-22.9, -47.05],
      [-22.91, -47.05],
    ];
    const polygon = polygonOf(points);
    expect(polygon).toEqual({
      type: "Polygon",
      coordinates: [[[-47.06, -22.9], [-47.05, -22.9], [-47.05, -22.91], [-47.06, -22.9]]],
    });
    expect(latLngsOf(polygon)).toEqual(points);
    expect(polygonOf(points.slice(0, 2))).toBeNull();
  });
});
