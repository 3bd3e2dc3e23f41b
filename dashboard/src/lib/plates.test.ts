import { describe, expect, it } from "vitest";
import { formatPlate, isValidPlate, normalisePlate, parsePlateQuery, plateParam } from "./plates";

describe("plate queries", () => {
  it("normalises case and separators", () => {
    expect(normalisePlate(" abc-1d23 ")).toBe("ABC1D23");
    expect(normalisePlate("abc.1234")).toBe("ABC1234");
  });
  it("knows both Brazilian layouts", () => {
    expect(isValidPlate("ABC1234")).toBe(true);
    expect(isValidPlate("ABC1D23")).toBe(true);
    expect(isValidPlate("AB12345")).toBe(false);
  });
  it("parses exact plates", () => {
    expect(parsePlateQuery("abc-1d23")).toEqual({ mode: "exact", plate: "ABC1D23" });
    expect(parsePlateQuery("ABC12")).toBe("invalid_plate");
  });
  it("parses prefixes from a trailing star or the chosen mode", () => {
    expect(parsePlateQuery("abc*")).toEqual({ mode: "prefix", plate: "ABC" });
    expect(parsePlateQuery("ABC1", "prefix")).toEqual({ mode: "prefix", plate: "ABC1" });
  });
  it("parses similarity searches from a leading tilde or the chosen mode", () => {
    expect(parsePlateQuery("~ABC1D23")).toEqual({ mode: "similar", plate: "ABC1D23" });
    expect(parsePlateQuery("abc1d2", "similar")).toEqual({ mode: "similar", plate: "ABC1D2" });
    expect(parsePlateQuery("~AB")).toBe("too_short");
  });
  it("rejects what cannot be a plate", () => {
    expect(parsePlateQuery("   ")).toBe("empty");
    expect(parsePlateQuery("*")).toBe("empty");
    expect(parsePlateQuery("AB$1234")).toBe("invalid_characters");
    expect(parsePlateQuery("ABC12345")).toBe("too_long");
  });
  it("writes the API's plate parameter", () => {
    expect(plateParam({ mode: "exact", plate: "ABC1D23" })).toBe("ABC1D23");
    expect(plateParam({ mode: "prefix", plate: "ABC" })).toBe("ABC*");
    expect(plateParam({ mode: "similar", plate: "ABC1D23" })).toBe("~ABC1D23");
  });
  it("formats plates for display", () => {
    expect(formatPlate("ABC1D23")).toBe("ABC-1D23");
    expect(formatPlate("ABC*")).toBe("ABC*");
  });
});
