// Keyword values: `name: value`, `name=value`, `"name": "value"`, `name => value` where the
// name is a credential's (pii/credential_names.ts), and `Bearer <token>` without a name.

import type { Finding } from "./types.ts";
import { codeAt, isLetter } from "./chars.ts";
import { newLineWords } from "./shell_syntax.ts";
import { type KeyKind, nameStartAt, triggerKind } from "./credential_names.ts";
import { emptyAfterSeparator, matchValue, valueContext } from "./secret_value.ts";
import { ValueContext } from "./value_end.ts";
import { continuationAt, readShellWord, unexpandedPieces } from "./shell_word.ts";
import { givenSecret } from "./looks_secret.ts";

/**
 * Values after `name: value`, `name=value`, `"name": "value"`, `name => value` where the
 * name is a credential word. Triggered by each ':' and '=' (cheap to find), with the key
 * name read backwards from there. A password variable set for a command is the password
 * whatever it looks like (`PGPASSWORD=postgres psql`); other values are judged. Linear: each
 * character is read at most twice (see below).
 *
 * @param text The text to scan.
 * @param out Findings are appended here.
 */
export function findNamedValues(text: string, out: Finding[]): void {
  // Two `indexOf` cursors rather than `/[:=]/g.exec`: native scans between triggers, and
  // no regular-expression call per trigger when every character is one (`::::`, `a:a:`).
  // Each cursor only moves forward, so the text is scanned once per character searched.
  const info = { judged: false };
  // The words of the line before each name, read once (pii/shell_syntax.ts).
  const lineWords = newLineWords();
  // How far the shell words read for command lines' password variables reached: each
  // character is read once by them (see `shellValue`).
  const shell = { readTo: 0 };
  let colon = text.indexOf(":");
  let equals = text.indexOf("=");
  let i = 0;
  while (true) {
    if (colon !== -1 && colon < i) colon = text.indexOf(":", i);
    if (equals !== -1 && equals < i) equals = text.indexOf("=", i);
    const at = colon === -1 ? equals : equals === -1 ? colon : Math.min(colon, equals);
    if (at === -1) break;
    i = at + 1;
    const kind = triggerKind(text, at);
    if (kind === null) continue;
    const before = out.length;
    const ctx = valueContext(text, nameStartAt(text, at), at, lineWords);
    // `PGPASSWORD= rm -rf /srv/data` sets the variable to the empty string and runs `rm`
    // (red team n1: the approver read `PGPASSWORD= [SECRET] -rf /srv/data`).
    const spaced = text.charCodeAt(at) === 61 && emptyAfterSeparator(text, at + 1);
    if (spaced && emptyForCommand(text, nameStartAt(text, at), at, ctx)) continue;
    // `--password= run.sh`: a flag's `=` with a space after it gives the flag an empty value.
    if (spaced && codeAt(text, nameStartAt(text, at)) === 45) continue;
    // A password variable set for a command (`PGPASSWORD=… psql`, `export DB_PASSWORD=…`) is
    // the password whatever it looks like (`PGPASSWORD=postgres`); a word after a space is
    // only judged (`DB_PASSWORD= Xk9m…` alone on a line of a `.env` file).
    const given = kind === "password" && text.charCodeAt(at) === 61 && !spaced &&
      setForCommand(text, nameStartAt(text, at), at, ctx);
    let end = matchValue(text, at + 1, given ? "given" : kind, out, info, ctx);
    if (given) end = Math.max(end, shellValue(text, at + 1, shell, out));
    if (end <= 0) continue;
    i = end;
    if (out.length > before || !info.judged) continue;
    // Not a secret. A credential named inside it (`token: a_long_note_secret=Xk9…`) gets
    // one judgement of its own: the last such name, so each character is read at most
    // twice (judging every `=` of `key=key=key=…` again was quadratic up to the cap).
    let last = -1;
    let lastKind: Exclude<KeyKind, "session" | "signature"> = null;
    for (let j = at + 1; j < end; j++) {
      const d = text.charCodeAt(j);
      if (d !== 58 && d !== 61) continue;
      const inner = triggerKind(text, j);
      if (inner !== null) {
        last = j;
        lastKind = inner;
      }
    }
    if (lastKind !== null) {
      const innerCtx = valueContext(text, nameStartAt(text, last), last, lineWords);
      i = Math.max(i, matchValue(text, last + 1, lastKind, out, info, innerCtx));
    }
  }
}

