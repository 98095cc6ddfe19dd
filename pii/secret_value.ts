// The value after a credential name: where it starts (past quotes, `:`, `=`, a `Bearer`
// scheme), where it ends (pii/value_end.ts), and whether it is a secret
// (pii/looks_secret.ts) or a passphrase (pii/passphrase.ts).

import type { Finding } from "./types.ts";
import { codeAt } from "./chars.ts";
import { assignmentReading, type LineWords, ShellReading } from "./shell_syntax.ts";
import { isKeyNameChar, MAX_LEAD } from "./credential_names.ts";
import { givenSecret, looksSecret } from "./looks_secret.ts";
import { passphraseEnd } from "./passphrase.ts";
import { unexpandedPieces } from "./shell_word.ts";
import {
  codeEnd,
  isOpener,
  isQuote,
  isValueLead,
  JUDGE_MAX,
  quotedEnd,
  unquotedEnd,
  userInfoEnd,
  ValueContext,
} from "./value_end.ts";

/**
 * The kind of value read: `password`, `token` and `aws` are judged by their thresholds
 * (pii/looks_secret.ts); `given` stands where only a password goes (a tool's password flag, a
 * password variable before a command) and is one unless it is a variable or a placeholder
 * ({@linkcode givenSecret}).
 */
export type ValueKind = "password" | "token" | "aws" | "given";

/** An authorization scheme before a token (`Bearer …`, `Basic …`): not part of it. */
const SCHEME = /^(?:bearer|basic|token|digest)\s+/i;

/**
 * Reads the value starting around `from`; pushes it when it looks secret, and sets
 * `info.judged` when the value was judged (not empty). Returns where the keyword scan
 * resumes, -1 when there is no value: past the value whether or not it was a secret, so a
 * `:` or `=` inside it is not a trigger of the main scan (see `findNamedValues` in
 * pii/keyword_scan.ts for the one nested judgement).
 *
 * Where a value ends depends on how it is written (red team, 2026-11-30: a fixed set of
 * stop characters cut `Tr0ub4dor&3` to `Tr0ub4dor` and left `Xy;9kQ2mLp7` whole):
 * - quoted (`"…"`, `'…'`, a backtick, or an escaped `\"` in JSON inside JSON): to the matching
 *   quote, whatever it holds but white space;
 * - unquoted ({@linkcode unquotedEnd}): to white space or the end, or where the syntax around
 *   it resumes (`&name=`, `;`+space, a closing quote or bracket, an escape).
 * A value never spans white space, so it cannot hide a command from an approver (red team
 * c3). Judged on at most {@linkcode JUDGE_MAX} characters, redacted whole. An unquoted value
 * written `password@host` without a scheme (`Xk9m@db.example:5432`) is the user information of
 * a connection: it ends at the last `@` before the host ({@linkcode userInfoEnd}), so the host
 * stays readable.
 *
 * @param kind The credential kind the name gave: how it is judged ({@linkcode ValueKind}).
 * @param info Set to whether a value was judged.
 * @param ctx Where the value stands ({@linkcode ValueContext}).
 */
export function matchValue(
  text: string,
  from: number,
  kind: ValueKind,
  out: Finding[],
  info: { judged: boolean } = { judged: false },
  ctx: ValueContext = ValueContext.None,
): number {
  info.judged = false;
  // On a command line a `=` or `:` glued to its name and followed by white space ends an
  // empty value (`--password= run.sh`, `curl -u admin: https://…`): the next word is the
  // command's, never the value (red team n1: it hid the URL an approver had to see).
  if (ctx === ValueContext.Command && emptyAfterSeparator(text, from)) return -1;
  let j = from;
  let quote = -1;
  let depth = 0; // backslashes before the opening quote
  while (j < text.length && j - from < MAX_LEAD) {
    const c = text.charCodeAt(j);
    if (isQuote(c)) {
      quote = c;
      while (j - depth > from && codeAt(text, j - depth - 1) === 92) depth++;
      j++;
      break;
    }
    // SQL Server's national string (`PASSWORD = N'…'`): the value is inside the quotes.
    if (c === 78 && codeAt(text, j + 1) === 39 && j > from && isValueLead(text.charCodeAt(j - 1))) {
      j++;
      continue;
    }
    if (!isValueLead(c)) break;
    j++;
  }
  const first = codeAt(text, j) | 32;
  if (first === 98 || first === 116 || first === 100) {
    const scheme = SCHEME.exec(text.slice(j, j + 10)); // Bearer, Basic, Token, Digest
    if (scheme) j += scheme[0].length;
  }
  const vs = j;
  let ve = quote === -1 ? unquotedEnd(text, vs, ctx) : quotedEnd(text, vs, quote, depth);
  if (ve === vs && quote !== -1 && (kind === "password" || kind === "given")) {
    // White space inside the quotes: words, which under a password name may be a
    // passphrase (`PASSWORD="correct horse battery staple"`); where only a password goes
    // (`sshpass -p 'my old pass'`), whatever the quotes hold on the line.
    const pe = kind === "given" ? closingQuoteAt(text, vs, quote) : passphraseEnd(text, vs, quote);
    if (pe > vs) {
      info.judged = true;
      // In double quotes the shell runs a command substitution or `${…}`: it splits the
      // password and stays readable (red team m1: `PGPASSWORD="pw1$(rm -rf /srv)" psql`).
      const pieces = kind === "given" && quote === 34
        ? unexpandedPieces(text, vs, pe, 34)
        : [[vs, pe]];
      for (const [s, e] of pieces) {
        out.push({ type: "secret", start: s, end: e, value: text.slice(s, e) });
      }
      return pe;
    }
  }
  if (quote === -1) {
    // Sentence punctuation.
    while (ve > vs && (text.charCodeAt(ve - 1) === 46 || text.charCodeAt(ve - 1) === 58)) ve--;
    // A call or an index is code: its name is no credential (`crypto.randomBytes(16)`).
    const code = codeEnd(text, isOpener(codeAt(text, vs)) ? vs + 1 : vs, ve);
    if (code < ve) {
      info.judged = true;
      return code;
    }
    // `password:Xk9m@evil.example`: the password, then the host it opens (until this change
    // read whole, the host hidden with it; pii/README.md "Limits").
    const host = kind === "aws" || ctx === ValueContext.UserInfo || ctx === ValueContext.Path
      ? -1
      : userInfoEnd(text, vs, ve);
    if (host > vs) {
      const user = text.slice(vs, Math.min(host, vs + JUDGE_MAX));
      if (kind === "token" ? looksSecret(user, false) : givenSecret(user)) {
        info.judged = true;
        out.push({ type: "secret", start: vs, end: host, value: text.slice(vs, host) });
        return ve;
      }
    }
  }
  if (ve === vs) return -1;
  info.judged = true;
  // A password that starts with a bracket (`(Kd8#f2Lq`) is judged without it, so code such
  // as `(await` is not judged more random for its bracket; it is redacted whole.
  const skip = quote === -1 && isOpener(text.charCodeAt(vs)) ? 1 : 0;
  const judged = text.slice(vs + skip, Math.min(ve, vs + JUDGE_MAX));
  // AWS secret access keys have a fixed shape: 40 base64 characters.
  const aws = kind === "aws" && ve - vs === 40 && /^[A-Za-z0-9/+]{40}$/.test(judged);
  if (kind === "given" ? givenSecret(judged) : aws || looksSecret(judged, kind === "password")) {
    out.push({ type: "secret", start: vs, end: ve, value: text.slice(vs, ve) });
  } else if (
    kind === "password" && quote === -1 && codeAt(text, ve) === 32 &&
    ctx === ValueContext.None && startsConfigLine(text, from - 1)
  ) {
    // The rest of the line, unquoted (`password: correct horse battery staple`, and a value
    // under a password key, judged as `key: value`).
    const pe = passphraseEnd(text, vs, -1);
    if (pe > vs) {
      out.push({ type: "secret", start: vs, end: pe, value: text.slice(vs, pe) });
      return pe;
    }
  }
  return ve;
}

