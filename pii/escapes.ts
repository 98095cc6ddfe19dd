// Escaped text, read as what it stands for. Tool results are often JSON written by other
// languages' encoders, and logs and error messages render strings with escapes: Go's
// encoding/json writes `<`, `>`, `&` as `\u003c`, `\u003e`, `\u0026`
// (`\u003ctd\u003e4111111111111111`), Python's json.dumps every non-ASCII character as
// `\u00XX` (`jos\u00e9@example.com`, `4111\u00a01111…`), PHP `/` as `\/`
// (`postgres:\/\/admin:S3cr3t!Pass@db`), HTML pages `@` as `&#64;`, `&#x40;` or `&commat;`.
// An escape glues its hex digits or letters to the value beside it, or writes a separator the
// detectors do not read, and the value is hidden from them while any reader of the text sees
// it (red team d2). The detectors read the text with these escapes decoded (then folded,
// fold.ts), and findings map back to the text as written: the whole escaped value is replaced.
//
// What decodes (each escape to the one character it stands for, two units for an astral one):
// - backslash escapes of JSON and JavaScript: `\uHHHH`, `\u{H…}`, `\xHH`, `\/`, `\\`, `\"`,
//   `\'`, `\n`, `\r`, `\t`, `\b`, `\f`, `\v`, `\0`;
// - HTML character references: `&#NNN;`, `&#xHH;` (the `;` optional, as browsers read them)
//   and the named ones that stand for ASCII punctuation or spaces (`&commat;`, `&period;`,
//   `&nbsp;`, `&amp;`…);
// - text escaped twice (a JSON string holding JSON, `&amp;#64;`): decoded again, at most
//   {@linkcode MAX_PASSES} times in all, so the cost stays linear.
//
// Percent-encoding is read elsewhere: by the number and IPv6 detectors with the form encoding
// (fold.ts `decodeForm`), and by the e-mail detector through {@linkcode decodePercent}. The
// secret detector reads it as written: a decoded `%26` or `%20` would end a secret early and
// leave its tail raw.

import type { FoldedText } from "./fold.ts";

/** Most times escaped text is decoded (an escape of an escape of an escape). */
export const MAX_PASSES = 3;

/** Single-character backslash escapes. */
const BACKSLASH: Readonly<Record<string, string>> = {
  "\\": "\\",
  "/": "/",
  '"': '"',
  "'": "'",
  n: "\n",
  r: "\r",
  t: "\t",
  b: "\b",
  f: "\f",
  v: "\v",
  "0": "\0",
};

/**
 * Named HTML character references (WHATWG list) for the ASCII punctuation the detectors
 * read (`@`, `.`, `-`, `+`, `:`, `/`, `=`, `&`…) and the spaces and invisible characters
 * fold.ts folds. Others (letters with accents, symbols) hide no value and stay as written.
 */
const NAMED: Readonly<Record<string, string>> = {
  amp: "&",
  AMP: "&",
  lt: "<",
  LT: "<",
  gt: ">",
  GT: ">",
  quot: '"',
  QUOT: '"',
  apos: "'",
  commat: "@",
  period: ".",
  plus: "+",
  colon: ":",
  semi: ";",
  comma: ",",
  sol: "/",
  bsol: "\\",
  lowbar: "_",
  UnderBar: "_",
  equals: "=",
  num: "#",
  excl: "!",
  quest: "?",
  percnt: "%",
  dollar: "$",
  ast: "*",
  midast: "*",
  lpar: "(",
  rpar: ")",
  lsqb: "[",
  lbrack: "[",
  rsqb: "]",
  rbrack: "]",
  lcub: "{",
  lbrace: "{",
  rcub: "}",
  rbrace: "}",
  verbar: "|",
  vert: "|",
  VerticalLine: "|",
  Hat: "^",
  grave: "`",
  DiacriticalGrave: "`",
  tilde: "~",
  hyphen: "\u2010",
  dash: "\u2010",
  ndash: "\u2013",
  mdash: "\u2014",
  minus: "\u2212",
  nbsp: "\u00a0",
  NonBreakingSpace: "\u00a0",
  ensp: "\u2002",
  emsp: "\u2003",
  thinsp: "\u2009",
  ThinSpace: "\u2009",
  hairsp: "\u200a",
  numsp: "\u2007",
  puncsp: "\u2008",
  MediumSpace: "\u205f",
  shy: "\u00ad",
  zwj: "\u200d",
  zwnj: "\u200c",
  NoBreak: "\u2060",
  ZeroWidthSpace: "\u200b",
  Tab: "\t",
  NewLine: "\n",
};

/** Hex digit value of code unit `c`, or -1. */
function hexValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  const l = c | 32;
  return l >= 97 && l <= 102 ? l - 87 : -1;
}

/** The character of code point `code`, or `undefined` past U+10FFFF. */
function fromCode(code: number): string | undefined {
  return code <= 0x10ffff ? String.fromCodePoint(code) : undefined;
}

