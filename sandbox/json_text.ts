/**
 * Linear measurements of untrusted text, done before the text is parsed or stored: its
 * UTF-8 length, a prefix cut on a character boundary, and the nesting depth of JSON text.
 *
 * Every function here walks the string once and allocates nothing in proportion to it
 * (except the prefix it returns), so a 64 MB frame costs one pass.
 *
 * @module
 */

/**
 * The UTF-8 length of `text` in bytes, as `TextEncoder` would encode it: a lone
 * surrogate counts as U+FFFD (3 bytes).
 */
export function utf8ByteLength(text: string): number {
  let bytes = 0;
  const n = text.length;
  for (let i = 0; i < n; i++) {
    const unit = text.charCodeAt(i);
    if (unit < 0x80) bytes += 1;
    else if (unit < 0x800) bytes += 2;
    else if (unit >= 0xd800 && unit <= 0xdbff && i + 1 < n) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        bytes += 4;
        i++;
      } else bytes += 3;
    } else bytes += 3;
  }
  return bytes;
}

/**
 * The longest prefix of `text` whose UTF-8 length is at most `maxBytes`, never splitting
 * a surrogate pair. Returns `text` itself when it already fits.
 */
export function utf8Prefix(text: string, maxBytes: number): string {
  let bytes = 0;
  const n = text.length;
  for (let i = 0; i < n; i++) {
    const unit = text.charCodeAt(i);
    let width = 3;
    let units = 1;
    if (unit < 0x80) width = 1;
    else if (unit < 0x800) width = 2;
    else if (unit >= 0xd800 && unit <= 0xdbff && i + 1 < n) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        width = 4;
        units = 2;
      }
    }
    if (bytes + width > maxBytes) return text.slice(0, i);
    bytes += width;
    i += units - 1;
  }
  return text;
}

/** Appended to text cut by {@link capUtf8}. */
export const TRUNCATION_MARKER = "… [truncated]";

/**
 * `text` when its UTF-8 length is at most `maxBytes`; otherwise a prefix cut on a
 * character boundary followed by `marker`, the whole at most `maxBytes` bytes.
 */
export function capUtf8(text: string, maxBytes: number, marker = TRUNCATION_MARKER): string {
  // A string of n UTF-16 units has at most 3n UTF-8 bytes: short strings skip the count.
  if (text.length * 3 <= maxBytes || utf8ByteLength(text) <= maxBytes) return text;
  const room = Math.max(0, maxBytes - utf8ByteLength(marker));
  return dropPartialToken(utf8Prefix(text, room)) + marker;
}

/**
 * Most characters of value groups {@linkcode dropPartialToken} removes before the cut token,
 * spaces included: more than the longest value written in groups (an IBAN of 34 characters
 * in groups of four, 42 with its spaces; a card in groups, 23; a phone number, about 20).
 */
export const PARTIAL_GROUPS_CHARS = 64;
/**
 * How far back {@linkcode dropPartialToken} looks for a PEM block the cut left open, in
 * UTF-16 units: more than the longest PEM private key (RSA 4096: about 3,300 characters).
 */
export const PARTIAL_PEM_CHARS = 8192;
/** Longest token that counts as a group of a value written with spaces (`DE89`, `(415)`). */
const GROUP_CHARS = 8;
/** Longest token holding a label and the first group glued to it (`card_number=4111`). */
const LABELLED_GROUP_CHARS = 40;
/**
 * A group of a value written with spaces: digits, letters and `+()-./` with at least one
 * digit, or up to four capital letters (a UK IBAN's bank code: `GB82 WEST 1234`).
 */
const VALUE_GROUP = /^(?:[0-9A-Za-z+()\-./]*[0-9][0-9A-Za-z+()\-./]*|[A-Z]{1,4})$/;
/**
 * Characters no detected value contains, so they end a token: whitespace, quotes, brackets and
 * the separators of JSON and lists, and the letters of scripts written without spaces (Han,
 * Kana, Hangul, Thai) and pictographs, so that a line of Chinese or emoji is not one token.
 * (`@ . + - _ : / % =`, letters and digits, full-width forms and invisible characters do occur
 * in values as redaction reads them: addresses, numbers, keys, URLs with credentials.)
 */
