import { describe, expect, it } from "vitest";
import { ApiError, parseErrorBody } from "./errors";

describe("parseErrorBody", () => {
  it("reads the shared error shape", () => {
    const e = parseErrorBody(409, { error: { code: "camera_unavailable", message: "offline", details: { camera_id: "c" } } });
    expect(e).toBeInstanceOf(ApiError);
    expect([e.status, e.code, e.message, e.details]).toEqual([409, "camera_unavailable", "offline", { camera_id: "c" }]);
  });
  it("fills a missing code and details from the status", () => {
    const e = parseErrorBody(404, { error: { message: "gone" } });
    expect([e.code, e.message, e.details]).toEqual(["not_found", "gone", {}]);
  });
  it("reads a gateway's {message} (Kong) and DRF's {detail}", () => {
    expect(parseErrorBody(429, { message: "API rate limit exceeded" })).toMatchObject({ code: "throttled", message: "API rate limit exceeded" });
    expect(parseErrorBody(403, { detail: "nope" })).toMatchObject({ code: "permission_denied", message: "nope" });
  });
  it("never shows an HTML error page as a message", () => {
    expect(parseErrorBody(503, "<html><body>503 Service Unavailable</body></html>", "Service Unavailable").message).toBe(
      "Service Unavailable",
    );
  });
  it("flattens DRF and FastAPI field errors", () => {
    expect(new ApiError(400, "validation_error", "x", { name: ["required"] }).fieldMessages()).toEqual(["name: required"]);
    expect(
      new ApiError(400, "validation_error", "x", { errors: [{ loc: ["body", "plate"], msg: "bad plate" }] }).fieldMessages(),
    ).toEqual(["plate: bad plate"]);
  });
});