/**
 * The escape starting at `i` (a `\` or `&`): sets {@linkcode found} to what it stands for
 * and returns its length, or returns 0 when none starts there. Reads at most 11 units (the
 * escapes' bounded forms); untrusted digits are capped before they are read as a number.
 */
function escapeAt(text: string, i: number): number {
  const n = text.length;
  if (text.charCodeAt(i) === 92 /* \ */) {
    if (i + 1 >= n) return 0;
    const kind = text.charCodeAt(i + 1);
    if (kind === 117 /* u */) {
      if (text.charCodeAt(i + 2) === 123 /* { */) {
        let code = 0, k = i + 3;
        for (; k < n && k < i + 9; k++) {
          const h = hexValue(text.charCodeAt(k));
          if (h < 0) break;
          code = code * 16 + h;
        }
        if (k === i + 3 || text.charCodeAt(k) !== 125 /* } */) return 0;
        const ch = fromCode(code);
        if (ch === undefined) return 0;
        found = ch;
        return k + 1 - i;
      }
      let code = 0;
      for (let k = i + 2; k < i + 6; k++) {
        const h = k < n ? hexValue(text.charCodeAt(k)) : -1;
        if (h < 0) return 0;
        code = code * 16 + h;
      }
      found = String.fromCharCode(code);
      return 6;
    }
    if (kind === 120 /* x */) {
      const h1 = i + 2 < n ? hexValue(text.charCodeAt(i + 2)) : -1;
      const h2 = i + 3 < n ? hexValue(text.charCodeAt(i + 3)) : -1;
      if (h1 < 0 || h2 < 0) return 0;
      found = String.fromCharCode(h1 * 16 + h2);
      return 4;
    }
    const one = BACKSLASH[text[i + 1]];
    if (one === undefined) return 0;
    found = one;
    return 2;
  }
  // `&`: a numeric reference (`&#64;`, `&#x40;`, the `;` optional) or a named one.
  if (text.charCodeAt(i + 1) === 35 /* # */) {
    const hex = (text.charCodeAt(i + 2) | 32) === 120 /* x */;
    const first = hex ? i + 3 : i + 2;
    const max = hex ? 6 : 7;
    let code = 0, k = first;
    for (; k < n && k < first + max; k++) {
      const c = text.charCodeAt(k);
      const d = hex ? hexValue(c) : c >= 48 && c <= 57 ? c - 48 : -1;
      if (d < 0) break;
      code = code * (hex ? 16 : 10) + d;
    }
    if (k === first) return 0;
    // A reference to NUL or a surrogate is not a character (browsers show U+FFFD).
    if (code === 0 || (code >= 0xd800 && code <= 0xdfff)) return 0;
    const ch = fromCode(code);
    if (ch === undefined) return 0;
    found = ch;
    return (text.charCodeAt(k) === 59 /* ; */ ? k + 1 : k) - i;
  }
  let k = i + 1;
  while (
    k < n && k < i + 9 && ((text.charCodeAt(k) | 32) >= 97 && (text.charCodeAt(k) | 32) <= 122)
  ) k++;
  if (k - i - 1 < 2 || text.charCodeAt(k) !== 59 /* ; */) return 0;
  const name = text.slice(i + 1, k);
  if (!Object.hasOwn(NAMED, name)) return 0;
  found = NAMED[name];
  return k + 1 - i;
}

/** What the last {@linkcode escapeAt} that found an escape decoded it to. */
let found = "";

/**
 * Offsets of a decoded text mapped back to its source: each replaced span records where it
 * starts and ends in both (typed arrays grown by doubling); between spans, offsets move
 * together.
 */
export class SpanMap implements FoldedText {
  text = "";
  private size = 0;
  private outStart = new Int32Array(16);
  private outEnd = new Int32Array(16);
  private srcStart = new Int32Array(16);
  private srcEnd = new Int32Array(16);

  /** Whether any span was recorded. */
  get empty(): boolean {
    return this.size === 0;
  }

  /** Records that `[srcStart, srcEnd)` of the source became `[outStart, outEnd)`. */
  add(outStart: number, outEnd: number, srcStart: number, srcEnd: number): void {
    if (this.size === this.outStart.length) {
      const grow = (a: Int32Array) => {
        const b = new Int32Array(a.length * 2);
        b.set(a);
        return b;
      };
      this.outStart = grow(this.outStart);
      this.outEnd = grow(this.outEnd);
      this.srcStart = grow(this.srcStart);
      this.srcEnd = grow(this.srcEnd);
    }
    this.outStart[this.size] = outStart;
    this.outEnd[this.size] = outEnd;
    this.srcStart[this.size] = srcStart;
    this.srcEnd[this.size] = srcEnd;
    this.size++;
  }

