/**
 * One chart.js chart (bar or line) on a canvas; rebuilt when its data change. chart.js is
 * registered with only the pieces these reports use, so the bundle stays small.
 */
import { useEffect, useRef } from "react";
import {
  BarController,
  BarElement,
  CategoryScale,
  Chart as ChartJs,
  Legend,
  LinearScale,
  LineController,
  LineElement,
  PointElement,
  Tooltip,
  type ChartConfiguration,
} from "chart.js";

ChartJs.register(BarController, BarElement, CategoryScale, Legend, LinearScale, LineController, LineElement, PointElement, Tooltip);

export const PALETTE = ["#2f81f7", "#2ea043", "#d29922", "#f85149", "#a371f7", "#3fb950", "#db61a2", "#79c0ff", "#ffa657", "#8b98a5"];

export interface Dataset {
  label: string;
  data: number[];
}

export function Chart({
  type,
  labels,
  datasets,
  stacked = false,
  testId,
}: {
  type: "bar" | "line";
  labels: string[];
  datasets: Dataset[];
  stacked?: boolean;
  testId?: string;
}) {
  const canvas = useRef<HTMLCanvasElement | null>(null);

  useEffect(() => {
    const element = canvas.current;
    // No 2D context (unit tests in jsdom): nothing to draw.
    if (!element || !element.getContext?.("2d")) return;
    const config: ChartConfiguration<"bar" | "line"> = {
      type,
      data: {
        labels,
        datasets: datasets.map((d, i) => ({
          label: d.label,
          data: d.data,
          backgroundColor: PALETTE[i % PALETTE.length],
          borderColor: PALETTE[i % PALETTE.length],
          tension: 0.2,
        })),
      },
      options: {
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        plugins: { legend: { labels: { color: "#c9d1d9" } } },
        scales: {
          x: { stacked, ticks: { color: "#8b98a5" }, grid: { color: "#2b3440" } },
          y: { stacked, beginAtZero: true, ticks: { color: "#8b98a5", precision: 0 }, grid: { color: "#2b3440" } },
        },
      },
    };
    const chart = new ChartJs(element, config);
    return () => chart.destroy();
  }, [type, labels, datasets, stacked]);

  return (
    <div className="chart" data-testid={testId}>
      <canvas ref={canvas} />
    </div>
  );
}
