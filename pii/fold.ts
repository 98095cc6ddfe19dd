// The text the detectors read: a value written with characters a reader does not see, or
// reads as ASCII, is folded to the ASCII value it shows, so that `ann\u200b@example.com`,
// `4111\u00a01111\u00a01111\u00a01111` and `ann＠example.com` meet the same detectors as
// their plain forms. The detectors' triggers, separators and alphabets are ASCII (charCodeAt
// tests in chars.ts); folding once, before them, covers every detector, present and future.
//
// What folds (one code unit, or one surrogate pair, at a time; never to more than one unit):
// - invisible characters (Unicode Default_Ignorable_Code_Point: zero-width space, joiner and
//   non-joiner, word joiner, soft hyphen, bidirectional controls, variation selectors,
//   Hangul fillers, tag characters, BOM…) are dropped;
// - decimal digits of every script (full-width `４`, Arabic-Indic `٤`, Devanagari `४`,
//   mathematical `𝟒`…) become `0`–`9`;
// - every Unicode space (Zs: no-break, narrow no-break, thin, ideographic, Ogham…) becomes
//   a space;
// - every other character whose compatibility form (NFKC) is one ASCII character takes it:
//   full-width forms (`＠`, `．`, `Ａ`), small forms (`﹫`), superscript and circled digits,
//   mathematical letters;
// - dashes and minus signs (U+2010–U+2015, U+2212) become `-`, line and paragraph
//   separators a line break, and the ideographic full stops that IDNA reads as dots
//   (U+3002, U+FF61) a `.`.
//
// - NUL (U+0000) is dropped where it interleaves a text: UTF-16 read as UTF-8 or Latin-1
//   (what Windows PowerShell 5's `>` and Excel's "Unicode Text" write, read back as text)
//   shows `a\0n\0n\0@\0…`, a NUL beside every character, which a reader of the file sees
//   as `ann@…` (red team f1: a whole CSV of addresses, cards and passwords came back raw).
//   A NUL alone stays: it separates values there (`/proc/*/environ`, `find -print0`).
//
// Nothing else changes: letters of other scripts, CJK, emoji stay as they are.

/** Folded text, and where each of its code units came from in the original. */
export interface FoldedText {
  /** The text with every foldable character folded; at most as long as the original. */
  text: string;
  /** Offset in the original of the character folded unit `k` came from. */
  startOf(k: number): number;
  /** Offset one past the character folded unit `k` came from (a surrogate pair is two). */
  endOf(k: number): number;
}

/** Table entry: the code unit is kept as it is. */
const KEEP = 0;
/** Table entry: the code unit is dropped (invisible). */
const DROP = 0xffff;

let bmp: Uint16Array | undefined;
let astral: Map<number, number> | undefined;
let anyFoldable: RegExp | undefined;

/** Characters NFKC leaves alone that still read as an ASCII separator. */
const EXTRA: ReadonlyArray<readonly [number, number, number]> = [
  [0x2010, 0x2015, 45], // hyphen, non-breaking hyphen, figure dash, en and em dash, bar
  [0x2212, 0x2212, 45], // minus sign
  [0x2043, 0x2043, 45], // hyphen bullet
  [0xfe58, 0xfe58, 45], // small em dash
  [0x2028, 0x2029, 10], // line and paragraph separator
  [0x0085, 0x0085, 10], // next line
  [0x3002, 0x3002, 46], // ideographic full stop (a dot in IDNA domain names)
  [0xff61, 0xff61, 46], // halfwidth ideographic full stop
];

/**
 * Builds the tables on first use (about 30 ms, once per thread, when a text first holds a
 * character past ASCII): the BMP as one 64 Ki-entry array (KEEP, DROP or the ASCII code),
 * the astral characters that fold as a map, and one global regular expression that finds
 * them in a text. Built from the Unicode data of the running engine, not a hand list.
 */
