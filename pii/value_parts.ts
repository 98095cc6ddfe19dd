// Parts of a value that are read under a key apart from the value as a whole (keyed.ts), and
// whether a value looks like a secret whatever the field it is in says (pairs.ts).
//
// - A URL under a credential key (`{"token": "https://x.example/t/<random>"}`, a Telegram
//   bot URL under `bot_token`, a token in a fragment under `api_key`): the detectors, which
//   read free text, take a URL after a credential word for a place, never a credential (red
//   team l1: each came back raw). Its path segments, query values and fragment pieces that
//   look secret ({@linkcode looksSecretPart}) are each read under the key again, alone.
// - Cookie text under a `Cookie` or `Set-Cookie` name (a HAR header, `{"name": "set-cookie",
//   "value": "wordpress_logged_in_<hash>=admin%7C…; path=/"}`, red team l1): each cookie's
//   value is read under a token's name when the cookie is a session's (cookie_values.ts), as a
//   cookie object's value is (pairs.ts).
//
// Every function here reads its input once, capped: linear.
//
// @module

import {
  encodedWords,
  looksRandom,
  namesSession,
  randomToken,
  withoutRoute,
} from "./cookie_values.ts";

/**
 * The key a session cookie's value is judged under when the cookie's name gives no context:
 * a token word, so a random-looking value is found as a secret and a plain one (`dark`,
 * `en-US`, `GA1.2.…`) is not.
 */
export const COOKIE_CONTEXT = "cookie token";

/** Longest text whose parts are read, in UTF-16 code units (a keyed read's head). */
export const MAX_PARTS_UNITS = 2048;
/** Most parts of one value read again; later ones are not (each read costs its length). */
export const MAX_PARTS = 32;
/** Longest part judged by {@linkcode looksSecretPart}, in UTF-16 code units. */
const MAX_PART_UNITS = 256;

/** A span of a value, `[start, end)` in UTF-16 code units. */
export interface Span {
  /** First unit of the part. */
  readonly start: number;
  /** One past its last unit. */
  readonly end: number;
}

/**
 * Whether `part` looks like a secret by itself: a random token (cookie_values.ts
 * `randomToken`: 16 units or more of a token's alphabet, random by entropy, vowels, digits or
 * mixed case) or a password ({@linkcode passwordLike}); a setting (`name=value`) by its
 * value. Reads at most 256 units.
 */
export function looksSecretPart(part: string): boolean {
  if (part.length < 8 || part.length > MAX_PART_UNITS) return false;
  // A setting (`max_connections=200`, `--db=prod`) is judged by its value.
  const setting = SETTING.exec(part);
  if (setting !== null) return looksSecretPart(part.slice(setting[0].length));
  return randomToken(part) || passwordLike(part);
}
/** A setting's name and `=` (`max_connections=`, `--log-level=`). */
const SETTING = /^-{0,2}[A-Za-z_][A-Za-z0-9_.-]{0,63}=/;

/**
 * Whether `text` looks like a password: 8 to 128 units, no white space, a letter, a digit and
 * a symbol other than those names, paths, addresses and URLs are written with (`_ - . / : @
 * + % ~ ,`): `Kd8f2Lq!x9Tz`, `S3cr3t!Pass`; not `svc_billing01`, `alice99@example.com`,
 * `v1.2.3-rc1`, `Prod-DB-01`.
 */
export function passwordLike(text: string): boolean {
  const n = text.length;
  if (n < 8 || n > 128) return false;
  let letter = false, digit = false, symbol = false;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    const l = c | 32;
    if (l >= 97 && l <= 122) letter = true;
    else if (c >= 48 && c <= 57) digit = true;
    else if (c <= 32 || c === 0x7f) return false;
    else if (!NAME_SYMBOLS.has(c)) symbol = true;
  }
  return letter && digit && symbol;
}
/** `_ - . / : @ + % ~ ,`: the symbols of names, paths, addresses and URLs. */
const NAME_SYMBOLS: ReadonlySet<number> = new Set([95, 45, 46, 47, 58, 64, 43, 37, 126, 44]);

/**
 * Whether a value in a field that says what it holds looks like a secret instead (red team
 * l1: `{"passwords": {"admin_role": …}}`, `{"api_keys": {"billing_project": …}}`): a string
 * that {@linkcode looksSecretPart} finds whole or in one of its parts (`|`-, `:`-, `.`-joined:
 * cookie_values.ts `looksRandom`), or an array of at most 64 strings one of which is. A
 * value that says what it is (plain_values.ts) is checked before this and never gets here.
 */
