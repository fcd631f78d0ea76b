// Owns message lookup: the dictionaries (one file per locale in i18n/), messages and their translation.
import { type Dictionary, en } from "./i18n/en.ts";
import { fi } from "./i18n/fi.ts";

export type { Dictionary };
export const dictionaries = { en, fi } as const;

/** A message a service returns: a dictionary key and the values for its {placeholders}. */
export type Message = { key: keyof Dictionary; vars?: Record<string, string | number> };
export const msg = (key: keyof Dictionary, vars?: Record<string, string | number>): Message => ({ key, vars });

export function translate(t: Dictionary, m: Message): string {
  return String(t[m.key]).replace(/\{(\w+)\}/g, (whole, name: string) =>
    m.vars && name in m.vars ? String(m.vars[name]) : whole,
  );
}
export type Locale = keyof typeof dictionaries;
export const dictionary = (locale: Locale): Dictionary => dictionaries[locale];
