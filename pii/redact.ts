// Redaction of text and of structured (JSON) values, in mask, tokenize or off mode.

import {
  type Finding,
  PII_TYPES,
  type PiiType,
  PLACEHOLDER_LABELS,
  type RedactionCounts,
} from "./types.ts";
import { findPii } from "./find.ts";
import { findPiiInName, findPiiUnder } from "./keyed.ts";
import { type OriginOf, Vault } from "./vault.ts";
import { type LeafKey, type LinePlace, mapLeaves, type MapName } from "./walk.ts";
import { mergeFindings } from "./command_arrays.ts";
import type { JudgedValues } from "./judged_values.ts";

/** How to redact. */
export interface RedactionOptions {
  /**
   * `mask`: replace with `[REDACTED_EMAIL]` etc.; `tokenize`: replace with stable
   * placeholders `[EMAIL_1_kqzmtwa]` kept in `vault`; `off`: return the input unchanged.
   */
  mode: "mask" | "tokenize" | "off";
  /** Types to redact (default: all). */
  types?: readonly PiiType[];
  /** Values never redacted (exact match; e-mail addresses also case-insensitively). */
  allow?: readonly string[];
  /** Vault for `tokenize`; without one a fresh vault serves this call only. */
  vault?: Vault;
  /**
   * Where values that get a placeholder came from (see `ValueOrigin` in vault.ts; default
   * `upstream`): a function is asked only for a value new to the vault, or one the vault
   * holds as `upstream`.
   */
  origin?: OriginOf;
  /**
   * Collects every value replaced (type and raw text), so that the same values elsewhere in
   * one response can be replaced alike ({@linkcode redactJudgedText}, judged_values.ts).
   */
  judged?: JudgedValues;
}

/** Result of {@linkcode redactText}. */
export interface RedactedText {
  /** The text with findings replaced. */
  text: string;
  /** Findings replaced, per type. */
  counts: RedactionCounts;
}

/** Result of {@linkcode redactValue}. */
export interface RedactedValue {
  /** A redacted copy of the value (the input is not modified). */
  value: unknown;
  /** Findings replaced, per type. */
  counts: RedactionCounts;
}

const MODES = new Set(["mask", "tokenize", "off"]);

/** The mode a configuration without `pii.mode` uses. */
export const DEFAULT_MODE: RedactionOptions["mode"] = "tokenize";

/** A validated, ready-to-run form of {@linkcode RedactionOptions}. */
export interface Plan {
  off: boolean;
  types: readonly PiiType[];
  allow: Set<string>;
  replace: (type: PiiType, value: string) => string;
  judged?: JudgedValues;
}

/**
 * Validates `options`; throws a `TypeError` with `kind: "invalid_option"` on a bad mode or
 * type. Internal (shared with the async API), not exported from `mod.ts`.
 */
export function plan(options: RedactionOptions): Plan {
  if (options === null || typeof options !== "object" || !MODES.has(options.mode)) {
    throw Object.assign(new TypeError('redaction mode must be "mask", "tokenize" or "off"'), {
      kind: "invalid_option",
    });
  }
  const types = options.types ?? PII_TYPES;
  for (const t of types) {
    if (!PII_TYPES.includes(t)) {
      throw Object.assign(new TypeError(`unknown PII type: ${String(t)}`), {
        kind: "invalid_option",
      });
    }
  }
  const allow = new Set<string>();
  for (const a of options.allow ?? []) {
    allow.add(a);
    allow.add(a.toLowerCase());
  }
  let replace: Plan["replace"];
  if (options.mode === "tokenize") {
    const vault = options.vault ?? new Vault();
    const origin = options.origin ?? "upstream";
    replace = (type, value) => vault.placeholderFor(type, value, origin);
  } else {
    replace = (type) => `[REDACTED_${PLACEHOLDER_LABELS[type]}]`;
  }
  return { off: options.mode === "off", types, allow, replace, judged: options.judged };
}

function isAllowed(p: Plan, type: PiiType, value: string): boolean {
  if (p.allow.size === 0) return false;
  return p.allow.has(value) || (type === "email" && p.allow.has(value.toLowerCase()));
}