/**
 * `Bearer <token>` written without a key name (`curl -H "Authorization: Bearer …"`, logs):
 * the token after `Bearer ` (or `bearer `) is judged as a token. One `indexOf` scan.
 *
 * @param text The text to scan.
 * @param out Findings are appended here.
 */
export function findBearerValues(text: string, out: Finding[]): void {
  let b = text.indexOf("earer ");
  while (b !== -1) {
    const c = codeAt(text, b - 1);
    if ((c === 66 || c === 98) && !isLetter(codeAt(text, b - 2))) {
      matchValue(text, b + 6, "token", out);
    }
    b = text.indexOf("earer ", b + 6);
  }
}

/** Longest shell word read for a password variable's value (UTF-16 units). */
const SHELL_VALUE_REACH = 512;

/**
 * The value of a password variable set on a command line, from `vs`, read as the shell reads
 * its word (pii/shell_word.ts; red team l1): `PGPASSWORD="Sec"'ret99' psql`,
 * `PGPASSWORD=My\ Secret\ Pass99 psql`, `PGPASSWORD='$ecret…' psql` (single quotes: no
 * variable). Pushes the whole word (its content, when it is one quoted piece) when it holds
 * an escape or a quote and is a password ({@linkcode givenSecret}); the overlap with the
 * value `matchValue` read is resolved in favour of this longer one. Returns the word's end
 * (-1 when nothing was pushed). Reads nothing before `shell.readTo`, and moves it past what
 * it read: each character read once.
 */
function shellValue(
  text: string,
  vs: number,
  shell: { readTo: number },
  out: Finding[],
): number {
  if (vs < shell.readTo) return -1;
  const word = readShellWord(text, vs, Math.min(text.length, vs + SHELL_VALUE_REACH));
  shell.readTo = Math.max(shell.readTo, word.read, vs + 1);
  if (word.open || word.end === vs) return -1;
  let plain = true;
  for (let j = vs; j < word.end && plain; j++) {
    const c = text.charCodeAt(j);
    plain = c !== 92 && c !== 34 && c !== 39;
  }
  if (plain) return -1;
  const from = word.quotedWhole !== 0 ? vs + 1 : vs;
  const to = word.quotedWhole !== 0 ? word.end - 1 : word.end;
  if (to <= from) return -1;
  // A command substitution or `${…}` the shell runs (in double quotes too) splits the
  // password and stays readable (red team m1: `PGPASSWORD="pw1$(rm -rf /srv)" psql`).
  const pieces = unexpandedPieces(text, from, to, word.quotedWhole);
  const whole = pieces.length === 1 && pieces[0][0] === from && pieces[0][1] === to;
  let pushed = false;
  for (const [s, e] of whole ? pieces : pieces.filter(([s, e]) => e > s)) {
    const value = text.slice(s, e);
    if (!givenSecret(value, word.quotedWhole === 39)) continue;
    out.push({ type: "secret", start: s, end: e, value });
    pushed = true;
  }
  return pushed || !whole ? word.end : -1;
}

/** A shell variable's name as programs read them: capitals, digits and `_` (`PGPASSWORD`). */
const ENV_NAME = /^[A-Z][A-Z0-9_]*$/;

/** Most characters read around a variable to tell whether it is set for a command. */
const COMMAND_REACH = 256;

/** A space or a tab. */
function isBlank(c: number): boolean {
  return c === 32 || c === 9;
}

/**
 * What {@linkcode setForCommand} and {@linkcode emptyForCommand} judge alike, from the
 * variable whose name runs `[k, at)` and what stands before it on its line: `false` when its
 * name is no environment variable's ({@linkcode ENV_NAME}), the context (`ctx`) is another
 * than a command's or none, or the name does not start a word; `true` when the line reads as a
 * command (`ctx`) or starts with `export`, `env` or `sudo`, or the name follows `-e` or `--env`
 * ({@linkcode COMMAND_PREFIX}); else `undefined` (what follows the `=` decides). Reads at most
 * {@linkcode COMMAND_REACH} characters back.
 */
