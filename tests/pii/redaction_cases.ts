/**
 * The two loops of the table-driven redaction tests: cases whose secret must be hidden, and
 * texts where no secret may be found. Each returns what went wrong, for one `assertEquals(…,
 * [])` that shows every failing case at once.
 *
 * @module
 */

import { findPii, redactText } from "../../pii/mod.ts";

/**
 * The cases `[name, text, secret?]` whose text, redacted in mask mode, still shows its secret
 * (the case's own, else `secret`), as `name: redacted text`.
 */
export function notHidden(
  cases: ReadonlyArray<readonly [string, string, string?]>,
  secret?: string,
): string[] {
  const raw: string[] = [];
  for (const [name, text, own] of cases) {
    const shown = own ?? secret;
    if (shown === undefined) throw new Error(`${name}: no secret to look for`);
    const out = redactText(text, { mode: "mask" }).text;
    if (out.includes(shown)) raw.push(`${name}: ${out}`);
  }
  return raw;
}

/** The texts in which the secret scans find something, as `text → what was found`. */
export function secretsFound(texts: readonly string[]): string[] {
  const found: string[] = [];
  for (const text of texts) {
    const f = findPii(text, ["secret"]);
    if (f.length > 0) found.push(`${text} → ${f.map((x) => x.value).join(", ")}`);
  }
  return found;
}
