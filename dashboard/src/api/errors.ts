/** The one error shape of every GT-Vision API: {"error": {"code", "message", "details"}}. */

export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly details: Record<string, unknown>;

  constructor(status: number, code: string, message: string, details: Record<string, unknown> = {}) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
    this.details = details;
  }

  /** Field errors, flattened to "field: message" lines, for forms. */
  fieldMessages(): string[] {
    const out: string[] = [];
    for (const [field, value] of Object.entries(this.details)) {
      if (field === "errors" && Array.isArray(value)) {
        // FastAPI validation: [{loc: [...], msg}]
        for (const e of value as Array<{ loc?: unknown[]; msg?: string }>) {
          const loc = (e.loc ?? []).filter((p) => p !== "body" && p !== "query").join(".");
          out.push(loc ? `${loc}: ${e.msg ?? ""}` : String(e.msg ?? ""));
        }
      } else if (Array.isArray(value)) {
        out.push(`${field}: ${value.map(String).join(" ")}`);
      } else if (typeof value === "string") {
        out.push(`${field}: ${value}`);
      }
    }
    return out;
  }
}

const STATUS_CODES: Record<number, string> = {
  400: "bad_request",
  401: "not_authenticated",
  403: "permission_denied",
  404: "not_found",
  409: "conflict",
  429: "throttled",
  500: "server_error",
  502: "bad_gateway",
  503: "service_unavailable",
  504: "gateway_timeout",
};

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * Turns any error response into an ApiError: the shared shape first, then the shapes a
 * proxy in front may answer with (Kong: {"message"}, DRF default: {"detail"}), then text.
 */
export function parseErrorBody(status: number, body: unknown, statusText = ""): ApiError {
  const fallbackCode = STATUS_CODES[status] ?? (status >= 500 ? "server_error" : "error");
  if (isRecord(body) && isRecord(body.error)) {
    const e = body.error;
    return new ApiError(
      status,
      typeof e.code === "string" && e.code ? e.code : fallbackCode,
      typeof e.message === "string" && e.message ? e.message : statusText || fallbackCode,
      isRecord(e.details) ? e.details : {},
    );
  }
  if (isRecord(body)) {
    const message = body.message ?? body.detail;
    if (typeof message === "string") return new ApiError(status, fallbackCode, message);
  }
  if (typeof body === "string" && body.trim() && body.length < 300 && !body.trimStart().startsWith("<")) {
    return new ApiError(status, fallbackCode, body.trim());
  }
  return new ApiError(status, fallbackCode, statusText || `HTTP ${status}`);
}

/** A request that never reached the API (offline, DNS, aborted). */
export class NetworkError extends ApiError {
  constructor(message: string) {
    super(0, "network_error", message);
    this.name = "NetworkError";
  }
}