function tables(): { bmp: Uint16Array; astral: Map<number, number>; any: RegExp } {
  if (bmp !== undefined && astral !== undefined && anyFoldable !== undefined) {
    return { bmp, astral, any: anyFoldable };
  }
  const table = new Uint16Array(0x10000);
  const far = new Map<number, number>();
  // Every character past ASCII, as one string, searched natively for the few that can
  // fold (normalize() per character would take most of the time).
  const chars: string[] = [];
  for (let cp = 0x80; cp < 0x20000; cp++) {
    if (cp < 0xd800 || cp > 0xdfff) chars.push(String.fromCodePoint(cp));
  }
  for (let cp = 0xe0000; cp <= 0xe01ef; cp++) chars.push(String.fromCodePoint(cp));
  const candidates =
    /[\p{Default_Ignorable_Code_Point}\p{Nd}\p{Zs}\p{Changes_When_NFKC_Casefolded}]/gu;
  const ignorable = /^\p{Default_Ignorable_Code_Point}$/u;
  const digit = /^\p{Nd}$/u;
  const space = /^\p{Zs}$/u;
  // Decimal digits come in runs of ten from 0 to 9 (a Unicode stability guarantee), so
  // a digit's value is its place in its run.
  let lastDigit = -2;
  let lastValue = 0;
  for (const m of chars.join("").matchAll(candidates)) {
    const ch = m[0];
    const cp = ch.codePointAt(0)!;
    let f = KEEP;
    if (ignorable.test(ch)) f = DROP;
    else if (digit.test(ch)) {
      lastValue = cp === lastDigit + 1 ? (lastValue + 1) % 10 : 0;
      lastDigit = cp;
      f = 48 + lastValue;
    } else if (space.test(ch)) f = 32;
    else {
      const nfkc = ch.normalize("NFKC");
      if (nfkc.length === 1 && nfkc.charCodeAt(0) < 0x80) f = nfkc.charCodeAt(0);
    }
    if (f === KEEP) continue;
    if (cp < 0x10000) table[cp] = f;
    else far.set(cp, f);
  }
  for (const [from, to, ascii] of EXTRA) for (let c = from; c <= to; c++) table[c] = ascii;
  // One scan for every BMP unit that folds and every surrogate pair whose high half
  // starts an astral one that does (checked in the table): native matching leaves text
  // with nothing to fold, or little, at nearly full speed.
  let cls = "";
  for (let c = 0x80; c < 0x10000; c++) {
    if (table[c] === KEEP) continue;
    let e = c;
    while (e + 1 < 0x10000 && table[e + 1] !== KEEP) e++;
    cls += e === c ? unit(c) : unit(c) + "-" + unit(e);
    c = e;
  }
  const highs = [...new Set([...far.keys()].map((cp) => 0xd800 + ((cp - 0x10000) >> 10)))];
  const pairs = "[" + highs.map(unit).join("") + "][\\udc00-\\udfff]";
  bmp = table;
  astral = far;
  anyFoldable = new RegExp("\\u0000|[" + cls + "]|" + pairs, "g");
  return { bmp, astral, any: anyFoldable };
}

function unit(c: number): string {
  return "\\u" + c.toString(16).padStart(4, "0");
}

/**
 * Plain ASCII without NUL (most text): nothing to fold, decided by one native scan.
 */
// deno-lint-ignore no-control-regex -- NUL is what this looks for (see interleavedNul)
const NON_ASCII = /[\u0000\u0080-\uffff]/;

/**
 * Whether the NUL at `offset` interleaves text (UTF-16 read as bytes): another NUL two
 * units before or after it, with no NUL between.
 */
function interleavedNul(text: string, offset: number): boolean {
  const before = offset >= 2 && text.charCodeAt(offset - 2) === 0 &&
    text.charCodeAt(offset - 1) !== 0;
  const after = offset + 2 < text.length && text.charCodeAt(offset + 2) === 0 &&
    text.charCodeAt(offset + 1) !== 0;
  return before || after;
}

/**
 * The folded form of `text`, or `undefined` when nothing in it folds (the common case,
 * decided by native scans, so plain text costs no copy). Linear: one native scan for the
 * characters that fold and a few operations per such character; the map back to the
 * original is kept only where lengths change (a dropped character, a surrogate pair
 * folded to one unit), so a text with a few no-break spaces costs little more than one
 * without.
 */
export function foldText(text: string): FoldedText | undefined {
  if (!NON_ASCII.test(text)) return undefined;
  const t = tables();
  // From folded offset at[r] on, removed[r] units of the original were dropped before.
  const at: number[] = [0];
  const removed: number[] = [0];
  let gone = 0;
  let changed = false;
  t.any.lastIndex = 0;
  const out = text.replace(t.any, (m: string, offset: number) => {
    const f = m === "\u0000"
      ? (interleavedNul(text, offset) ? DROP : KEEP)
      : m.length === 1
      ? t.bmp[m.charCodeAt(0)]
      : t.astral.get(m.codePointAt(0)!) ?? KEEP;
    if (f === KEEP) return m;
    changed = true;
    const shrink = f === DROP ? m.length : m.length - 1;
    if (shrink > 0) {
      // The next unit out starts after this one (dropped: at its place; folded: after it).
      const next = offset - gone + (f === DROP ? 0 : 1);
      gone += shrink;
      if (at[at.length - 1] === next) removed[removed.length - 1] = gone;
      else {
        at.push(next);
        removed.push(gone);
      }
    }
    return f === DROP ? "" : ASCII[f];
  });
  if (!changed) return undefined;
  const startOf = shiftedOffsets(at, removed);
  const endOf = (k: number): number => {
    const start = startOf(k);
    const c = text.charCodeAt(start);
    // A surrogate pair folded to one unit: the folded unit is not the high surrogate.
    const pair = c >= 0xd800 && c <= 0xdbff && out.charCodeAt(k) !== c;
    return start + (pair ? 2 : 1);
  };
  return { text: out, startOf, endOf };
}

