// Session cookies of web frameworks written as header text (`Cookie: …`, `Set-Cookie: …` in a
// log, a HAR dump as text, curl's `-H`, a proxy trace): the cookie's name is the framework's
// own, not a credential word (`wordpress_logged_in_<hash>`, `.AspNetCore.Cookies`, Drupal's
// `SSESS<hash>`), so the keyword scan did not see them and the session came back raw (red
// team l1). The structured `{name: "set-cookie", value}` form is pii/pairs.ts's.

import type { Finding } from "./types.ts";
import { codeAt } from "./chars.ts";
import { givenSecret } from "./looks_secret.ts";
import { encodedWords, looksRandom, namesSession, withoutRoute } from "./cookie_values.ts";
import { matchValue } from "./secret_value.ts";
import { MAX_PARTS_UNITS } from "./value_parts.ts";

/**
 * Cookie names that hold a logged-in session (or what signs one), whatever the value looks
 * like: WordPress (`wordpress_logged_in_<md5>`, `wordpress_sec_<md5>`, `wordpress_<md5>`),
 * Drupal (`SESS<hash>`, `SSESS<hash>`), ASP.NET Core (`.AspNetCore.Cookies`,
 * `.AspNetCore.Session`, `.AspNetCore.Identity.Application`), ASP.NET (`.ASPXAUTH`,
 * `ASP.NET_SessionId`), Java Servlet containers (`JSESSIONID`, whose Jetty form
 * `node0<id>.node0` no randomness rule reads as one: red team n1, N1-12), Laravel (`laravel_session`, `remember_web_<sha1>`), and a bearer
 * token kept as a cookie (`jwt`, `access_token`, `refresh_token`, `id_token`, `auth_token`).
 */
const SESSION_COOKIE =
  /^(?:wordpress_(?:logged_in_|sec_)?[0-9a-f]{32}|S?SESS[0-9a-f]{8,64}|\.AspNetCore\.[\w.-]{1,64}|\.ASPXAUTH|ASP\.NET_SessionId|laravel_session|remember_\w{1,16}_[0-9a-f]{40}|JSESSIONID|jwt|(?:access|refresh|id|auth)[_-]?token)$/i;

/** A cookie value that names no session: a logout's or a default. */
const NO_SESSION = /^(?:deleted|null|none|undefined|true|false|expired)$/i;

/** Most characters of a header's value read (one line). */
const HEADER_REACH = 8192;

/** Shortest session value taken (UTF-16 units): shorter ones are flags and counters. */
const MIN_SESSION = 8;

/**
 * A `Cookie` or `Set-Cookie` header name and its `:` (any case, blanks before the `:`). The
 * blanks are bounded so a failed match costs at most their run.
 */
const HEADER_NAME = /(?:set-)?cookie[ \t]{0,16}:/gi;

/**
 * Appends to `out` the values of {@linkcode SESSION_COOKIE} cookies in `Cookie:` and
 * `Set-Cookie:` headers of `text` (name matched case-insensitively, `:` after optional
 * blanks). A header's name must start one (the text's or a line's start, or after a blank, a
 * quote or curl's `-H`): a `Cookie:` inside a path, a URL or a word (`/sub/Cookie:jwt=…/..`,
 * `?Cookie:jwt=…`) labels nothing (red team m1: it hid a path traversal from the approver).
 * Each header's value is read once, to its line's end or {@linkcode HEADER_REACH} characters
 * at most, and no further than its cookies go ({@linkcode readPairs}); the search resumes
 * after it: linear. The name stays readable; only the value is a finding.
 *
 * @param text The text to scan.
 * @param out Findings are appended here.
 */
export function findCookieHeaders(text: string, out: Finding[]): void {
  HEADER_NAME.lastIndex = 0;
  for (let m = HEADER_NAME.exec(text); m !== null; m = HEADER_NAME.exec(text)) {
    const k = m.index + m[0].length;
    if (!startsHeader(text, m.index)) {
      // Resume inside the match: `xset-cookie:` is no header, its `cookie:` may be none too,
      // and is rejected the same way; nothing after the `:` is skipped.
      HEADER_NAME.lastIndex = m.index + 1;
      continue;
    }
    const end = readPairs(text, k, lineEnd(text, k), out);
    HEADER_NAME.lastIndex = Math.max(k, end);
  }
}

/**
 * Whether a header name at `at` starts a header: at the text's start, after a line break, a
 * blank, a quote, or curl's `-H` glued to it (`-HCookie: …`).
 */
