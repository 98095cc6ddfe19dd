// E-mail addresses: found from each '@' by expanding over local-part and domain
// characters (bounded, so the scan stays linear), then validated structurally.

import type { Finding } from "./types.ts";
import { codeAt, isAlnum, isDigit, isLetter, isWordChar } from "./chars.ts";

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

/** Appends every e-mail address in `text` to `out`. */
export function findEmails(text: string, out: Finding[]): void {
  let at = text.indexOf("@");
  while (at !== -1) {
    const next = scanAt(text, at, out);
    at = text.indexOf("@", Math.max(next, at + 1));
  }
}

/** Tries the address around the '@' at `at`; returns where the search may resume. */
function scanAt(text: string, at: number, out: Finding[]): number {
  // Local part: walk left, bounded.
  let start = at;
  while (start > 0 && at - start < MAX_LOCAL + 1 && isLocalChar(text.charCodeAt(start - 1))) {
    start--;
  }
  if (isLocalChar(codeAt(text, start - 1))) return at + 1; // local part too long
  // Leading characters that are punctuation in prose, not part of the address.
  while (
    start < at && !isAlnum(text.charCodeAt(start)) && !isWideAlnum(text.charCodeAt(start)) &&
    text.charCodeAt(start) !== 95
  ) start++;
  if (start === at) return at + 1;
  // Domain: walk right, bounded.
  let end = at + 1;
  while (end < text.length && end - at <= MAX_DOMAIN && isDomainChar(text.charCodeAt(end))) end++;
  if (isDomainChar(codeAt(text, end)) && end - at > MAX_DOMAIN) return end;
  // A trailing dot or hyphen ends a sentence, not a domain.
  while (
    end > at + 1 && !isAlnum(text.charCodeAt(end - 1)) && !isWideAlnum(text.charCodeAt(end - 1))
  ) {
    end--;
  }
  if (!validDomain(text, at + 1, end)) {
    // `frank@example.com-123-45-6789.txt`: an address glued by a hyphen to digits (a file
    // name, an id); the domain ends at that hyphen.
    const cut = hyphenDigitsCut(text, at + 1, end);
    if (cut === -1 || !validDomain(text, at + 1, cut)) return at + 1;
    end = cut;
  }
  if (!validLocal(text, start, at)) return at + 1;
  // `scheme://user:password@host`: credentials in a URL, not an address (the password
  // is reported as a secret).
  if (
    // A bounded look back: `lastIndexOf` over the whole text made `x:a@b.com ` repeated
    // quadratic.
    codeAt(text, start - 1) === 58 &&
    text.slice(Math.max(0, start - 79), start + 3).includes("://")
  ) return end;
  // `git@github.com:owner/repo` is an SSH remote, not someone's address.
  if (codeAt(text, end) === 58 && text.slice(start, at) === "git") return end;
  // Glued to more address-like text (`a@b.com@c`) or to a word: not a clean address.
  if (codeAt(text, end) === 64 || isWordChar(codeAt(text, end))) return end;
  out.push({ type: "email", start, end, value: text.slice(start, end) });
  return end;
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