function redactWith(
  p: Plan,
  text: string,
  counts: RedactionCounts,
  key?: LeafKey,
  place?: LinePlace,
): string {
  if (p.off || text.length === 0) return text;
  const findings = key === undefined ? findPii(text, p.types) : findPiiUnder(text, key, p.types);
  return applyFindings(p, text, withLine(text, findings, place, p.types), counts);
}

/**
 * `findings` of an item of an array read as a command line (`place`, command_arrays.ts), with
 * what the joined line gives the item (detected once per line); `findings` itself elsewhere.
 */
export function withLine(
  text: string,
  findings: readonly Finding[],
  place: LinePlace | undefined,
  types: readonly PiiType[],
): readonly Finding[] {
  if (place === undefined || place.items[place.index] !== text) return findings;
  return mergeFindings(
    text,
    findings,
    place.line.itemFindings(place.items, place.index, types, findPii),
  );
}

/**
 * Replaces `findings` (sorted, non-overlapping, as {@linkcode findPii} returns them) in
 * `text` and counts them; allow-listed values stay. Detection may have run elsewhere (a
 * worker); the replacement, and so the vault, stays on the calling thread.
 */
export function applyFindings(
  p: Plan,
  text: string,
  findings: readonly Finding[],
  counts: RedactionCounts,
): string {
  if (findings.length === 0) return text;
  let out = "";
  let last = 0;
  for (const f of findings) {
    if (isAllowed(p, f.type, f.value)) continue;
    p.judged?.add(f.type, f.value);
    out += text.slice(last, f.start) + p.replace(f.type, f.value);
    last = f.end;
    counts[f.type] = (counts[f.type] ?? 0) + 1;
  }
  return last === 0 ? text : out + text.slice(last);
}

/** Redacts personal data and secrets in `text`; linear in its length. */
export function redactText(text: string, options: RedactionOptions): RedactedText {
  const p = plan(options);
  const counts: RedactionCounts = {};
  return { text: redactWith(p, text, counts), counts };
}

/**
 * {@linkcode redactText} for a value found under object key `key` (a string argument, a
 * property of a parsed result): judged as the detectors judge `key: text` in text (see
 * keyed.ts), so `password`, `ssn` or `phone` as the key is the context they would read in
 * `password: …`. Only `text` is returned; what the key alone holds is not redacted here.
 * Without a key (`undefined`) it is `redactText(text, options)`. Linear in the length of
 * `text`. With `place` (an item of an array read as a command line, see pii/walk.ts and
 * command_arrays.ts), what the joined command line gives the item is redacted too, as
 * `redactValue` does.
 */
export function redactKeyedText(
  text: string,
  key: string | undefined,
  options: RedactionOptions,
  place?: LinePlace,
): RedactedText {
  const p = plan(options);
  const counts: RedactionCounts = {};
  return { text: redactWith(p, text, counts, key, place), counts };
}

/**
 * {@linkcode redactText} for a text that may render values with escapes (a log line of an
 * inspected object, an error message holding JSON: `\t4111…`, `\n123-45-6789`,
 * `jos\u00e9@example.com`). Detection reads every text with its escapes decoded
 * ({@linkcode findPii}, escapes.ts), so this is `redactText`: the two paths agree (red team
 * d2: blanking escapes here split `jos\u00e9@example.com` while `redactText` missed
 * `\u003e4111…`). Kept for the callers that name the rendered path. Linear in `text`.
 */
export function redactRenderedText(text: string, options: RedactionOptions): RedactedText {
  return redactText(text, options);
}

/**
 * `text` with every exact occurrence of a value `judged` holds replaced as that value was
 * (its placeholder in tokenize mode, its type's mask in mask mode), as a token of its own:
 * the last pass over each text of a response, once all of it was redacted (red team n1:
 * a password found in a `.env` field was raw in a log line of the same response). Linear in
 * `text`; `off` returns it unchanged.
 */
export function redactJudgedText(
  text: string,
  judged: JudgedValues,
  options: RedactionOptions,
): RedactedText {
  const p = plan(options);
  const counts: RedactionCounts = {};
  if (p.off) return { text, counts };
  return { text: judged.replaceIn(text, p.replace, counts), counts };
}

