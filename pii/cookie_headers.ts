// Session cookies of web frameworks written as header text (`Cookie: …`, `Set-Cookie: …` in a
// log, a HAR dump as text, curl's `-H`, a proxy trace): the cookie's name is the framework's
// own, not a credential word (`wordpress_logged_in_<hash>`, `.AspNetCore.Cookies`, Drupal's
// `SSESS<hash>`), so the keyword scan did not see them and the session came back raw (red
// team l1). The structured `{name: "set-cookie", value}` form is pii/pairs.ts's.

import type { Finding } from "./types.ts";
import { codeAt } from "./chars.ts";
import { givenSecret } from "./looks_secret.ts";

/**
 * Cookie names that hold a logged-in session (or what signs one), whatever the value looks
 * like: WordPress (`wordpress_logged_in_<md5>`, `wordpress_sec_<md5>`, `wordpress_<md5>`),
 * Drupal (`SESS<hash>`, `SSESS<hash>`), ASP.NET Core (`.AspNetCore.Cookies`,
 * `.AspNetCore.Session`, `.AspNetCore.Identity.Application`), ASP.NET (`.ASPXAUTH`,
 * `ASP.NET_SessionId`), Laravel (`laravel_session`, `remember_web_<sha1>`), and a bearer
 * token kept as a cookie (`jwt`, `access_token`, `refresh_token`, `id_token`, `auth_token`).
 */
const SESSION_COOKIE =
  /^(?:wordpress_(?:logged_in_|sec_)?[0-9a-f]{32}|S?SESS[0-9a-f]{8,64}|\.AspNetCore\.[\w.-]{1,64}|\.ASPXAUTH|ASP\.NET_SessionId|laravel_session|remember_\w{1,16}_[0-9a-f]{40}|jwt|(?:access|refresh|id|auth)[_-]?token)$/i;

/** A cookie value that names no session: a logout's or a default. */
const NO_SESSION = /^(?:deleted|null|none|undefined|true|false|expired)$/i;

/** Most characters of a header's value read (one line). */
const HEADER_REACH = 8192;

/** Shortest session value taken (UTF-16 units): shorter ones are flags and counters. */
const MIN_SESSION = 8;

/**
 * Appends to `out` the values of {@linkcode SESSION_COOKIE} cookies in `Cookie:` and
 * `Set-Cookie:` header lines of `text` (name matched case-insensitively, `:` after optional
 * blanks). Each header's value is read once, to its line's end or {@linkcode HEADER_REACH}
 * characters, split at `;`; the search for `ookie` resumes after it: linear. The name stays
 * readable; only the value is a finding.
 *
 * @param text The text to scan.
 * @param out Findings are appended here.
 */
export function findCookieHeaders(text: string, out: Finding[]): void {
  for (let at = text.indexOf("ookie"); at !== -1; at = text.indexOf("ookie", at + 5)) {
    const c = codeAt(text, at - 1);
    if (c !== 67 && c !== 99) continue; // C, c
    let k = at + 5;
    while (codeAt(text, k) === 32 || codeAt(text, k) === 9) k++;
    if (codeAt(text, k) !== 58) continue;
    const end = lineEnd(text, k + 1);
    readPairs(text, k + 1, end, out);
    at = Math.max(at, end - 5);
  }
}

/** The end of the line from `from`, at most {@linkcode HEADER_REACH} characters on. */
function lineEnd(text: string, from: number): number {
  let j = from;
  while (j < text.length && j - from < HEADER_REACH) {
    const c = text.charCodeAt(j);
    if (c === 10 || c === 13) break;
    j++;
  }
  return j;
}

/** The `name=value` pairs of a header's value `[from, to)`, split at `;`, `,` and blanks. */
function readPairs(text: string, from: number, to: number, out: Finding[]): void {
  let j = from;
  while (j < to) {
    while (j < to && (text.charCodeAt(j) === 32 || text.charCodeAt(j) === 9)) j++;
    const nameStart = j;
    while (j < to && !isPairEnd(text.charCodeAt(j)) && text.charCodeAt(j) !== 61) j++;
    const nameEnd = j;
    if (codeAt(text, j) !== 61 || j >= to) {
      j++;
      continue;
    }
    let vs = j + 1;
    while (j < to && !isPairEnd(text.charCodeAt(j))) j++;
    let ve = j;
    // A quoted cookie value (`name="…"`): the quotes are not the session's.
    if (ve - vs >= 2 && codeAt(text, vs) === 34 && codeAt(text, ve - 1) === 34) {
      vs++;
      ve--;
    }
    const value = text.slice(vs, ve);
    if (
      SESSION_COOKIE.test(text.slice(nameStart, nameEnd)) && value.length >= MIN_SESSION &&
      !NO_SESSION.test(value) && givenSecret(value)
    ) out.push({ type: "secret", start: vs, end: ve, value });
    j++;
  }
}

/** `;`, white space or a quote-less end of a cookie pair. */
function isPairEnd(c: number): boolean {
  return c === 59 || c === 32 || c === 9 || c === 44;
}
