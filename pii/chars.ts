// Character-class tests on UTF-16 code units. The detectors scan with charCodeAt loops
// instead of regular expressions so that every scan is linear and cheap.

/** `0`–`9`. */
export function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

/** `A`–`Z`. */
export function isUpper(c: number): boolean {
  return c >= 65 && c <= 90;
}

/** `a`–`z`. */
export function isLower(c: number): boolean {
  return c >= 97 && c <= 122;
}

/** ASCII letter. */
export function isLetter(c: number): boolean {
  return (c | 32) >= 97 && (c | 32) <= 122;
}

/** ASCII letter or digit. */
export function isAlnum(c: number): boolean {
  return isDigit(c) || isLetter(c);
}

/** ASCII letter, digit or underscore: a character that glues tokens into one word. */
export function isWordChar(c: number): boolean {
  return isAlnum(c) || c === 95;
}

/** Hexadecimal digit. */
export function isHex(c: number): boolean {
  return isDigit(c) || ((c | 32) >= 97 && (c | 32) <= 102);
}

/** Characters of base64 / base64url / typical API-key alphabets. */
export function isTokenChar(c: number): boolean {
  return isWordChar(c) || c === 45 /* - */ || c === 43 /* + */ || c === 47 /* / */;
}

/** Space, tab, line breaks and no-break space. */
export function isSpace(c: number): boolean {
  return c === 32 || c === 9 || c === 10 || c === 13 || c === 160 || c === 12 || c === 11;
}

/** Longest label {@linkcode labelBefore} looks back over (keeps the scan linear). */
export const MAX_LABEL = 32;

/**
 * Whether the value at `i` (digits, a key) follows a label written onto it (`card-4111…`,
 * `id_4111…`, `x.4111…`, `card4111…`, `key-AKIA…`): ASCII letters, words joined by `-`, `_`
 * or `.` allowed (`card_no-`, `ledger.card-`), back to a character that is neither a word
 * character nor `-`/`.`. Returns 1 when a `-`, `_` or `.` joins the label to the value, 2
 * when its letters touch it, 0 when what comes before is no label (it holds a digit, or
 * is longer than {@linkcode MAX_LABEL}). Reads at most {@linkcode MAX_LABEL} + 2
 * characters back, so a scan that asks at every candidate stays linear.
 */
export function labelBefore(text: string, i: number): number {
  let k = i - 1;
  const joined = isJoiner(codeAt(text, k));
  if (joined) k--;
  if (!isLetter(codeAt(text, k))) return 0;
  const stop = Math.max(-1, k - MAX_LABEL);
  while (k > stop) {
    const c = codeAt(text, k);
    if (isLetter(c)) k--;
    else if (isJoiner(c) && isLetter(codeAt(text, k - 1))) k -= 2;
    else break;
  }
  if (k <= stop && k >= 0) return 0;
  const before = codeAt(text, k);
  if (isWordChar(before) || before === 45 || before === 46) return 0;
  return joined ? 1 : 2;
}

/** {@linkcode glueAfter}: nothing is glued on (a space, punctuation, the end). */
export const GLUE_NONE = 0;
/** {@linkcode glueAfter}: a word is written onto the value; the value still stands. */
export const GLUE_SUFFIX = 1;
/** {@linkcode glueAfter}: the characters run on into one longer token (no value ends here). */
export const GLUE_TOKEN = 2;

/**
 * What follows the digits of a value ending before `j`. A word after a value does not make
 * it an identifier: `4111…1111_visa`, `…1111-old`, `078-05-1120_x`, `+14155550134_cell`,
 * `10.1.2.3x` show the value as plainly as a space would (red team, 2026-11-30: file names
 * such as `123-45-6789_W2_2025.pdf` leaked). `_` then anything, `-` then a letter, and
 * letters touching the digits are such a suffix ({@linkcode GLUE_SUFFIX}). Letters that
 * run on into digits (`4111…1111a3f9`, `15T10`) are the inside of one token, a hex digest
 * or a timestamp ({@linkcode GLUE_TOKEN}), and so are `-` and as many hex letters as the
 * `group` before had digits (`01-23-45-67-89-AB`). Reads at most
 * {@linkcode MAX_SUFFIX_LETTERS} + 1 characters (or `group` + 2, at most 21), so a scan
 * that asks after every group stays linear.
 */
export function glueAfter(text: string, j: number, group = 0): number {
  const c = codeAt(text, j);
  if (c === 95) return isWordChar(codeAt(text, j + 1)) ? GLUE_SUFFIX : GLUE_NONE;
  if (c === 45) {
    if (!isLetter(codeAt(text, j + 1))) return GLUE_NONE;
    // Hex letters as many as the group's digits go on in the group's pattern: a MAC
    // address (`01-23-45-67-89-AB`) or an id in groups (`4111-1111-1111-1111-abcd`).
    let k = j + 1;
    while (k - j <= group && isHex(codeAt(text, k))) k++;
    const next = codeAt(text, k);
    return k - j - 1 === group && !isWordChar(next) ? GLUE_TOKEN : GLUE_SUFFIX;
  }
  if (!isLetter(c)) return isDigit(c) ? GLUE_TOKEN : GLUE_NONE;
  let k = j + 1;
  while (k - j < MAX_SUFFIX_LETTERS && isLetter(codeAt(text, k))) k++;
  return isDigit(codeAt(text, k)) || isLetter(codeAt(text, k)) ? GLUE_TOKEN : GLUE_SUFFIX;
}

/** Longest run of letters touching a value that {@linkcode glueAfter} reads as a suffix. */
export const MAX_SUFFIX_LETTERS = 32;

/** `-`, `_` or `.`: what joins the words of a label, and a label to its value. */
function isJoiner(c: number): boolean {
  return c === 45 || c === 95 || c === 46;
}

/** Code unit at `i`, or -1 outside the string (so boundary tests need no range check). */
export function codeAt(text: string, i: number): number {
  return i >= 0 && i < text.length ? text.charCodeAt(i) : -1;
}
