import { describe, expect, it } from "vitest";
import { instantAt, mergeSpans, nextSegment, segmentAt, spanOf } from "./timeline";
import type { Recording } from "../api/types";

const rec = (id: string, start: string, end: string): Recording => ({ id, camera_id: "c", started_at: start, ended_at: end, size_bytes: 1 });
const day0 = Date.parse("2025-03-05T03:00:00Z");
const day1 = Date.parse("2025-03-06T03:00:00Z");
const recs = [
  rec("a", "2025-03-05T15:00:00Z", "2025-03-05T15:01:00Z"),
  rec("b", "2025-03-05T15:01:00Z", "2025-03-05T15:02:00Z"),
  rec("c", "2025-03-05T16:00:00Z", "2025-03-05T16:01:00Z"),
];

describe("timeline", () => {
  it("positions a segment as a percentage of the day", () => {
    const span = spanOf(recs[0]!, day0, day1)!;
    expect(span.left).toBeCloseTo(50);
    expect(span.width).toBeCloseTo(100 / 1440);
  });
  it("clips segments to the day and drops those outside", () => {
    expect(spanOf(rec("x", "2025-03-05T02:59:00Z", "2025-03-05T03:01:00Z"), day0, day1)!.left).toBe(0);
    expect(spanOf(rec("y", "2025-03-04T00:00:00Z", "2025-03-04T00:01:00Z"), day0, day1)).toBeNull();
  });
  it("merges adjacent segments into blocks", () => {
    expect(mergeSpans(recs)).toHaveLength(2);
  });
  it("finds the segment and offset of an instant", () => {
    const hit = segmentAt(recs, Date.parse("2025-03-05T15:01:30Z"))!;
    expect(hit.recording.id).toBe("b");
    expect(hit.offsetSeconds).toBe(30);
  });
  it("falls forward to the next segment shortly after a gap, not far", () => {
    expect(segmentAt(recs, Date.parse("2025-03-05T15:59:00Z"))!.recording.id).toBe("c");
    expect(segmentAt(recs, Date.parse("2025-03-05T15:30:00Z"))).toBeNull();
  });
  it("continues into the following segment", () => {
    expect(nextSegment(recs, recs[0]!)!.id).toBe("b");
    expect(nextSegment(recs, recs[1]!)).toBeNull();
  });
  it("maps a click position to an instant", () => {
    expect(instantAt(0.5, day0, day1)).toBe(Date.parse("2025-03-05T15:00:00Z"));
    expect(instantAt(2, day0, day1)).toBe(day1);
  });
});