/** One-character strings of the ASCII codes, so a fold allocates nothing per character. */
const ASCII: readonly string[] = Array.from({ length: 128 }, (_, c) => String.fromCharCode(c));

// URL and form encodings, for the number and IPv6 detectors only. A query string or a form body
// writes a card, an SSN or an IBAN with `+` for the spaces between its groups
// (`?card=4111+1111+1111+1111`, `iban=DE89+3704+…`), `%20` for them, and `%2B` for a
// phone's `+` (`%2B14155550134`), `%3A` for an IPv6 address's colons; a reader of the URL
// sees the value, so we must too.
// The other detectors do not read this text: `+` is a base64 character, and a secret cut at
// a decoded space would leave its tail raw.

/**
 * A percent-encoded printable ASCII character (`%20`, `%2B`, `%3D`, `%28`…), also encoded
 * twice (`%2520`, as a URL inside a URL's query is), and each `+`.
 */
const FORM_TRIGGERS = /%(?:25)?[2-7][0-9A-Fa-f]|\+/g;

/** Characters of a query value written unencoded (RFC 3986 `pchar`, `/`, `?`), `+` aside. */
function isValueChar(c: number): boolean {
  return (c >= 48 && c <= 57) || ((c | 32) >= 97 && (c | 32) <= 122) ||
    c === 45 || c === 46 || c === 95 || c === 126 || c === 37 || c === 33 || c === 36 ||
    c === 40 || c === 41 || c === 42 || c === 44 || c === 59 || c === 58 || c === 64 ||
    c === 47 || c === 63;
}

/** ASCII letter or digit. */
function isAlnumCode(c: number): boolean {
  return (c >= 48 && c <= 57) || ((c | 32) >= 97 && (c | 32) <= 122);
}

/** What a `+` read as a space stands between: letters, digits, `(415)+555-0134`. */
function joinsGroups(c: number): boolean {
  return isAlnumCode(c) || c === 40 || c === 41;
}

/**
 * The text the number and IPv6 detectors read: percent-encoded printable ASCII decoded,
 * and a `+` between two letters, digits or parentheses inside the value of a `key=value`
 * pair (a query string, a form body: `?ssn=123+45+6789`, `iban=DE89+3704+…&amount=10`)
 * read as the space it encodes. `undefined` when nothing changes (no `+` or `%` in the
 * text: two native scans). A `+` elsewhere (`+1 415…`, `a + b`, `C++`) stays. Offsets map
 * back as in {@linkcode foldText}; a decoded unit ends where the next one starts (nothing
 * is dropped). Linear: each `+` looks back only as far as the previous `+` (whose answer
 * it inherits) or the `=` of its pair.
 */
export function decodeForm(text: string): FoldedText | undefined {
  if (text.indexOf("+") === -1 && text.indexOf("%") === -1) return undefined;
  const at: number[] = [0];
  const removed: number[] = [0];
  let gone = 0;
  let changed = false;
  // The previous `+` and whether it stood in a form value.
  let lastPlus = -1;
  let lastInForm = false;
  FORM_TRIGGERS.lastIndex = 0;
  const out = text.replace(FORM_TRIGGERS, (m: string, offset: number) => {
    if (m === "+") {
      let inForm = false;
      for (let k = offset - 1; k >= 0; k--) {
        const c = text.charCodeAt(k);
        if (k === lastPlus) {
          inForm = lastInForm;
          break;
        }
        if (c === 61 /* = */) {
          const key = k > 0 ? text.charCodeAt(k - 1) : -1;
          inForm = isAlnumCode(key) || key === 95 || key === 45 || key === 46 || key === 93;
          break;
        }
        if (!isValueChar(c)) break;
      }
      lastPlus = offset;
      lastInForm = inForm;
      if (
        !inForm || !joinsGroups(offset > 0 ? text.charCodeAt(offset - 1) : -1) ||
        !joinsGroups(offset + 1 < text.length ? text.charCodeAt(offset + 1) : -1)
      ) return m;
      changed = true;
      return " ";
    }
    const code = parseInt(m.slice(-2), 16);
    if (code === 0x7f) return m;
    changed = true;
    const shrink = m.length - 1;
    const next = offset - gone + 1;
    gone += shrink;
    at.push(next);
    removed.push(gone);
    return String.fromCharCode(code);
  });
  if (!changed) return undefined;
  const startOf = shiftedOffsets(at, removed);
  return { text: out, startOf, endOf: (k: number) => startOf(k + 1) };
}

/**
 * Maps an offset of a shortened text back to the text it came from: `at[i]` is the first
 * shortened offset after the i-th shortening (ascending, `at[0]` = 0) and `removed[i]` the
 * units removed before it in all. A binary search: a finding asks twice.
 */
function shiftedOffsets(at: readonly number[], removed: readonly number[]): (k: number) => number {
  return (k: number): number => {
    let lo = 0, hi = at.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (at[mid] <= k) lo = mid;
      else hi = mid - 1;
    }
    return k + removed[lo];
  };
}