/**
 * Whether the value starting at `from` is empty as a shell reads it: `from` follows a `=` or
 * `:` (the separator of `NAME=`, `--flag=`, `user:`) and a space, a tab or the end of the line
 * comes next. A word boundary ends a shell word, so what follows is another word.
 */
export function emptyAfterSeparator(text: string, from: number): boolean {
  const before = codeAt(text, from - 1);
  if (before !== 61 && before !== 58) return false;
  const c = codeAt(text, from);
  return c === 32 || c === 9 || c === 10 || c === 13 || c === -1;
}

/**
 * The {@linkcode ValueContext} of a value whose key name starts at `k`, before the `:` or
 * `=` at `at`; `words` is the scan's line reader (names asked about in text order).
 */
export function valueContext(text: string, k: number, at: number, words: LineWords): ValueContext {
  if (codeAt(text, k - 1) !== 47) {
    const reading = assignmentReading(text, k, at, words);
    return reading === ShellReading.Command
      ? ValueContext.Command
      : reading === ShellReading.Assignment
      ? ValueContext.Assignment
      : ValueContext.None;
  }
  return codeAt(text, k - 2) === 47 && codeAt(text, k - 3) === 58
    ? ValueContext.UserInfo
    : ValueContext.Path;
}

/**
 * Whether the key name before the `:` at `at` starts a configuration line (`password: …`,
 * `  - password: …`, YAML or an INI-like file): only there may an unquoted value run on
 * over spaces as a passphrase. After `=` (a shell assignment, `PGPASSWORD=postgres dropdb
 * …`), a flag (`--password root -e …`) or inside a line, the words after the first are a
 * command or more text, never the value (red team f1). Reads at most 48 + 40 + 16 back.
 */
function startsConfigLine(text: string, at: number): boolean {
  if (codeAt(text, at) !== 58) return false;
  let k = at;
  while (
    k > 0 && at - k < MAX_LEAD && (codeAt(text, k - 1) === 32 || isQuote(codeAt(text, k - 1)))
  ) k--;
  const nameEnd = k;
  while (k > 0 && nameEnd - k < 48 && isKeyNameChar(text.charCodeAt(k - 1))) k--;
  const nameStart = k;
  while (
    k > 0 && nameStart - k < 16 && (codeAt(text, k - 1) === 32 || codeAt(text, k - 1) === 9 ||
      codeAt(text, k - 1) === 45 || isQuote(codeAt(text, k - 1)))
  ) k--;
  return k === 0 || codeAt(text, k - 1) === 10 || codeAt(text, k - 1) === 13;
}

/** Longest quoted value read where only a password goes, in UTF-16 units. */
const GIVEN_QUOTED_MAX = 256;

/**
 * The closing `quote` of a value from `vs` on the same line, at most
 * {@linkcode GIVEN_QUOTED_MAX} units on; `vs` when there is none.
 */
function closingQuoteAt(text: string, vs: number, quote: number): number {
  for (let j = vs; j < text.length && j - vs <= GIVEN_QUOTED_MAX; j++) {
    const c = text.charCodeAt(j);
    if (c === quote) return j;
    if (c === 10 || c === 13) break;
  }
  return vs;
}
