import { describe, expect, it } from "vitest";
import { can, hasRole, highestRole } from "./roles";

describe("role gating", () => {
  it("lets viewers see but not act", () => {
    for (const action of ["live.view", "recording.view", "detection.search"] as const) expect(can(["viewer"], action)).toBe(true);
    for (const action of ["stream.start", "snapshot.take", "alert.acknowledge", "watchlist.edit", "export.request", "admin.open"] as const)
      expect(can(["viewer"], action)).toBe(false);
  });
  it("lets operators act but not administer", () => {
    expect(can(["operator"], "alert.acknowledge")).toBe(true);
    expect(can(["operator"], "snapshot.take")).toBe(true);
    expect(can(["operator"], "watchlist.edit")).toBe(true);
    expect(can(["operator"], "admin.open")).toBe(false);
  });
  it("gives higher roles the powers of lower ones", () => {
    expect(can(["tenant_admin"], "alert.acknowledge")).toBe(true);
    expect(can(["tenant_admin"], "admin.open")).toBe(true);
    expect(hasRole(["superadmin"], "tenant_admin")).toBe(true);
  });
  it("picks the highest role and ignores unknown ones", () => {
    expect(highestRole(["viewer", "operator", "janitor"])).toBe("operator");
    expect(highestRole(["janitor"])).toBeNull();
    expect(can([], "live.view")).toBe(false);
    expect(can(undefined, "live.view")).toBe(false);
  });
});
