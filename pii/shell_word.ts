// One word of a command line read as the shell reads it (red team l1): a backslash escapes
// the character after it (`Xk9\;abc\&Zq7`, `My\ Secret\ Pass99` are one word each), quoted
// pieces touching each other or unquoted text are one word (`"Sec"'ret99PwQz'`), a double
// quote ends only where it is not escaped (`"abc\"defgh"`), and a single-quoted piece is
// literal (`'$ecretPassw0rd'` names no variable). Before, a word ended at the first `\;`,
// `\ ` or inner quote, and the approver saw most of the password after it.

import { codeAt } from "./chars.ts";

/** A shell word read by {@linkcode readShellWord}. */
export interface ShellWord {
  /** Where the word ends (exclusive); the word's start when none starts there. */
  end: number;
  /**
   * The word is one quoted piece (`"…"` or `'…'`): its content is `[start + 1, end - 1)`.
   * `0` when it is not; else the quote's code (34 or 39).
   */
  quotedWhole: number;
  /**
   * A quote opened in the word did not close before the line's end or the reach: the word
   * ends before it (`end`), and the command's words with it.
   */
  open: boolean;
  /** Where reading stopped: past `end` when an open quote was read to its line's end. */
  read: number;
}

/**
 * A character that ends an unquoted word: white space, a control character and the shell's
 * operators (`;`, `|`, `&`, `<`, `>`, a backtick, `(`, `)`).
 */
export function endsShellWord(c: number): boolean {
  return c <= 32 || c === 127 || c === 59 || c === 124 || c === 38 || c === 60 || c === 62 ||
    c === 96 || c === 40 || c === 41;
}

/**
 * Reads the shell word starting at `start`, at most to `limit` (exclusive, UTF-16 index):
 * unquoted characters to white space or an operator not escaped by `\`; `'…'` literal to the
 * next `'`; `"…"` to the next `"` not escaped by `\`. A backslash before a line break ends
 * the word (a continued line). A quote not closed on its line leaves the word `open`, ending
 * before that quote (text decoded from JSON reads `"abc"def" ping` for `"abc\"def" ping`).
 * Each character is read once: linear.
 *
 * @param text The text holding the command.
 * @param start Where the word starts (not white space).
 * @param limit Index not to read at or past (a caller's reach).
 */
export function readShellWord(text: string, start: number, limit: number): ShellWord {
  let j = start;
  let pieces = 0;
  let quotedPieces = 0;
  let lastQuote = 0;
  while (j < limit) {
    const c = text.charCodeAt(j);
    if (c === 39 || c === 34) {
      pieces++;
      quotedPieces++;
      lastQuote = c;
      let k = j + 1;
      while (k < limit) {
        const d = text.charCodeAt(k);
        if (d === c || d === 10 || d === 13) break;
        // Inside double quotes `\` escapes the next character; inside single quotes nothing.
        if (d === 92 && c === 34 && k + 1 < limit && codeAt(text, k + 1) !== 10) k++;
        k++;
      }
      if (k >= limit || text.charCodeAt(k) !== c) {
        return { end: j, quotedWhole: 0, open: true, read: k };
      }
      j = k + 1;
      continue;
    }
    if (c === 92) {
      const n = codeAt(text, j + 1);
      if (n === -1 || n === 10 || n === 13 || j + 1 >= limit) break;
      pieces++;
      j += 2;
      continue;
    }
    if (endsShellWord(c)) break;
    pieces++;
    while (j < limit) {
      const d = text.charCodeAt(j);
      if (d === 39 || d === 34 || d === 92 || endsShellWord(d)) break;
      j++;
    }
  }
  const quotedWhole = pieces === 1 && quotedPieces === 1 ? lastQuote : 0;
  return { end: j, quotedWhole, open: false, read: j };
}
