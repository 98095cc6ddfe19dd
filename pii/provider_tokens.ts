// Provider tokens common in agent-visible logs and commands whose fixed shape token_formats.ts
// did not know (red team n1, N1-4: each came back raw unless a credential name stood before
// it): HashiCorp Vault tokens (`hvs.`, `hvb.`, `hvr.`), Google OAuth refresh tokens (`1//0…`)
// and authorization codes (`4/0A…`, exchangeable for tokens), and Telegram bot tokens
// (`<bot id>:AA<33>`, bare or in `api.telegram.org/bot<token>/…`).
//
// @module

import type { Finding } from "./types.ts";

/** The literal each format opens with (Telegram's: the `:AA` after the bot id). */
const PREFIXES = ["hvs.", "hvb.", "hvr.", "1//0", "4/0A", ":AA"];

/**
 * Each format's body after its prefix, sticky: a bounded run of its alphabet, not followed by
 * a token character.
 */
const VAULT_OR_GOOGLE_BODY = /[A-Za-z0-9_-]{24,1024}(?![A-Za-z0-9_-])/y;
const TELEGRAM_BODY = /[A-Za-z0-9_-]{33}(?![A-Za-z0-9_-])/y;

/**
 * Appends to `out` the provider tokens in `text`: each prefix found with `indexOf` (a native
 * scan per prefix: a regular expression opening with a class or `\b` was tried at every
 * position and cost a third of the secret scan), not glued to a word character before (a
 * Telegram token's bot id, 8 to 12 digits, may follow `/bot` in its API URL), its body read
 * once; the body holds a digit and a letter of each case (a random body of 24 or more
 * characters almost always does; `hvs.example_service_account_name` does not). Linear: each
 * prefix's scan resumes after what it read.
 *
 * @param text The text to scan.
 * @param out Findings are appended here.
 */
export function findProviderTokens(text: string, out: Finding[]): void {
  for (const prefix of PREFIXES) {
    let at = text.indexOf(prefix);
    while (at !== -1) {
      const next = tokenAt(text, at, prefix, out);
      at = text.indexOf(prefix, Math.max(next, at + 1));
    }
  }
}

/** A word character: a letter, a digit or `_`. */
function isWordChar(c: number): boolean {
  return (c >= 48 && c <= 57) || ((c | 32) >= 97 && (c | 32) <= 122) || c === 95;
}

/** Reads the token whose prefix is at `at`; returns where to search on. */
function tokenAt(text: string, at: number, prefix: string, out: Finding[]): number {
  const bodyStart = at + prefix.length;
  let start = at;
  if (prefix === ":AA") {
    // The bot id: 8 to 12 digits before the `:`, at a word's start or after `/bot`.
    let d = at;
    while (d > 0 && at - d < 13 && text.charCodeAt(d - 1) >= 48 && text.charCodeAt(d - 1) <= 57) {
      d--;
    }
    if (at - d < 8 || at - d > 12) return bodyStart;
    const glued = d > 0 && isWordChar(text.charCodeAt(d - 1));
    if (glued && text.slice(Math.max(0, d - 4), d) !== "/bot") return bodyStart;
    start = at + 1; // the secret part: the bot id is public
  } else if (at > 0 && isWordChar(text.charCodeAt(at - 1))) return bodyStart;
  const body = prefix === ":AA" ? TELEGRAM_BODY : VAULT_OR_GOOGLE_BODY;
  body.lastIndex = bodyStart;
  const m = body.exec(text);
  if (m === null) return bodyStart;
  const end = bodyStart + m[0].length;
  if (
    prefix !== "hvs." && prefix !== "hvb." && prefix !== "hvr." && prefix !== ":AA" &&
    m[0].length < 30
  ) {
    return end;
  }
  const value = text.slice(start, end);
  const tail = m[0];
  if (!/[0-9]/.test(tail) || !/[a-z]/.test(tail) || !/[A-Z]/.test(tail)) return end;
  out.push({ type: "secret", start, end, value });
  return end;
}
