// Values judged personal data or secrets in one response, so that every exact occurrence of
// them elsewhere in the same response is replaced the same way (red team n1, N1-20: a
// password hidden in a returned `.env` was raw in a log line two fields on, and in tokenize
// mode the placeholder even told the agent which raw string it stood for).

import type { PiiType, RedactionCounts } from "./types.ts";

/** Shortest value remembered, in UTF-16 units: shorter ones stand for other words too. */
export const JUDGED_MIN_UNITS = 8;
/** Longest value remembered, in UTF-16 units (a finding's value is rarely longer). */
export const JUDGED_MAX_UNITS = 512;
/** Most values remembered per response; later ones are only redacted where they were found. */
export const JUDGED_MAX_VALUES = 4096;
/** Most values sharing their first {@linkcode JUDGED_MIN_UNITS} units (bounds each lookup). */
const BUCKET_MAX = 8;

/** A letter, a digit or `_`: what a value touching it would be a part of. */
function isWordUnit(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95;
}

/** One remembered form of a value: the text to look for, and the value it stands for. */
interface Form {
  text: string;
  value: string;
  type: PiiType;
}

/**
 * The values one response's redaction judged, by type ({@linkcode add}, called for every
 * finding replaced), and {@linkcode replaceIn}: every exact occurrence of one of them in a
 * text, as a token of its own (no letter, digit or `_` touching it on either side:
 * `app/<pw> ->`, `"<pw>"`), replaced as the finding was. A value is also looked for as a
 * JSON or inspect string writes it (`\"`, `\\`, `\n` escaped), since log lines render values.
 * Values are indexed by their first {@linkcode JUDGED_MIN_UNITS} units, at most
 * {@linkcode BUCKET_MAX} per index: a scan makes one map lookup per token start and compares
 * at most that many values there, so it is linear in the text.
 */
export class JudgedValues {
  readonly #seen = new Set<string>();
  readonly #forms = new Map<string, Form[]>();

  /** How many values are remembered. */
  get size(): number {
    return this.#seen.size;
  }

  /** Remembers `value`, judged to be of `type`, unless it is too short, too long or one too many. */
  add(type: PiiType, value: string): void {
    if (value.length < JUDGED_MIN_UNITS || value.length > JUDGED_MAX_UNITS) return;
    if (this.#seen.has(value) || this.#seen.size >= JUDGED_MAX_VALUES) return;
    this.#seen.add(value);
    this.#index({ text: value, value, type });
    const escaped = JSON.stringify(value).slice(1, -1);
    if (escaped !== value) this.#index({ text: escaped, value, type });
  }

  #index(form: Form): void {
    const head = form.text.slice(0, JUDGED_MIN_UNITS);
    const bucket = this.#forms.get(head);
    if (bucket === undefined) this.#forms.set(head, [form]);
    else if (bucket.length < BUCKET_MAX) {
      bucket.push(form);
      // Longest first: where two start alike, the longer is the whole value.
      bucket.sort((a, b) => b.text.length - a.text.length);
    }
  }

  /**
   * `text` with every occurrence of a remembered value replaced by `replace(type, value)`,
   * counted in `counts`. Returns `text` itself when nothing is found. Linear in `text`.
   */
  replaceIn(
    text: string,
    replace: (type: PiiType, value: string) => string,
    counts: RedactionCounts,
  ): string {
    if (this.#forms.size === 0 || text.length < JUDGED_MIN_UNITS) return text;
    let out = "";
    let last = 0;
    const limit = text.length - JUDGED_MIN_UNITS;
    for (let i = 0; i <= limit; i++) {
      const c = text.charCodeAt(i);
      // Only where a token may start: a value never starts inside a word.
      if (i > 0 && isWordUnit(c) && isWordUnit(text.charCodeAt(i - 1))) continue;
      const bucket = this.#forms.get(text.slice(i, i + JUDGED_MIN_UNITS));
      if (bucket === undefined) continue;
      for (const form of bucket) {
        const end = i + form.text.length;
        if (end > text.length || !text.startsWith(form.text, i)) continue;
        const after = end < text.length ? text.charCodeAt(end) : -1;
        if (after !== -1 && isWordUnit(after) && isWordUnit(text.charCodeAt(end - 1))) continue;
        out += text.slice(last, i) + replace(form.type, form.value);
        counts[form.type] = (counts[form.type] ?? 0) + 1;
        last = end;
        i = end - 1;
        break;
      }
    }
    return last === 0 ? text : out + text.slice(last);
  }
}
