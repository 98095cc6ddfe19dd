// Session ids as session stores key them (red team n1, N1-19: `redis-cli KEYS '*'` output came
// back raw): connect-redis's `sess:<id>`, PHP's Redis handler's `PHPREDIS_SESSION:<id>`,
// Django's cache backend's `django.contrib.sessions.cache<id>` (and `cached_db`), Rails'
// and others' `session:<id>`. For PHP and Django the key holds the session cookie's value
// itself, so a raw key is a session hijack. The id is judged as a session cookie's value is
// (a token: pii/looks_secret.ts), so `session:settings` stays.
//
// @module

import type { Finding } from "./types.ts";
import { looksSecret } from "./looks_secret.ts";

/**
 * A store's session key prefix and the id after it (token characters, bounded), not glued to
 * a word before nor to token characters after. One pass, linear.
 */
const SESSION_KEY =
  /(?<![A-Za-z0-9_])(?:sess:|session:|PHPREDIS_SESSION:|django\.contrib\.sessions\.cached?(?:_db)?)([A-Za-z0-9_-]{16,256})(?![A-Za-z0-9_-])/g;

/**
 * Appends to `out` the session ids of `text`'s session-store keys ({@linkcode SESSION_KEY})
 * that look like tokens; the prefix stays readable.
 *
 * @param text The text to scan.
 * @param out Findings are appended here.
 */
export function findSessionKeys(text: string, out: Finding[]): void {
  if (!text.includes("sess") && !text.includes("SESS")) return;
  SESSION_KEY.lastIndex = 0;
  for (let m = SESSION_KEY.exec(text); m !== null; m = SESSION_KEY.exec(text)) {
    const id = m[1];
    if (!looksSecret(id, false)) continue;
    const start = m.index + m[0].length - id.length;
    out.push({ type: "secret", start, end: start + id.length, value: id });
  }
}
