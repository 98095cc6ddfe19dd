// Whether a cookie is a session's: by its name (a framework's session or login cookie) or by
// its value (random, whole or in one of its parts). Read by pairs.ts for cookie objects
// (`{"name", "value", "domain"}`) and by value_parts.ts for cookie text under a `Cookie` or
// `Set-Cookie` name (a HAR header's value), so the two judge a cookie alike.
//
// @module

import { shannonEntropy } from "./checksums.ts";

/** Longest tail of a cookie's name {@linkcode namesSession} reads, in UTF-16 code units. */
const MAX_NAME_TAIL_UNITS = 32;

/**
 * Whether a cookie's name names a session, a login or an id (`session`, `laravel_session`,
 * `_gh_sess`, `PHPSESSID`, `JSESSIONID`, `connect.sid`, `ASP.NET_SessionId`, `.ASPXAUTH`,
 * `.AspNetCore.Cookies`, `wordpress_logged_in_<hash>`, `XSRF-TOKEN`, `remember_web_<hash>`,
 * `visitor_id`, `userId`), or carries a `__Host-`/`__Secure-` prefix (a server asks for one
 * only for a cookie that must not leak): its value is judged as a token's. Reads at most
 * {@linkcode MAX_COOKIE_NAME_UNITS} units of it from its start (a framework's word comes
 * first, a hash of the site after it: red team j1, `wordpress_logged_in_5c0f…` was read by its
 * hash alone) and {@linkcode MAX_NAME_TAIL_UNITS} from its end.
 */
export function namesSession(name: string): boolean {
  const head = name.slice(0, MAX_COOKIE_NAME_UNITS);
  return SESSION_PARTS.test(head) || SESSION_PREFIX.test(head) ||
    SESSION_ID.test(name.slice(-MAX_NAME_TAIL_UNITS));
}
/** Longest head of a cookie's name {@linkcode namesSession} reads, in UTF-16 code units. */
const MAX_COOKIE_NAME_UNITS = 128;
const SESSION_PARTS =
  /sess|auth|token|sid|jwt|csrf|xsrf|secret|log(?:ged)?_?in|remember|key|sig|pass|cred|aspnet|aspx|wordpress|cfid|antiforgery/i;
/** The cookie prefixes of RFC 6265bis, which bind a cookie to a secure origin. */
const SESSION_PREFIX = /^__(?:Host|Secure)-/i;
/** A last word `id` or `uid` (`visitor_id`, `userId`, `ajs_uid`), not `paid` or `fluid`. */
const SESSION_ID = /(?:^|[^A-Za-z])[uU]?[iI][dD]$|[a-z]U?I[dD]$/;

/** Longest head of a cookie's value {@linkcode looksRandom} reads, in UTF-16 code units. */
const MAX_RANDOM_UNITS = 256;
/** A token's alphabet: base64, base64url, hex, JWT, percent-encoding; no list or phrase. */
const TOKEN_ALPHABET = /^[A-Za-z0-9+/=_.~%-]+$/;
/**
 * What joins the parts of a structured cookie value: `|`, `:`, `.` and their percent-encoded
 * forms (WordPress `admin|1733011200|<random>|<hmac>`, Express `s:<id>.<signature>`; Rails'
 * `<data>--<digest>` is in a token's alphabet, read whole).
 */
const PART_SEPARATORS = /[|:.]|%7[Cc]|%3[Aa]|%2[Ee]/;

/**
 * Whether a cookie's value looks random (a session id under a name that says nothing of it):
 * its first {@linkcode MAX_RANDOM_UNITS} units are a random token ({@linkcode randomToken}),
 * or, split at {@linkcode PART_SEPARATORS}, one of their parts is (red team j1: a WordPress
 * login cookie's `|`, outside a token's alphabet, kept it raw). `solarized-dark-2024`,
 * `sku-12345,sku-67890`, `necessary,analytics` and `GA1.2.1234567890.1700000000` are not.
 */
export function looksRandom(value: unknown): boolean {
  if (typeof value !== "string" || value.length < 16) return false;
  const head = value.slice(0, MAX_RANDOM_UNITS);
  if (randomToken(head)) return true;
  const parts = head.split(PART_SEPARATORS);
  return parts.length > 1 && parts.some(randomToken);
}

/**
 * Whether `head` is a random token: at least 16 units of a token's alphabet, of at least 3
 * bits of entropy per character, with few vowels among its letters (at most 1 in 4: English
 * runs near 0.38, random letters 0.19), many digits (at least 3 in 10: hex), or, from 20
 * units, both cases and a digit (base64).
 */
export function randomToken(head: string): boolean {
  if (head.length < 16 || !TOKEN_ALPHABET.test(head)) return false;
  let letters = 0, vowels = 0, digits = 0, upper = 0;
  for (let i = 0; i < head.length; i++) {
    const raw = head.charCodeAt(i);
    const c = raw | 32;
    if (c >= 97 && c <= 122) {
      letters++;
      if (raw < 97) upper++;
      if (c === 97 || c === 101 || c === 105 || c === 111 || c === 117) vowels++;
    } else if (c >= 48 && c <= 57) digits++;
  }
  // Base64 of random bytes mixes cases and digits; its vowel share swings past 1 in 4 for
  // about one value in five (red team h1: 55–72 of 300 random session cookies kept raw).
  const mixed = upper > 0 && upper < letters && digits > 0 && head.length >= 20;
  const random = mixed || (letters > 0 && vowels / letters <= 0.25) ||
    digits / head.length >= 0.3;
  // The entropy last: it costs the most, and most values fail before it.
  return random && shannonEntropy(head) >= 3;
}

/**
 * Whether a cookie's value is words, percent-encoded (`WP%20Cookie%20check`, WordPress's test
 * cookie): a session id never holds a blank, and `%20` made such a value look random.
 */
export function encodedWords(value: string): boolean {
  return /%(?:20|09)/.test(value.slice(0, MAX_RANDOM_UNITS));
}

/**
 * A session id's length without a trailing route, a server's name appended to it (Jetty's
 * `node0<id>.node0`, Tomcat's `<hex>.worker1`, as `JSESSIONID` holds them): that name is no
 * secret, and read with it the id looked like a file name and came back raw (red team n1,
 * N1-12). The whole length when there is none or the id before it is under 16 units.
 */
export function withoutRoute(value: string): number {
  const m = ROUTE.exec(value.slice(-ROUTE_MAX));
  if (m === null) return value.length;
  const head = value.length - m[0].length;
  return head >= 16 ? head : value.length;
}
/** Longest route read (a `.`, then a name). */
const ROUTE_MAX = 33;
/** A `.` and a server's name at the value's end. */
const ROUTE = /\.[A-Za-z][A-Za-z0-9_-]{0,31}$/;
