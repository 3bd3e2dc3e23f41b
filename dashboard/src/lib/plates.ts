/**
 * Plate search queries as the detections API takes them (SPEC §10): exact `ABC1D23`,
 * prefix `ABC*`, similar `~ABC1D23`. Brazilian plates: old `ABC1234`, Mercosul `ABC1D23`.
 */

export type PlateMode = "exact" | "prefix" | "similar";

export interface PlateQuery {
  mode: PlateMode;
  /** Normalised plate text (upper case, no separators, no operators). */
  plate: string;
}

export type PlateQueryError = "empty" | "invalid_characters" | "too_long" | "too_short" | "invalid_plate";

const OLD = /^[A-Z]{3}[0-9]{4}$/;
const MERCOSUL = /^[A-Z]{3}[0-9][A-Z][0-9]{2}$/;

/** Upper case, separators (space, dash, dot) removed. */
export function normalisePlate(text: string): string {
  return text.toUpperCase().replace(/[\s.\-·]/g, "");
}

export function isValidPlate(plate: string): boolean {
  return OLD.test(plate) || MERCOSUL.test(plate);
}

/** Parses what the operator typed; `mode` applies when the text has no operator of its own. */
export function parsePlateQuery(input: string, mode: PlateMode = "exact"): PlateQuery | PlateQueryError {
  let text = input.trim();
  if (!text) return "empty";
  let chosen = mode;
  if (text.startsWith("~")) {
    chosen = "similar";
    text = text.slice(1);
  } else if (text.endsWith("*")) {
    chosen = "prefix";
    text = text.replace(/\*+$/, "");
  }
  const plate = normalisePlate(text);
  if (!plate) return "empty";
  if (!/^[A-Z0-9]+$/.test(plate)) return "invalid_characters";
  if (plate.length > 7) return "too_long";
  if (chosen === "prefix") return { mode: chosen, plate };
  if (chosen === "similar") return plate.length < 3 ? "too_short" : { mode: chosen, plate };
  return isValidPlate(plate) ? { mode: chosen, plate } : "invalid_plate";
}

/** The `plate` query parameter for GET /api/ai/detections/. */
export function plateParam(query: PlateQuery): string {
  switch (query.mode) {
    case "prefix":
      return `${query.plate}*`;
    case "similar":
      return `~${query.plate}`;
    default:
      return query.plate;
  }
}

/** "ABC1D23" → "ABC-1D23" for display (old layout gets the dash too). */
export function formatPlate(plate: string): string {
  return /^[A-Z]{3}[0-9A-Z]{4}$/.test(plate) ? `${plate.slice(0, 3)}-${plate.slice(3)}` : plate;
}
