// Redaction of text and of structured (JSON) values, in mask, tokenize or off mode.

import { PII_TYPES, type PiiType, PLACEHOLDER_LABELS, type RedactionCounts } from "./types.ts";
import { findPii } from "./find.ts";
import { Vault } from "./vault.ts";
import { mapLeaves } from "./walk.ts";

/** How to redact. */
export interface RedactionOptions {
  /**
   * `mask`: replace with `[REDACTED_EMAIL]` etc.; `tokenize`: replace with stable
   * placeholders `[EMAIL_1]` kept in `vault`; `off`: return the input unchanged.
   */
  mode: "mask" | "tokenize" | "off";
  /** Types to redact (default: all). */
  types?: readonly PiiType[];
  /** Values never redacted (exact match; e-mail addresses also case-insensitively). */
  allow?: readonly string[];
  /** Vault for `tokenize`; without one a fresh vault serves this call only. */
  vault?: Vault;
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
interface Plan {
  off: boolean;
  types: readonly PiiType[];
  allow: Set<string>;
  replace: (type: PiiType, value: string) => string;
}

function plan(options: RedactionOptions): Plan {
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
    replace = (type, value) => vault.placeholderFor(type, value);
  } else {
    replace = (type) => `[REDACTED_${PLACEHOLDER_LABELS[type]}]`;
  }
  return { off: options.mode === "off", types, allow, replace };
}

function isAllowed(p: Plan, type: PiiType, value: string): boolean {
  if (p.allow.size === 0) return false;
  return p.allow.has(value) || (type === "email" && p.allow.has(value.toLowerCase()));
}

function redactWith(p: Plan, text: string, counts: RedactionCounts): string {
  if (p.off || text.length === 0) return text;
  const findings = findPii(text, p.types);
  if (findings.length === 0) return text;
  let out = "";
  let last = 0;
  for (const f of findings) {
    if (isAllowed(p, f.type, f.value)) continue;
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
 * Redacts every string inside `value` (arrays and objects walked iteratively; keys are
 * kept). Integers of nine or more digits are checked as text too (a card or phone number
 * stored as a JSON number); when redacted they become the placeholder string.
 */
export function redactValue(value: unknown, options: RedactionOptions): RedactedValue {
  const p = plan(options);
  const counts: RedactionCounts = {};
  if (p.off) return { value, counts };
  const result = mapLeaves(value, (leaf) => {
    if (typeof leaf === "string") return redactWith(p, leaf, counts);
    if (typeof leaf === "number" && Number.isSafeInteger(leaf) && Math.abs(leaf) >= 1e8) {
      const text = String(leaf);
      const redacted = redactWith(p, text, counts);
      return redacted === text ? leaf : redacted;
    }
    return leaf;
  });
  return { value: result, counts };
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