export function looksSecretValue(v: unknown): boolean {
  if (typeof v === "string") {
    // White space in the first units: no token, no password, no part of one (the common case
    // of prose, names and dates is answered here).
    if (v.length < 8 || WHITE_HEAD.test(v)) return false;
    return looksSecretPart(v) || looksRandom(v);
  }
  if (!Array.isArray(v) || v.length === 0 || v.length > 64) return false;
  for (const item of v) if (typeof item === "string" && looksSecretPart(item)) return true;
  return false;
}

/** White space within a value's first 256 units. */
const WHITE_HEAD = /^[^\s]{0,255}\s/;

/** A URL's scheme and `//`: the authority starts after it. */
const URL_START = /^[a-zA-Z][a-zA-Z0-9+.-]{0,15}:\/\//;
/** What separates the parts of a URL after its authority: `/ ? # & = ; : ,`. */
const URL_SEPARATORS: ReadonlySet<number> = new Set([47, 63, 35, 38, 61, 59, 58, 44]);

/**
 * The parts of URL `text` after its authority (path segments, query names and values,
 * fragment pieces; split at `/ ? # & = ; : ,`) that look secret ({@linkcode looksSecretPart}),
 * at most {@linkcode MAX_PARTS} of them. Empty when `text` is no URL (a scheme, `//`, no
 * white space) or is longer than {@linkcode MAX_PARTS_UNITS}. The authority is not read: its
 * user information is the URL credential detector's, and a host name is a place.
 */
export function urlSecretParts(text: string): Span[] {
  const n = text.length;
  const out: Span[] = [];
  if (n > MAX_PARTS_UNITS) return out;
  const scheme = URL_START.exec(text);
  if (scheme === null) return out;
  let i = scheme[0].length;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (c <= 32) return [];
    if (c === 47 || c === 63 || c === 35) break;
    i++;
  }
  let start = i;
  for (; i <= n; i++) {
    const c = i < n ? text.charCodeAt(i) : 47;
    if (c <= 32) return [];
    if (!URL_SEPARATORS.has(c)) continue;
    if (i - start >= 8 && out.length < MAX_PARTS && looksSecretPart(text.slice(start, i))) {
      out.push({ start, end: i });
    }
    start = i + 1;
  }
  return out;
}

/**
 * Whether `key` names cookie text: `Cookie`, `Set-Cookie`, `set_cookie`, `cookies` (any
 * case), as HTTP headers, HAR entries and header maps name it.
 */
export function namesCookieText(key: string | undefined): boolean {
  return key !== undefined && key.length <= 16 && COOKIE_TEXT_KEY.test(key);
}
const COOKIE_TEXT_KEY = /^(?:set[-_ ]?)?cookies?$/i;

/** Cookie attributes of a `Set-Cookie` line: what follows them is no cookie's value. */
const COOKIE_ATTRIBUTES: ReadonlySet<string> = new Set([
  "path",
  "domain",
  "expires",
  "max-age",
  "samesite",
  "secure",
  "httponly",
  "priority",
  "partitioned",
  "version",
  "comment",
]);

/**
 * The values of the session cookies in cookie text (`a=b; c=d`, or a `Set-Cookie` line's
 * `name=value; Path=/; HttpOnly`): the value of each `name=value` piece between `;` whose
 * name is no cookie attribute and names a session, or whose value looks random
 * (cookie_values.ts `namesSession`, `looksRandom`), at most {@linkcode MAX_PARTS} of them; not
 * words percent-encoded (`encodedWords`), and without a server's route after the id
 * (`withoutRoute`: Jetty's `node0<id>.node0`).
 * Reads the first {@linkcode MAX_PARTS_UNITS} units of `text`.
 */
export function cookieSessionParts(text: string): Span[] {
  const n = Math.min(text.length, MAX_PARTS_UNITS);
  const out: Span[] = [];
  let start = 0;
  let eq = -1; // the first `=` of the piece
  for (let i = 0; i <= n && out.length < MAX_PARTS; i++) {
    const c = i < n ? text.charCodeAt(i) : 59;
    if (c === 61 && eq < 0) eq = i;
    if (c !== 59) continue;
    let a = start;
    while (a < i && (text.charCodeAt(a) === 32 || text.charCodeAt(a) === 9)) a++;
    const at = eq;
    start = i + 1;
    eq = -1;
    if (at < 0 || at === a) continue;
    let end = i;
    while (end > at + 1 && text.charCodeAt(end - 1) <= 32) end--;
    if (end <= at + 1) continue;
    const name = text.slice(a, at).trim();
    if (name.length <= 11 && COOKIE_ATTRIBUTES.has(name.toLowerCase())) continue;
    const value = text.slice(at + 1, end);
    if ((namesSession(name) || looksRandom(value)) && !encodedWords(value)) {
      out.push({ start: at + 1, end: at + 1 + withoutRoute(value) });
    }
  }
  return out;
}