function startsHeader(text: string, at: number): boolean {
  if (at === 0) return true;
  const c = text.charCodeAt(at - 1);
  if (c === 10 || c === 13 || c === 32 || c === 9 || c === 34 || c === 39) return true;
  return c === 72 && codeAt(text, at - 2) === 45; // -H
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

/**
 * The `name=value` pairs of a header's value `[from, to)`, separated by `;`, `,` and blanks;
 * returns where the read stopped. A value is a run of cookie octets (RFC 6265: no quote,
 * `;`, `,`, blank, backslash or control character), optionally double-quoted, that also stops
 * before what a shell or a path reads (`'`, `` ` ``, `$`, `&`, `|`, `<`, `>`, `(`, `)`,
 * `{`, `}`, `@`, `/.`): no session framework writes those, and a value read through them
 * hid a command (`'Cookie: jwt=…'&&rm …`) or a path traversal (`Cookie:jwt=…/../x`) from the
 * approver (red team m1). The header ends at the first character that neither separates
 * pairs nor belongs to one (a closing quote, `&&`, `|`…).
 */
function readPairs(text: string, from: number, to: number, out: Finding[]): number {
  let j = from;
  while (j < to) {
    while (j < to && isPairGap(text.charCodeAt(j))) j++;
    const nameStart = j;
    while (j < to && isValueOctet(text, j) && text.charCodeAt(j) !== 61) j++;
    const nameEnd = j;
    if (j >= to || text.charCodeAt(j) !== 61 || nameEnd === nameStart) {
      if (j < to && isPairGap(text.charCodeAt(j))) continue;
      return j; // not a cookie: the header ends here
    }
    j++;
    let vs = j, ve: number;
    // A quoted cookie value (`name="…"`): the quotes are not the session's.
    if (codeAt(text, j) === 34) {
      let e = j + 1;
      while (e < to && isValueOctet(text, e)) e++;
      if (e >= to || text.charCodeAt(e) !== 34) return j;
      vs = j + 1;
      ve = e;
      j = e + 1;
    } else {
      while (j < to && isValueOctet(text, j)) j++;
      ve = j;
    }
    judgeCookie(text, text.slice(nameStart, nameEnd), vs, ve, out);
    if (j < to && !isPairGap(text.charCodeAt(j))) return j;
  }
  return j;
}

/**
 * Judges one cookie of header text or a cookie file, its value at `[vs, ve)`: a framework's
 * session cookie ({@linkcode SESSION_COOKIE}) is one whatever its value looks like; any other
 * whose name names a session or whose value looks random (cookie_values.ts `namesSession`,
 * `looksRandom`: `__Secure-3PSID`, `li_at`, `sp_dc`) is judged as a HAR cookie pair is, as a
 * token after `cookie token: ` (red team n1, N1-12: in a `Set-Cookie:` line they came back
 * raw while the same header in HAR was redacted), with the same exceptions (value_parts.ts
 * `cookieSessionParts`: words percent-encoded, a server's route after the id). A cookie
 * attribute (`Path`, `Expires`…) is none. Reads at most {@linkcode MAX_PARTS_UNITS} units of the value.
 */
export function judgeCookie(
  text: string,
  name: string,
  vs: number,
  ve: number,
  out: Finding[],
): void {
  const value = text.slice(vs, Math.min(ve, vs + MAX_PARTS_UNITS));
  if (SESSION_COOKIE.test(name)) {
    if (value.length >= MIN_SESSION && !NO_SESSION.test(value) && givenSecret(value)) {
      out.push({ type: "secret", start: vs, end: ve, value: text.slice(vs, ve) });
    }
    return;
  }
  if (name.length <= 11 && COOKIE_ATTRIBUTE.test(name)) return;
  if ((!namesSession(name) && !looksRandom(value)) || encodedWords(value)) return;
  const found: Finding[] = [];
  matchValue(value.slice(0, withoutRoute(value)), 0, "token", found);
  for (const f of found) {
    out.push({ type: "secret", start: vs + f.start, end: vs + f.end, value: f.value });
  }
}

/** The attributes of a `Set-Cookie` line (value_parts.ts keeps the same list). */
const COOKIE_ATTRIBUTE =
  /^(?:path|domain|expires|max-age|samesite|secure|httponly|priority|partitioned|version|comment)$/i;

/** `;`, `,`, a blank or a tab: what separates cookie pairs. */
function isPairGap(c: number): boolean {
  return c === 59 || c === 32 || c === 9 || c === 44;
}

/**
 * Whether `text[j]` may be part of a cookie's name or value here: a cookie octet (RFC 6265:
 * `!`, `#`–`+`, `-`–`:`, `<`–`[`, `]`–`~`) other than `'`, `` ` ``, `$`, `&`, `|`, `<`,
 * `>`, `(`, `)`, `{`, `}`, `@`, and no `/` before a `.`.
 */
function isValueOctet(text: string, j: number): boolean {
  const c = text.charCodeAt(j);
  if (c < 0x21 || c > 0x7e || SHELL_OR_NON_OCTET.has(c)) return false;
  return c !== 47 || codeAt(text, j + 1) !== 46; // `/.`
}

/** `"`, `,`, `;`, `\` (no cookie octets) and what a shell reads: see isValueOctet. */
const SHELL_OR_NON_OCTET: ReadonlySet<number> = new Set(
  [..."\",;\\'`$&|<>(){}@"].map((ch) => ch.charCodeAt(0)),
);
