import { describe, expect, it } from "vitest";
import { heatmapGrid, seriesByCamera } from "./shape";
import { toCsv } from "../../api/reports";
import { dayRange } from "./ReportsPage";

describe("report shapes", () => {
  it("gives each camera a dataset over every bucket", () => {
    const { labels, datasets } = seriesByCamera(
      {
        series: [
          { bucket_start: "2026-03-02T00:00", camera_id: "b", reads: 4 },
          { bucket_start: "2026-03-01T00:00", camera_id: "a", reads: 1 },
          { bucket_start: "2026-03-02T00:00", camera_id: "a", reads: 2 },
        ],
      },
      (id) => `Cam ${id}`,
    );
    expect(labels).toEqual(["2026-03-01", "2026-03-02"]);
    expect(datasets).toEqual([
      { label: "Cam a", data: [1, 2] },
      { label: "Cam b", data: [0, 4] },
    ]);
  });
  it("lays the heat map out as weekday by hour", () => {
    const grid = heatmapGrid([
      { weekday: 0, hour: 23, reads: 3 },
      { weekday: 6, hour: 0, reads: 5 },
      { weekday: 9, hour: 0, reads: 99 },
    ]);
    expect(grid.cells[0]![23]).toBe(3);
    expect(grid.cells[6]![0]).toBe(5);
    expect(grid.max).toBe(5);
  });
  it("writes CSV with quoting and no formulas", () => {
    expect(toCsv(["a", "b"], [["x,y", '=SUM(1)'], [null, 'say "hi"']])).toBe('a,b\r\n"x,y",\'=SUM(1)\r\n,"say ""hi"""\r\n');
  });
  it("reads whole local days in the tenant's zone", () => {
    expect(dayRange("2026-03-01", "2026-03-02", "America/Sao_Paulo")).toEqual({
      start: "2026-03-01T03:00:00.000Z",
      end: "2026-03-03T03:00:00.000Z",
    });
  });
});