/**
 * {@linkcode redactJudgedText} for every string and object key inside `value` (a copy;
 * shared and cyclic references kept, as {@linkcode redactValue} does); numbers and other
 * leaves are left as they are.
 */
export function redactJudgedValue(
  value: unknown,
  judged: JudgedValues,
  options: RedactionOptions,
): RedactedValue {
  const p = plan(options);
  const counts: RedactionCounts = {};
  if (p.off || judged.size === 0) return { value, counts };
  const replace = (text: string) => judged.replaceIn(text, p.replace, counts);
  // Strings only: a number is judged by its key in the value path (`{"id": 4155559876}`
  // stays a number even where a rendered line read the same digits as a phone).
  const leaf = (v: unknown) => typeof v === "string" ? replace(v) : v;
  return { value: mapLeaves(value, leaf, replace), counts };
}

/**
 * Redacts every string inside `value` (arrays and objects walked iteratively), and every
 * object key: `{"ann@example.com": 3}` becomes `{"[EMAIL_1_kqzmtwa]": 3}` (a key is judged
 * under the key of the object holding it; two keys redacted alike stay two,
 * `[REDACTED_EMAIL]` and `[REDACTED_EMAIL] (2)`, see walk.ts). Each value under an object key
 * is judged with that key as its context (an array's items with the array's key; the value
 * of a name/value pair with the name, pairs.ts), as `key: value` would be in text:
 * `{"password": "S3cr3t!Pass"}` as `password: S3cr3t!Pass`. Integers of nine or more digits are checked as text too (a
 * card or phone number stored as a JSON number), and so are those of seven or eight digits
 * under a key (see {@linkcode leafText}); when redacted they become the placeholder string.
 * An array that is a command's argument list (`{"command": ["sshpass", "-p", "…"]}`) is also
 * read as the one command line it is (command_arrays.ts), and what that finds is hidden within
 * the items it covers.
 */
export function redactValue(value: unknown, options: RedactionOptions): RedactedValue {
  const p = plan(options);
  const counts: RedactionCounts = {};
  if (p.off) return { value, counts };
  const result = mapTextLeaves(
    value,
    (text, key, place) => redactWith(p, text, counts, key, place),
    (name, under) => applyFindings(p, name, findPiiInName(name, under, p.types), counts),
  );
  return { value: result, counts };
}

/**
 * The text a leaf is redacted as: strings, and safe integers of nine or more digits (a
 * card or phone number stored as a JSON number); under an object key (`key` not
 * `undefined`), also a non-negative integer of seven or eight digits, written with the
 * leading zeros that make it nine (`{"ssn": 78051120}` is SSN 078-05-1120: a nine-digit
 * identifier stored as a number loses its zeros, and only its key says what it is).
 * `undefined` for every other leaf.
 */
export function leafText(leaf: unknown, key?: LeafKey): string | undefined {
  if (typeof leaf === "string") return leaf;
  if (typeof leaf !== "number" || !Number.isSafeInteger(leaf)) return undefined;
  if (Math.abs(leaf) >= 1e8) return String(leaf);
  if (key !== undefined && leaf >= 1e6) return String(leaf).padStart(9, "0");
  return undefined;
}

/**
 * {@linkcode mapLeaves} over the leaves that have a {@linkcode leafText}, in document
 * order: `redact` gets each text and its key; a number whose text comes back unchanged
 * stays a number. Object keys go through `name` when given (see {@linkcode mapLeaves}).
 */
export function mapTextLeaves(
  value: unknown,
  redact: (text: string, key: LeafKey, place?: LinePlace) => string,
  name?: MapName,
): unknown {
  return mapLeaves(value, (leaf, key, place) => {
    const text = leafText(leaf, key);
    if (text === undefined) return leaf;
    const redacted = redact(text, key, place);
    return typeof leaf === "number" && redacted === text ? leaf : redacted;
  }, name);
}

/** Sums two count records (neither is modified). */
export function mergeCounts(a: RedactionCounts, b: RedactionCounts): RedactionCounts {
  const out: RedactionCounts = { ...a };
  for (const t of PII_TYPES) {
    const n = b[t];
    if (n) out[t] = (out[t] ?? 0) + n;
  }
  return out;
}