const TOKEN_END =
  /[\s"'`<>{}[\],;|\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Hangul}\p{Script=Thai}\p{Extended_Pictographic}]/u;

/**
 * `text` (a prefix cut from something longer) without whatever the cut may have left of a
 * value: its last token (the trailing run of characters that occur in values, however long), the
 * groups of a value written with spaces just before it (`DE89 3704 0044`, `4111 1111 1111`,
 * `+1 415 555`: short tokens with a digit, up to {@linkcode PARTIAL_GROUPS_CHARS} characters,
 * the first of them also after a label glued to it: `iban=DE89`, `card:4111`), and a PEM block
 * the cut left without its END line (from its BEGIN line on).
 *
 * Why: text is cut before it is redacted, and a cut value is no longer recognised, yet leaks:
 * 15 of a card's 16 digits fail the Luhn check, but the last digit can be recomputed; 20 of an
 * IBAN's 22 characters leave two candidates (red team, 2026-11-30, when only the last run of
 * non-space characters was dropped); most of a private key is most of a private key. A token is
 * dropped whole however long it is (a second round found `…?sig=<600 characters>&card=411…`
 * kept when runs over 512 characters were left alone). Linear in what it looks at (at most the
 * PEM window plus the token and the groups).
 */
export function dropPartialToken(text: string): string {
  const begin = text.lastIndexOf("-----BEGIN ", text.length - 1);
  if (begin >= 0 && text.length - begin <= PARTIAL_PEM_CHARS) {
    if (text.indexOf("-----END ", begin) < 0) text = text.slice(0, begin);
  }
  let i = text.length;
  while (i > 0 && !endsToken(text, i)) {
    // A character outside the BMP (a pictograph) is stepped over whole, not as half a pair.
    const pair = i >= 2 && (text.charCodeAt(i - 1) & 0xfc00) === 0xdc00 &&
      (text.charCodeAt(i - 2) & 0xfc00) === 0xd800;
    i -= pair ? 2 : 1;
  }
  // The groups before it: each a short token with a digit, separated by whitespace (the first
  // may follow a quote or bracket, or a label glued to it). Text with NULs between its
  // characters (UTF-16 read as bytes), or other characters nobody sees, is up to twice as long
  // as it reads: so are its groups.
  const wide = UNSEEN.test(text.slice(Math.max(0, i - 2 * PARTIAL_GROUPS_CHARS), i)) ? 2 : 1;
  const floor = Math.max(0, i - wide * PARTIAL_GROUPS_CHARS);
  let kept = i;
  let at = i;
  while (at > floor) {
    let end = at;
    while (end > floor && /\s/.test(text[end - 1])) end--;
    let start = end;
    while (start > floor && end - start <= wide * LABELLED_GROUP_CHARS && !endsToken(text, start)) {
      start--;
    }
    const whole = start === 0 || endsToken(text, start);
    if (end === start || !whole || end - start > wide * LABELLED_GROUP_CHARS) break;
    const raw = text.slice(start, end);
    const token = wide === 2 ? raw.replace(UNSEEN_ALL, "") : raw;
    if (token.length > LABELLED_GROUP_CHARS) break;
    if (token.length <= GROUP_CHARS && VALUE_GROUP.test(token)) {
      kept = start;
      at = start;
      continue;
    }
    // `iban=DE89`, `card:4111`: the group after its label goes, the label stays.
    const label = Math.max(raw.lastIndexOf("="), raw.lastIndexOf(":"));
    const group = raw.slice(label + 1);
    const bare = wide === 2 ? group.replace(UNSEEN_ALL, "") : group;
    if (label >= 0 && bare.length > 0 && bare.length <= GROUP_CHARS && VALUE_GROUP.test(bare)) {
      kept = start + label + 1;
    }
    break;
  }
  return text.slice(0, kept);
}

/**
 * Whether the character before offset `i` ends a token ({@linkcode TOKEN_END}; a surrogate
 * pair tested whole). The `;` of an HTML character reference does not: the detectors read
 * `DE89&nbsp;3704` and `4111&#32;1111` as the spaced values they show (red team f1: a cut
 * inside `&nbsp;`-spaced groups kept 20 of an IBAN's 22 characters), so such a value is one
 * token here and goes whole.
 */
function endsToken(text: string, i: number): boolean {
  const pair = i >= 2 && (text.charCodeAt(i - 1) & 0xfc00) === 0xdc00 &&
    (text.charCodeAt(i - 2) & 0xfc00) === 0xd800;
  if (!TOKEN_END.test(pair ? text.slice(i - 2, i) : text[i - 1])) return false;
  return text.charCodeAt(i - 1) !== 0x3b || !closesReference(text, i - 1);
}

/**
 * An HTML character reference's name or number, as between `&` and `;`, also escaped again
 * (`&amp;nbsp;`, `&amp;amp;#160;`: HTML inside XML or RSS; red team g1).
 */
const REFERENCE_BODY =
  /^(?:amp;){0,3}(?:[A-Za-z][A-Za-z0-9]{1,31}|#[0-9]{1,7}|#[xX][0-9A-Fa-f]{1,6})$/;

/**
 * Characters a reader does not see, which the detectors drop (NUL between the characters of
 * UTF-16 read as bytes, zero-width and other default-ignorable ones): a group holding them is
 * judged without them (red team g1: a zero-width space beside each space kept 18 of an IBAN's
 * 22 characters).
 */
const UNSEEN = /[\0\p{Default_Ignorable_Code_Point}]/u;
const UNSEEN_ALL = /[\0\p{Default_Ignorable_Code_Point}]/gu;

/** Whether the `;` at `semi` closes an HTML character reference (looks back at most 45 units). */
function closesReference(text: string, semi: number): boolean {
  for (let amp = semi - 1; amp >= 0 && semi - amp <= 45; amp--) {
    if (text.charCodeAt(amp) === 0x26) return REFERENCE_BODY.test(text.slice(amp + 1, semi));
  }
  return false;
}

/** What {@link jsonShape} measured: nesting depth and number of values (see there). */
export interface JsonShape {
  /** The largest number of `[`/`{` open at once. */
  depth: number;
  /** The number of JSON values, containers and members alike (object keys not counted). */
  values: number;
}

/**
 * Measures JSON text in one linear scan, before anything parses it: its nesting depth and
 * how many values it holds (`[1,[2,3]]` holds five: both arrays and three numbers; an
 * object's keys are not values). Brackets and commas inside string literals (including
 * escaped quotes) are not counted. The scan stops as soon as the depth passes `maxDepth`
 * or the count passes `maxValues`, so each figure is exact only up to its limit and one
 * past it means "more". The text need not be valid JSON: for text that is not, both figures
 * are what its brackets and commas say.
 *
 * Why values: parsing, validating and re-serialising cost the event loop per value, not per
 * byte: four MiB of `[0,0,…]` (two million values) took ~80 ms of the gateway's main thread,
 * four MiB of one string ~5 ms.
 */
export function jsonShape(text: string, maxDepth: number, maxValues: number): JsonShape {
  let depth = 0;
  let deepest = 0;
  // A text holds one value plus one per comma plus one per non-empty container: `[]` is
  // one value, `[1]` two, `[1,2]` three.
  let values = 1;
  let opened = false;
  let inString = false;
  const n = text.length;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++; // backslash: the next unit is escaped
      else if (c === 0x22) inString = false;
      continue;
    }
    // Whitespace between a bracket and what follows it says nothing yet.
    if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) continue;
    if (opened) {
      opened = false;
      if (c !== 0x5d && c !== 0x7d && ++values > maxValues) return { depth: deepest, values };
    }
    if (c === 0x22) inString = true;
    else if (c === 0x2c) {
      if (++values > maxValues) return { depth: deepest, values };
    } else if (c === 0x5b || c === 0x7b) {
      opened = true;
      depth++;
      if (depth > deepest) {
        deepest = depth;
        if (deepest > maxDepth) return { depth: deepest, values };
      }
    } else if (c === 0x5d || c === 0x7d) {
      if (depth > 0) depth--;
    }
  }
  return { depth: deepest, values };
}

/**
 * The nesting depth of JSON text: the largest number of `[`/`{` open at once, counted
 * outside string literals. The scan stops as soon as the depth passes `limit` and
 * returns `limit + 1`, so the answer is exact only up to `limit`. The text need not be
 * valid JSON; brackets inside strings (including escaped quotes) are not counted.
 */
export function jsonNestingDepth(text: string, limit: number): number {
  return jsonShape(text, limit, Infinity).depth;
}
