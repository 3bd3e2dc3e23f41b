/** Geometry of the recordings timeline of one day (pure; unit-tested). */
import type { Recording } from "../api/types";

export interface Span {
  left: number; // percent
  width: number; // percent
}

export function spanOf(rec: Recording, dayStart: number, dayEnd: number): Span | null {
  const s = Math.max(Date.parse(rec.started_at), dayStart);
  const e = Math.min(Date.parse(rec.ended_at), dayEnd);
  if (!(e > s)) return null;
  const total = dayEnd - dayStart;
  return { left: ((s - dayStart) / total) * 100, width: Math.max(0.05, ((e - s) / total) * 100) };
}

/** Adjacent segments (gap ≤ `gapMs`) merged into blocks, so a day of 1-minute segments draws fast. */
export function mergeSpans(recs: Recording[], gapMs = 2_000): Array<{ start: number; end: number }> {
  const sorted = [...recs].sort((a, b) => Date.parse(a.started_at) - Date.parse(b.started_at));
  const out: Array<{ start: number; end: number }> = [];
  for (const r of sorted) {
    const s = Date.parse(r.started_at);
    const e = Date.parse(r.ended_at);
    const last = out[out.length - 1];
    if (last && s - last.end <= gapMs) last.end = Math.max(last.end, e);
    else out.push({ start: s, end: e });
  }
  return out;
}

/** Where to play instant `at`: the segment containing it, else the next one within `leewayMs`. */
export function segmentAt(
  recs: Recording[],
  at: number,
  leewayMs = 120_000,
): { recording: Recording; offsetSeconds: number } | null {
  const sorted = [...recs].sort((a, b) => Date.parse(a.started_at) - Date.parse(b.started_at));
  for (const r of sorted) {
    const s = Date.parse(r.started_at);
    const e = Date.parse(r.ended_at);
    if (at >= s && at < e) return { recording: r, offsetSeconds: (at - s) / 1000 };
  }
  for (const r of sorted) {
    const s = Date.parse(r.started_at);
    if (s >= at && s - at <= leewayMs) return { recording: r, offsetSeconds: 0 };
  }
  return null;
}

/** The segment that follows `current` (for continuous playback across segments). */
export function nextSegment(recs: Recording[], current: Recording, gapMs = 5_000): Recording | null {
  const end = Date.parse(current.ended_at);
  let best: Recording | null = null;
  for (const r of recs) {
    const s = Date.parse(r.started_at);
    if (r.id === current.id || s < end - gapMs || s > end + gapMs) continue;
    if (!best || s < Date.parse(best.started_at)) best = r;
  }
  return best;
}

/** Fraction of the day (0..1) → instant. */
export function instantAt(fraction: number, dayStart: number, dayEnd: number): number {
  return dayStart + Math.min(1, Math.max(0, fraction)) * (dayEnd - dayStart);
}
