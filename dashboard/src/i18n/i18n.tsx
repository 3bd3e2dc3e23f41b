/**
 * A small i18n layer: pt-BR by default, English available; the choice is kept in
 * localStorage. Dates are always shown in the tenant's time zone.
 */
import { createContext, useCallback, useContext, useMemo, useState, type ReactNode } from "react";
import { en, ptBR, type MessageKey, type Messages } from "./messages";
import { DEFAULT_TIMEZONE } from "../lib/time";

export type Locale = "pt-BR" | "en";
export const LOCALES: readonly Locale[] = ["pt-BR", "en"];
export const LOCALE_STORAGE_KEY = "gtv.locale";

const CATALOGUES: Record<Locale, Messages> = { "pt-BR": ptBR, en };

export type Params = Record<string, string | number>;

export function translate(locale: Locale, key: MessageKey, params?: Params): string {
  const template = CATALOGUES[locale][key] ?? ptBR[key] ?? key;
  if (!params) return template;
  return template.replace(/\{(\w+)\}/g, (match, name: string) =>
    name in params ? String(params[name]) : match,
  );
}

export function initialLocale(stored: string | null, browser: readonly string[] = []): Locale {
  if (stored === "pt-BR" || stored === "en") return stored;
  // pt-BR unless the browser prefers English before any Portuguese.
  for (const lang of browser) {
    if (lang.toLowerCase().startsWith("pt")) return "pt-BR";
    if (lang.toLowerCase().startsWith("en")) return "en";
  }
  return "pt-BR";
}

/** A date-time in the tenant's zone, e.g. "05/03/2025 14:07:09" (pt-BR). */
export function formatDateTime(iso: string | Date, locale: Locale, timeZone: string = DEFAULT_TIMEZONE): string {
  const date = typeof iso === "string" ? new Date(iso) : iso;
  if (Number.isNaN(date.getTime())) return String(iso);
  return new Intl.DateTimeFormat(locale, {
    timeZone,
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit",
    hourCycle: "h23",
  }).format(date);
}

export function formatTime(iso: string | Date, locale: Locale, timeZone: string = DEFAULT_TIMEZONE): string {
  const date = typeof iso === "string" ? new Date(iso) : iso;
  return new Intl.DateTimeFormat(locale, {
    timeZone,
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit",
    hourCycle: "h23",
  }).format(date);
}

interface I18nValue {
  locale: Locale;
  setLocale: (locale: Locale) => void;
  t: (key: MessageKey, params?: Params) => string;
}

const I18nContext = createContext<I18nValue | null>(null);

function readStored(): string | null {
  try {
    return window.localStorage.getItem(LOCALE_STORAGE_KEY);
  } catch {
    return null;
  }
}

export function I18nProvider({ children, locale: forced }: { children: ReactNode; locale?: Locale }) {
  const [locale, setLocaleState] = useState<Locale>(
    () => forced ?? initialLocale(readStored(), typeof navigator !== "undefined" ? navigator.languages ?? [] : []),
  );
  const setLocale = useCallback((next: Locale) => {
    setLocaleState(next);
    try {
      window.localStorage.setItem(LOCALE_STORAGE_KEY, next);
    } catch {
      /* private mode: the choice lasts this page only */
    }
    document.documentElement.lang = next;
  }, []);
  const value = useMemo<I18nValue>(
    () => ({ locale, setLocale, t: (key, params) => translate(locale, key, params) }),
    [locale, setLocale],
  );
  return <I18nContext.Provider value={value}>{children}</I18nContext.Provider>;
}

export function useI18n(): I18nValue {
  const value = useContext(I18nContext);
  if (!value) throw new Error("useI18n outside I18nProvider");
  return value;
}

export type { MessageKey };
