/** Report responses reshaped for charts (pure functions, unit-tested). */
import type { Dataset } from "../../components/Chart";
import type { TrafficReport } from "../../api/reports";

/** One dataset per camera over the sorted buckets (missing buckets are 0). */
export function seriesByCamera(report: Pick<TrafficReport, "series">, nameOf: (cameraId: string) => string): { labels: string[]; datasets: Dataset[] } {
  const labels = [...new Set(report.series.map((p) => p.bucket_start))].sort();
  const index = new Map(labels.map((l, i) => [l, i]));
  const byCamera = new Map<string, number[]>();
  for (const p of report.series) {
    let data = byCamera.get(p.camera_id);
    if (!data) {
      data = new Array<number>(labels.length).fill(0);
      byCamera.set(p.camera_id, data);
    }
    data[index.get(p.bucket_start)!] = p.reads;
  }
  const datasets = [...byCamera.entries()].map(([id, data]) => ({ label: nameOf(id), data })).sort((a, b) => a.label.localeCompare(b.label));
  return { labels: labels.map((l) => l.replace("T00:00", "").replace("T", " ")), datasets };
}

/** 7 weekdays (0 = Sunday) × 24 hours, and the largest cell. */
export function heatmapGrid(cells: TrafficReport["heatmap"]): { cells: number[][]; max: number } {
  const grid = Array.from({ length: 7 }, () => new Array<number>(24).fill(0));
  let max = 0;
  for (const c of cells) {
    if (c.weekday < 0 || c.weekday > 6 || c.hour < 0 || c.hour > 23) continue;
    grid[c.weekday]![c.hour] = c.reads;
    max = Math.max(max, c.reads);
  }
  return { cells: grid, max };
}
