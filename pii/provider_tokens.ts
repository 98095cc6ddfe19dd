// Provider tokens common in agent-visible logs and commands whose fixed shape token_formats.ts
// did not know (red team n1, N1-4: each came back raw unless a credential name stood before
// it): HashiCorp Vault tokens (`hvs.`, `hvb.`, `hvr.`), Google OAuth refresh tokens (`1//0…`)
// and authorization codes (`4/0A…`, exchangeable for tokens), and Telegram bot tokens
// (`<bot id>:AA<33>`, bare or in `api.telegram.org/bot<token>/…`).
//
// @module

import type { Finding } from "./types.ts";

/**
 * The formats, each a literal prefix then a bounded run of its alphabet, not touching a word
 * character before (`\b`; a Telegram token may follow `/bot` in its API URL) nor a token
 * character after. Each alternative opens with a literal
 * (or a bounded digit run for Telegram) and ends at its run's end: one pass, linear.
 */
const PROVIDER_TOKEN =
  /(?:\b(?:hv[sbr]\.[A-Za-z0-9_-]{24,1024}|1\/\/0[A-Za-z0-9_-]{30,1024}|4\/0A[A-Za-z0-9_-]{30,1024})|(?:\b|(?<=\/bot))\d{8,12}:AA[A-Za-z0-9_-]{33})(?![A-Za-z0-9_-])/g;

/**
 * Appends to `out` the provider tokens of {@linkcode PROVIDER_TOKEN} in `text` that hold a
 * digit and a letter of each case (a random body of 24 or more characters almost always
 * does; `hvs.example_service_account_name` does not).
 *
 * @param text The text to scan.
 * @param out Findings are appended here.
 */
export function findProviderTokens(text: string, out: Finding[]): void {
  PROVIDER_TOKEN.lastIndex = 0;
  for (let m = PROVIDER_TOKEN.exec(text); m !== null; m = PROVIDER_TOKEN.exec(text)) {
    // A Telegram token's bot id (before its `:`) is public, as in a URL's `bot<id>:` (the
    // secret is the rest); every other format is secret whole.
    const colon = m[0].indexOf(":AA");
    const start = colon === -1 ? m.index : m.index + colon + 1;
    const value = text.slice(start, m.index + m[0].length);
    const body = value.slice(4);
    if (!/[0-9]/.test(body) || !/[a-z]/.test(body) || !/[A-Z]/.test(body)) continue;
    out.push({ type: "secret", start, end: start + value.length, value });
  }
}