  /** The last span starting at or before output offset `k`, or -1 (binary search). */
  private spanAt(k: number): number {
    let lo = 0, hi = this.size - 1, at = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (this.outStart[mid] <= k) {
        at = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return at;
  }

  startOf(k: number): number {
    const s = this.spanAt(k);
    if (s === -1) return k;
    return k < this.outEnd[s] ? this.srcStart[s] : this.srcEnd[s] + (k - this.outEnd[s]);
  }

  endOf(k: number): number {
    const s = this.spanAt(k);
    if (s !== -1 && k < this.outEnd[s]) return this.srcEnd[s];
    return this.startOf(k) + 1;
  }
}

/**
 * One decoding pass over `text`, or `undefined` when no escape in it decodes. Two `indexOf`
 * cursors (`\` and `&`), each moving only forward; the text between escapes is copied in
 * slices.
 */
function decodePass(text: string): SpanMap | undefined {
  const map = new SpanMap();
  let out = "";
  let last = 0;
  let outLength = 0;
  let slash = text.indexOf("\\");
  let amp = text.indexOf("&");
  while (slash !== -1 || amp !== -1) {
    const i = slash === -1 ? amp : amp === -1 ? slash : Math.min(slash, amp);
    const length = escapeAt(text, i);
    let resume = i + 1;
    if (length > 0) {
      if (i > last) out += text.slice(last, i);
      outLength += i - last;
      out += found;
      map.add(outLength, outLength + found.length, i, i + length);
      outLength += found.length;
      last = resume = i + length;
    }
    if (slash !== -1 && slash < resume) slash = text.indexOf("\\", resume);
    if (amp !== -1 && amp < resume) amp = text.indexOf("&", resume);
  }
  if (map.empty) return undefined;
  map.text = out + text.slice(last);
  return map;
}

/**
 * `outer` (a map from `inner.text`) after `inner` (a map from the original): one map from
 * the original to `outer.text`.
 */
export function composeMaps(inner: FoldedText, outer: FoldedText): FoldedText {
  return {
    text: outer.text,
    startOf: (k) => inner.startOf(outer.startOf(k)),
    endOf: (k) => inner.endOf(outer.endOf(k) - 1),
  };
}

/**
 * `text` with its backslash escapes and HTML character references decoded (see the module
 * comment), decoded again while a pass changes something, at most {@linkcode MAX_PASSES}
 * times; or `undefined` when nothing decodes (no `\` or `&` in the text: two native scans).
 * Offsets map back as in fold.ts `foldText`: a decoded character starts and ends where its
 * escape does. Linear: each pass moves two `indexOf` cursors forward and reads at most 11
 * units per `\` or `&`; a finding's offsets cost a binary search per pass.
 */
export function decodeEscapes(text: string): FoldedText | undefined {
  let map: FoldedText | undefined;
  let current = text;
  for (let pass = 0; pass < MAX_PASSES; pass++) {
    if (current.indexOf("\\") === -1 && current.indexOf("&") === -1) break;
    const next = decodePass(current);
    if (next === undefined) break;
    map = map === undefined ? next : composeMaps(map, next);
    current = next.text;
  }
  return map;
}

/**
 * `text` with percent-encoded printable ASCII decoded (`ann%2Elee%40example%2Ecom` reads
 * `ann.lee@example.com`), also encoded twice (`%2540`, a URL in a URL's query), as fold.ts
 * `decodeForm` reads them (`+` stays a `+`), for the e-mail detector: an address written in a
 * URL's query with every dot and its `@` encoded; an encoded delimiter (`%3D`, `%26`) then
 * ends a local part as the delimiter itself does. `undefined` when nothing decodes (no `%`:
 * one native scan). Offsets map back as in {@linkcode decodeEscapes}. Linear: one `indexOf`
 * cursor and at most five units read per `%`.
 */
export function decodePercent(text: string): FoldedText | undefined {
  let i = text.indexOf("%");
  if (i === -1) return undefined;
  const map = new SpanMap();
  let out = "";
  let last = 0;
  let outLength = 0;
  while (i !== -1) {
    // `%25` then two more hex digits is the same character encoded twice.
    const twice = text.charCodeAt(i + 1) === 50 && text.charCodeAt(i + 2) === 53 &&
      hexValue(text.charCodeAt(i + 4)) >= 0 && isPrintableHigh(text.charCodeAt(i + 3));
    const at = twice ? i + 3 : i + 1;
    const high = text.charCodeAt(at);
    const low = hexValue(text.charCodeAt(at + 1));
    let resume = i + 1;
    if (isPrintableHigh(high) && low >= 0 && !(high === 55 && low === 15)) {
      const length = at + 2 - i;
      if (i > last) out += text.slice(last, i);
      outLength += i - last;
      out += ASCII[(high - 48) * 16 + low];
      map.add(outLength, outLength + 1, i, i + length);
      outLength += 1;
      last = resume = i + length;
    }
    i = text.indexOf("%", resume);
  }
  if (map.empty) return undefined;
  map.text = out + text.slice(last);
  return map;
}

/** `2`–`7`: the high hex digit of a printable ASCII character (U+0020–U+007E). */
function isPrintableHigh(c: number): boolean {
  return c >= 50 && c <= 55;
}

/** One-character strings of the ASCII codes, so decoding allocates none per character. */
const ASCII: readonly string[] = Array.from({ length: 128 }, (_, c) => String.fromCharCode(c));
