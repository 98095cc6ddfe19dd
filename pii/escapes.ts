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

/**
 * One escape: a backslash escape, or an HTML character reference (numeric, or named with
 * 2 to 8 letters; only those in {@linkcode NAMED} decode). Bounded alternatives, no nested
 * quantifiers: each match attempt reads at most 11 characters.
 */
const ESCAPE =
  /\\(?:u\{[0-9a-fA-F]{1,6}\}|u[0-9a-fA-F]{4}|x[0-9a-fA-F]{2}|[\\/"'nrtbfv0])|&(?:#[xX][0-9a-fA-F]{1,6};?|#[0-9]{1,7};?|[A-Za-z]{2,8};)/g;

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

/** What one escape stands for, or `undefined` when it stays as written. */
function decodeOne(m: string): string | undefined {
  if (m.charCodeAt(0) === 92 /* \ */) {
    const kind = m[1];
    if (kind === "u") {
      const hex = m[2] === "{" ? m.slice(3, -1) : m.slice(2);
      return fromCode(parseInt(hex, 16));
    }
    if (kind === "x") return String.fromCharCode(parseInt(m.slice(2), 16));
    return BACKSLASH[kind];
  }
  if (m[1] === "#") {
    const body = m.endsWith(";") ? m.slice(2, -1) : m.slice(2);
    const code = body[0] === "x" || body[0] === "X"
      ? parseInt(body.slice(1), 16)
      : parseInt(body, 10);
    // A reference to NUL or a surrogate is not a character (browsers show U+FFFD).
    if (code === 0 || (code >= 0xd800 && code <= 0xdfff)) return undefined;
    return fromCode(code);
  }
  return Object.hasOwn(NAMED, m.slice(1, -1)) ? NAMED[m.slice(1, -1)] : undefined;
}

/** The character of code point `code`, or `undefined` past U+10FFFF. */
function fromCode(code: number): string | undefined {
  return code <= 0x10ffff ? String.fromCodePoint(code) : undefined;
}

/**
 * Offsets of a decoded text mapped back to its source: each replaced span records where it
 * starts and ends in both; between spans, offsets move together.
 */
class SpanMap implements FoldedText {
  /** Output offset where each replaced span starts, ascending. */
  readonly outStart: number[] = [];
  readonly outEnd: number[] = [];
  readonly srcStart: number[] = [];
  readonly srcEnd: number[] = [];
  text = "";

  /** Records that `[srcStart, srcEnd)` of the source became `[outStart, outEnd)`. */
  add(outStart: number, outEnd: number, srcStart: number, srcEnd: number): void {
    this.outStart.push(outStart);
    this.outEnd.push(outEnd);
    this.srcStart.push(srcStart);
    this.srcEnd.push(srcEnd);
  }

  /** The last span starting at or before output offset `k`, or -1 (binary search). */
  private spanAt(k: number): number {
    let lo = 0, hi = this.outStart.length - 1, found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (this.outStart[mid] <= k) {
        found = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return found;
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

/** One decoding pass over `text`, or `undefined` when no escape in it decodes. */
function decodePass(text: string): SpanMap | undefined {
  const map = new SpanMap();
  // Units the output is shorter (positive) than the source so far.
  let shift = 0;
  ESCAPE.lastIndex = 0;
  const out = text.replace(ESCAPE, (m: string, offset: number) => {
    const decoded = decodeOne(m);
    if (decoded === undefined) return m;
    const outStart = offset - shift;
    map.add(outStart, outStart + decoded.length, offset, offset + m.length);
    shift += m.length - decoded.length;
    return decoded;
  });
  if (map.outStart.length === 0) return undefined;
  map.text = out;
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
 * escape does. Linear: each pass is one native scan with a bounded match per escape; a
 * finding's offsets cost a binary search per pass.
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
 * A percent-encoded printable ASCII character, also encoded twice (`%2540`, a URL in a
 * URL's query), as fold.ts `decodeForm` reads them; `+` stays a `+`.
 */
const PERCENT = /%(?:25)?[2-7][0-9A-Fa-f]/g;

/**
 * `text` with percent-encoded printable ASCII decoded (`ann%2Elee%40example%2Ecom` reads
 * `ann.lee@example.com`), for the e-mail detector: an address written in a URL's query with
 * every dot and its `@` encoded; an encoded delimiter (`%3D`, `%26`) then ends a local part as
 * the delimiter itself does. `undefined` when nothing decodes (no `%`: one native scan).
 * Offsets map back as in {@linkcode decodeEscapes}. Linear: one native scan.
 */
export function decodePercent(text: string): FoldedText | undefined {
  if (text.indexOf("%") === -1) return undefined;
  const map = new SpanMap();
  let shift = 0;
  PERCENT.lastIndex = 0;
  const out = text.replace(PERCENT, (m: string, offset: number) => {
    const code = parseInt(m.slice(-2), 16);
    if (code === 0x7f) return m;
    const outStart = offset - shift;
    map.add(outStart, outStart + 1, offset, offset + m.length);
    shift += m.length - 1;
    return String.fromCharCode(code);
  });
  if (map.outStart.length === 0) return undefined;
  map.text = out;
  return map;
}