function commandBefore(
  text: string,
  k: number,
  at: number,
  ctx: ValueContext,
): boolean | undefined {
  if (!ENV_NAME.test(text.slice(k, at))) return false;
  if (ctx === ValueContext.Command) return true;
  if (ctx !== ValueContext.None) return false;
  const b = codeAt(text, k - 1);
  if (b !== -1 && b !== 10 && b !== 13 && !isBlank(b)) return false;
  let s = k;
  while (
    s > 0 && k - s < COMMAND_REACH && codeAt(text, s - 1) !== 10 && codeAt(text, s - 1) !== 13
  ) {
    s--;
  }
  // `export NAME=…`, `env NAME=… cmd`, `docker run -e NAME=…`.
  return COMMAND_PREFIX.test(text.slice(s, k)) ? true : undefined;
}

/**
 * Whether the variable whose name runs `[k, at)` and whose `=` is at `at` is set for a
 * command (`PGPASSWORD=… psql -h db`, `export DB_PASSWORD=…`, `$ MYSQL_PWD=… mysql`): its name
 * is an environment variable's ({@linkcode ENV_NAME}: code's `password=pw` is not), and the
 * line reads as a command (`ctx`, pii/shell_syntax.ts), or starts with `export`, `env` or
 * `sudo`, or the name follows `-e` or `--env` (`docker run -e …`), or a program's name follows
 * the value (not another `NAME=`: a logfmt line, nor a comment). Reads at most {@linkcode COMMAND_REACH} characters back and twice that ahead.
 */
function setForCommand(text: string, k: number, at: number, ctx: ValueContext): boolean {
  const before = commandBefore(text, k, at, ctx);
  if (before !== undefined) return before;
  // The word after the value (a `\` and a line break inside the value join its lines:
  // `PGPASSWORD=Winter\⏎2024secret psql`, red team m1).
  let j = at + 1;
  while (j < text.length && j - at < COMMAND_REACH) {
    const joined = j > at + 1 ? continuationAt(text, j, text.length) : 0;
    if (joined > 0 && codeAt(text, j + joined) > 32) j += joined;
    else if (codeAt(text, j) > 32) j++;
    else break;
  }
  if (!isBlank(codeAt(text, j))) return false;
  const gap = j;
  while (j - gap < COMMAND_REACH && isBlank(codeAt(text, j))) j++;
  let w = j;
  while (
    w - j < 64 && (isLetter(codeAt(text, w)) || codeAt(text, w) === 95 ||
      codeAt(text, w) === 45 || codeAt(text, w) === 46 || codeAt(text, w) === 47 ||
      (codeAt(text, w) >= 48 && codeAt(text, w) <= 57))
  ) w++;
  return w > j && codeAt(text, w) !== 61 && isLetterOrPath(codeAt(text, j));
}

/**
 * Whether the variable whose name runs `[k, at)`, with white space after its `=` at `at`, is
 * set empty for a command rather than given a value after the space: its name is an
 * environment variable's ({@linkcode ENV_NAME}), and the line reads as a command (`ctx`),
 * starts with `export`, `env` or `sudo` (`env PGPASSWORD= psql …`), or the word after the
 * space has more words after it on the line (`PGPASSWORD= dropdb production`: a program and
 * its arguments; a `.env` line `DB_PASSWORD= Xk9m…` has one word). Reads at most
 * {@linkcode COMMAND_REACH} characters back and twice that ahead.
 */
function emptyForCommand(text: string, k: number, at: number, ctx: ValueContext): boolean {
  const before = commandBefore(text, k, at, ctx);
  if (before !== undefined) return before;
  // The word after the space, then whether another follows it on the line.
  let j = at + 1;
  while (j - at < COMMAND_REACH && isBlank(codeAt(text, j))) j++;
  const word = j;
  while (j - word < COMMAND_REACH && codeAt(text, j) > 32) j++;
  if (j === word) return false;
  while (j - word < COMMAND_REACH * 2 && isBlank(codeAt(text, j))) j++;
  const next = codeAt(text, j);
  return next > 32 && next !== 35; // not a comment
}

/** `export NAME=…`, `env NAME=… cmd`, `sudo NAME=… cmd`, `docker run -e NAME=…`. */
const COMMAND_PREFIX =
  /^[ \t]*(?:\$[ \t]+)?(?:export|env|sudo)[ \t]|(?:^|[ \t])(?:-e|--env)[ \t]+$/;

/** A letter or `/`: how a program's name starts (`psql`, `/usr/bin/psql`). */
function isLetterOrPath(c: number): boolean {
  return isLetter(c) || c === 47;
}
