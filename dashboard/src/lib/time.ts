/**
 * Dates in the tenant's time zone. The APIs speak UTC ISO 8601; operators think in their
 * city's local time (America/Sao_Paulo by default).
 */

export const DEFAULT_TIMEZONE = "America/Sao_Paulo";

function partsIn(date: Date, timeZone: string): Record<string, number> {
  const fmt = new Intl.DateTimeFormat("en-US", {
    timeZone,
    hourCycle: "h23",
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit",
  });
  const out: Record<string, number> = {};
  for (const p of fmt.formatToParts(date)) if (p.type !== "literal") out[p.type] = Number(p.value);
  return out;
}

/** Minutes the zone is ahead of UTC at `date` (São Paulo: -180). */
export function zoneOffsetMinutes(date: Date, timeZone: string): number {
  const p = partsIn(date, timeZone);
  const asUtc = Date.UTC(p.year ?? 1970, (p.month ?? 1) - 1, p.day ?? 1, p.hour ?? 0, p.minute ?? 0, p.second ?? 0);
  return Math.round((asUtc - Math.floor(date.getTime() / 1000) * 1000) / 60000);
}

/** The UTC instant of a wall-clock time in a zone ("2024-05-01", "13:45"). */
export function zonedToUtc(day: string, time: string, timeZone: string): Date {
  const [y, m, d] = day.split("-").map(Number);
  const [hh, mm, ss] = time.split(":").map(Number);
  const guess = Date.UTC(y ?? 1970, (m ?? 1) - 1, d ?? 1, hh ?? 0, mm ?? 0, ss ?? 0);
  let instant = guess - zoneOffsetMinutes(new Date(guess), timeZone) * 60000;
  // Second pass: the offset at the instant itself (DST changes between guess and instant).
  instant = guess - zoneOffsetMinutes(new Date(instant), timeZone) * 60000;
  return new Date(instant);
}

/** [start, end) of a calendar day in a zone, as UTC instants. */
export function zonedDayRange(day: string, timeZone: string): { start: Date; end: Date } {
  const start = zonedToUtc(day, "00:00:00", timeZone);
  const [y, m, d] = day.split("-").map(Number);
  const next = new Date(Date.UTC(y ?? 1970, (m ?? 1) - 1, (d ?? 1) + 1));
  const end = zonedToUtc(next.toISOString().slice(0, 10), "00:00:00", timeZone);
  return { start, end };
}

/** "YYYY-MM-DD" of an instant in a zone. */
export function zonedDay(date: Date, timeZone: string): string {
  const p = partsIn(date, timeZone);
  const pad = (n: number | undefined) => String(n ?? 0).padStart(2, "0");
  return `${p.year}-${pad(p.month)}-${pad(p.day)}`;
}

/** "HH:MM:SS" of an instant in a zone. */
export function zonedTime(date: Date, timeZone: string): string {
  const p = partsIn(date, timeZone);
  const pad = (n: number | undefined) => String(n ?? 0).padStart(2, "0");
  return `${pad(p.hour)}:${pad(p.minute)}:${pad(p.second)}`;
}

export function isValidTimeZone(timeZone: string | null | undefined): timeZone is string {
  if (!timeZone) return false;
  try {
    new Intl.DateTimeFormat("en-US", { timeZone });
    return true;
  } catch {
    return false;
  }
}

/** ISO 8601 UTC with "Z", as the APIs want it. */
export function isoUtc(date: Date): string {
  return date.toISOString();
}
