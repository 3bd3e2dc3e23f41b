import { describe, expect, it } from "vitest";
import { en, ptBR } from "./messages";
import { formatDateTime, initialLocale, translate } from "./i18n";

describe("i18n", () => {
  it("has every pt-BR key in English, none empty", () => {
    expect(Object.keys(en).sort()).toEqual(Object.keys(ptBR).sort());
    for (const [key, value] of [...Object.entries(ptBR), ...Object.entries(en)]) expect(value, key).not.toBe("");
  });
  it("uses the same placeholders in both languages", () => {
    const vars = (s: string) => (s.match(/\{\w+\}/g) ?? []).sort();
    for (const key of Object.keys(ptBR) as Array<keyof typeof ptBR>) expect(vars(en[key]), key).toEqual(vars(ptBR[key]));
  });
  it("translates with parameters", () => {
    expect(translate("pt-BR", "header.unacked", { count: 3 })).toBe("3 alertas não reconhecidos");
    expect(translate("en", "header.unacked", { count: 3 })).toBe("3 unacknowledged alerts");
    expect(translate("en", "common.error", {})).toBe("Error: {message}");
  });
  it("defaults to pt-BR", () => {
    expect(initialLocale(null, [])).toBe("pt-BR");
    expect(initialLocale(null, ["de-DE"])).toBe("pt-BR");
    expect(initialLocale(null, ["en-US", "pt-BR"])).toBe("en");
    expect(initialLocale("en", ["pt-BR"])).toBe("en");
    expect(initialLocale("xx", ["pt-BR"])).toBe("pt-BR");
  });
  it("shows times in the tenant's time zone", () => {
    const sp = formatDateTime("2025-03-05T17:07:09Z", "pt-BR", "America/Sao_Paulo");
    expect(sp).toContain("05/03/2025");
    expect(sp).toContain("14:07:09");
    expect(formatDateTime("2025-03-05T17:07:09Z", "pt-BR", "America/Manaus")).toContain("13:07:09");
    expect(formatDateTime("2025-03-05T17:07:09Z", "en", "UTC")).toContain("17:07:09");
  });
});
