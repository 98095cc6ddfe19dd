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

/** Code unit at `i`, or -1 outside the string (so boundary tests need no range check). */
export function codeAt(text: string, i: number): number {
  return i >= 0 && i < text.length ? text.charCodeAt(i) : -1;
}
