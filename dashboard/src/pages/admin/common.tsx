/** Pieces every admin console page shares: the console API, field errors, a notice. */
import { useMemo, type ReactNode } from "react";
import { useAuth } from "../../auth/AuthContext";
import { ConsoleApi } from "../../api/console";
import { ApiError } from "../../api/errors";

export function useConsole(): ConsoleApi {
  const { client } = useAuth();
  return useMemo(() => new ConsoleApi(client), [client]);
}

/** The messages an API 400 names for ``field`` (``details.<field>``), or none. */
export function fieldErrors(error: unknown, field: string): string[] {
  if (!(error instanceof ApiError) || error.status !== 400) return [];
  const value = error.details[field];
  if (Array.isArray(value)) return value.map(String);
  if (typeof value === "string") return [value];
  return [];
}

/** An error that names no field the form shows (so it is shown once, above the form). */
export function isFieldError(error: unknown, fields: readonly string[]): boolean {
  return error instanceof ApiError && error.status === 400 && fields.some((f) => f in error.details);
}

export function Field({
  label,
  name,
  error,
  children,
  hint,
}: {
  label: string;
  name: string;
  error: unknown;
  children: ReactNode;
  hint?: string;
}) {
  const messages = fieldErrors(error, name);
  return (
    <label className={`field${messages.length ? " invalid" : ""}`} data-field={name}>
      <span>{label}</span>
      {children}
      {hint && <small className="muted">{hint}</small>}
      {messages.map((m) => (
        <small key={m} className="field-error" data-testid={`error-${name}`}>
          {m}
        </small>
      ))}
    </label>
  );
}

export function Notice({ text }: { text: string | null }) {
  if (!text) return null;
  return (
    <p className="console-notice" role="status" data-testid="console-notice">
      {text}
    </p>
  );
}

/** "1.2 GB" */
export function formatBytes(bytes: number): string {
  const units = ["B", "KB", "MB", "GB", "TB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(unit === 0 ? 0 : 1)} ${units[unit]}`;
}
