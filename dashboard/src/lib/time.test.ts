import { describe, expect, it } from "vitest";
import { isValidTimeZone, zoneOffsetMinutes, zonedDay, zonedDayRange, zonedTime, zonedToUtc } from "./time";

describe("tenant time zone helpers", () => {
  it("knows São Paulo is UTC-3", () => {
    expect(zoneOffsetMinutes(new Date("2025-03-05T12:00:00Z"), "America/Sao_Paulo")).toBe(-180);
  });
  it("converts a local wall-clock time to UTC", () => {
    expect(zonedToUtc("2025-03-05", "14:07:09", "America/Sao_Paulo").toISOString()).toBe("2025-03-05T17:07:09.000Z");
    expect(zonedToUtc("2025-03-05", "00:00:00", "UTC").toISOString()).toBe("2025-03-05T00:00:00.000Z");
  });
  it("gives a local day as a UTC range", () => {
    const { start, end } = zonedDayRange("2025-03-05", "America/Sao_Paulo");
    expect(start.toISOString()).toBe("2025-03-05T03:00:00.000Z");
    expect(end.toISOString()).toBe("2025-03-06T03:00:00.000Z");
  });
  it("handles a DST day (23 hours)", () => {
    const { start, end } = zonedDayRange("2025-03-30", "Europe/Lisbon");
    expect((end.getTime() - start.getTime()) / 3_600_000).toBe(23);
  });
  it("reads the local day and time of an instant", () => {
    const late = new Date("2025-03-06T02:30:00Z");
    expect(zonedDay(late, "America/Sao_Paulo")).toBe("2025-03-05");
    expect(zonedTime(late, "America/Sao_Paulo")).toBe("23:30:00");
  });
  it("validates zone names", () => {
    expect(isValidTimeZone("America/Sao_Paulo")).toBe(true);
    expect(isValidTimeZone("Mars/Base")).toBe(false);
    expect(isValidTimeZone(null)).toBe(false);
  });
});
