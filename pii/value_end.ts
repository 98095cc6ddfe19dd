// Where a value after a credential name ends: a quoted value at its closing quote, an
// unquoted one at white space or where the syntax around it resumes (a query's `&name=`, a
// closing bracket, an escape, an HTML tag, a shell operator on a command line), and code
// (`getpass()`, `os.getenv("PW")`) told from a literal.

import { codeAt, isAlnum, isDigit, isLetter } from "./chars.ts";
import { endsShellValue, ShellReading } from "./shell_syntax.ts";
import { continuationAt } from "./shell_word.ts";
import { isKeyNameChar } from "./credential_names.ts";
import { lastAuthorityAt } from "./url_passwords.ts";
import { knownTld } from "./host_names.ts";

/**
 * Characters of a value judged, in UTF-16 units. A longer value (an STS session token, an
 * opaque bearer token, a key's DER body) is judged on its first `JUDGE_MAX` characters and,
 * when they look secret, redacted whole: until 2026-11-30 a value over 512 characters was
 * skipped whole and came back raw.
 */
export const JUDGE_MAX = 512;

/** What `/\s/` matches (JavaScript white space and line terminators), without a regex call. */
function isJsSpace(c: number): boolean {
  return c === 32 || (c >= 9 && c <= 13) || c === 0xa0 || c === 0x1680 ||
    (c >= 0x2000 && c <= 0x200a) || c === 0x2028 || c === 0x2029 || c === 0x202f ||
    c === 0x205f || c === 0x3000 || c === 0xfeff;
}

/** White space or a control character: what ends every value. */
export function endsToken(c: number): boolean {
  return c <= 32 || c === 127 || (c >= 128 && isJsSpace(c));
}

/** Characters between a key and its value: white space, `:`, `=`, `>`, `\` (escaped JSON). */
export function isValueLead(c: number): boolean {
  return isJsSpace(c) || c === 58 || c === 61 || c === 62 || c === 92;
}

/** `"`, `'` or a backtick. */
export function isQuote(c: number): boolean {
  return c === 34 || c === 39 || c === 96;
}

/**
 * Where a keyword value stands, by what is written before its name (red team f1: a value
 * run to white space hid the rest of a URL or a path from an approver, `[SECRET]` standing
 * for `ghs_…@evil.example/loot.git` or `Q7Xk…/../../../.ssh/authorized_keys`):
 * - `UserInfo`: the name follows `://` (`https://x-access-token:ghs_…@host/path`), so the
 *   value is a URL's password: it ends at `@`, `/`, `?` or `#`, where the host or the path
 *   begins (the URL-credential finding covers the same characters);
 * - `Path`: the name follows `/` (`/reports/apikey=Q7Xk9mP2vR/../x`), so the value is a path
 *   segment: it ends at the next `/`.
 */
export const ValueContext = Object.freeze(
  {
    /** Nothing before the name says where the value stands. */
    None: 0,
    /** After `://`: a URL's password. */
    UserInfo: 1,
    /** After `/`: a path segment. */
    Path: 2,
    /** A lone shell or .env assignment (pii/shell_syntax.ts, `ShellReading.Assignment`). */
    Assignment: 3,
    /** A command line's value (pii/shell_syntax.ts, `ShellReading.Command`). */
    Command: 4,
  } as const,
);

/** One of {@linkcode ValueContext}'s values. */
export type ValueContext = typeof ValueContext[keyof typeof ValueContext];

/**
 * The end of a quoted value from `vs`: the closing `quote` (for a quote opened after `depth`
 * backslashes, the same quote after at most as many; otherwise one not escaped), or a plain
 * token up to the end of the text (a cut log line); `vs` (no value) when white space or `${`
 * comes first.
 */
export function quotedEnd(text: string, vs: number, quote: number, depth: number): number {
  let backslashes = 0;
  for (let j = vs; j < text.length; j++) {
    const c = text.charCodeAt(j);
    if (c === quote) {
      if (depth === 0 && backslashes % 2 === 0) return j;
      if (depth > 0 && backslashes <= depth) return j - backslashes;
    }
    // White space before the closing quote: not one quoted token (`"token: ".repeat(…)`
    // closes a string; `"correct horse"` is words). A template's `${` is code.
    if (endsToken(c) || (c === 36 && codeAt(text, j + 1) === 123)) return vs;
    backslashes = c === 92 ? backslashes + 1 : 0;
  }
  // No closing quote before the end (a cut log line, or a quote that closed a string):
  // only a plain token, up to the first character that ends values in code.
  let j = vs;
  while (j < text.length && "\"'`,;&()[]{}<>\\".indexOf(text[j]) === -1) j++;
  return j;
}

/**
 * The end of an unquoted value from `vs`. It runs to white space or the end of the text,
 * and holds `;`, `&`, `,`, `(`, `[`, `{`, `<`, `'`, `\` as passwords do (`Xy;9kQ2mLp7`,
 * `Tr0ub4dor&3`, `ab\9x`), except where they are the syntax around the value:
 * - `&`, `;` or `,` before white space, the end, a character no value starts with (`"`,
 *   `&&`), or a next `name=` / `name:` (`?token=…&user=ann`, `token:…,user:ann`);
 * - a quote before white space, the end or punctuation (`'PASSWORD=…'`, `"k=…","x"`);
 * - a closing bracket that closes nothing opened in the value, before white space, the end
 *   or punctuation (`{token: …}`, `f(password=…);`), not before more of the value
 *   (`Kd8)f2Lq!x`, `a1b2c3)d4e5`);
 * - `\n`, `\r`, `\t`, `\"`, `\'`, `\u`: an escape of the string the value is written in;
 * - an HTML tag (`</td>`, `<br>`).
 * A value starting with a bracket or `<` is a structure or a placeholder only as
 * {@linkcode structureAt} says; otherwise a password starting with it (`(Kd8#f2Lq`). Reads
 * each character once (twice after an opening bracket), plus at most 49 ahead at a `&`,
 * `;`, `,` and 11 at a `<`.
 */
export function unquotedEnd(
  text: string,
  vs: number,
  ctx: ValueContext = ValueContext.None,
): number {
  const first = codeAt(text, vs);
  const opener = isOpener(first);
  if (opener && structureAt(text, vs)) return vs;
  // A regular expression literal (`/^[A-Za-z0-9]{40}$/`), not a path.
  if (first === 47 && "^([|\\".indexOf(String.fromCharCode(codeAt(text, vs + 1))) !== -1) return vs;
  // A crypt or PHC hash string (`$2b$12$…`, `$argon2id$v=19$m=65536,t=3,p=4$…`): its `,` and
  // `=` are its own syntax, so it runs to white space (or a quote or bracket closing it).
  const phc = first === 36 && /^\$[a-z0-9-]{1,32}\$/.test(text.slice(vs, vs + 35));
  const shell = ctx === ValueContext.Command
    ? ShellReading.Command
    : ctx === ValueContext.Assignment
    ? ShellReading.Assignment
    : ShellReading.None;
  // A URL's password ends at the last `@` of the authority (as browsers and curl read it:
  // `token:Xk9m@Q2pL7vRt@evil.example`), so the host after it stays visible.
  const lastAt = ctx === ValueContext.UserInfo ? lastAuthorityAt(text, vs) : -1;
  let open = 0;
  let j = vs;
  for (; j < text.length; j++) {
    const c = text.charCodeAt(j);
    if (endsToken(c)) break;
    // On a command line `\` escapes the next character (`PGPASSWORD=Xk9\;abc\&Zq7…`,
    // `My\ Secret\ Pass99`): one word to the shell, so one value (red team l1: the cut at
    // `\;` showed most of the password). Not a quote or `\n`: in a JSON string holding the
    // command those are the string's escapes, which end the value below.
    if (shell === ShellReading.Command && c === 92 && shellEscapeAt(text, j + 1)) {
      j++;
      continue;
    }
    // In a shell `\` before a line break inside a word joins the lines into one word
    // (`PGPASSWORD=Winter\⏎2024secret psql`, `curl -u admin:Sum\⏎mer2024x`; red team m1:
    // the value ended at the `\` and its tail showed).
    if (shell !== ShellReading.None && c === 92 && j > vs) {
      const joined = continuationAt(text, j, text.length);
      if (joined > 0 && !endsToken(codeAt(text, j + joined)) && codeAt(text, j + joined) !== -1) {
        j += joined - 1;
        continue;
      }
    }
    if (shell !== ShellReading.None && endsShellValue(text, j, shell)) break;
    if (phc) {
      if (isQuote(c) || c === 41 || c === 93 || c === 125) break;
      continue;
    }
    // A template's `${…}` or `{{…}}`: code, not part of a literal. So is a command
    // substitution running a command (`pw1$(rm -rf /srv)`; red team m1: the value hid
    // `$(rm` and the approver read `[REDACTED_SECRET] -rf /srv)`).
    if ((c === 36 || c === 123) && codeAt(text, j + 1) === 123) break;
    if (c === 36 && codeAt(text, j + 1) === 40 && substitutedCommandAt(text, j + 2)) break;
    if (
      c === 47 /* / */ &&
      (ctx === ValueContext.UserInfo || ctx === ValueContext.Path || dotSegmentAt(text, j + 1))
    ) break;
    if (ctx === ValueContext.UserInfo && (c === 63 || c === 35 || (c === 64 && j >= lastAt))) {
      break;
    }
    if (isQuote(c)) {
      if (closesHere(codeAt(text, j + 1))) break;
    } else if (c === 92) {
      const n = codeAt(text, j + 1);
      if (n === 110 || n === 114 || n === 116 || n === 117 || isQuote(n)) break;
    } else if (c === 38 || c === 59 || c === 44) {
      if (!continuesValue(text, j + 1)) break;
    } else if (c === 40 || c === 91 || c === 123) open++;
    else if (c === 41 || c === 93 || c === 125) {
      // A bracket that closes nothing opened in the value ends it only where the syntax
      // goes on after it (`{token: …}`, `f(password=…);`): in `a1b2c3)d4e5` or `Kd8)f2Lq!x`
      // it is a character of the password (red team d2: the head was cut off and judged
      // too short, the tail left raw).
      if (open === 0 && (closesHere(codeAt(text, j + 1)) || codeResumes(text, j + 1))) break;
      if (open > 0) open--;
    } else if (c === 60 && j > vs && isTag(text, j)) break;
  }
  return j;
}

/**
 * Whether the character at `k`, after a `\` in a command line's unquoted value, is one the
 * backslash makes literal for the shell: white space but a line break, a shell operator,
 * `\`, `$`, `!`, `*`, `?`, `#`, `~`, `{`, `}`, `=`, `%`.
 */
function shellEscapeAt(text: string, k: number): boolean {
  const c = codeAt(text, k);
  return c === 32 || c === 9 || ";&|<>()\\$!*?#~{}=%`".indexOf(String.fromCharCode(c)) !== -1;
}

/**
 * Whether a command's name starts at `k`, after `$(`: a small letter or `/`, then at most
 * 31 small letters, digits, `_`, `.`, `-`, `/`, then white space, `)`, `|`, `;`, `&` or the
 * end (`$(rm -rf /srv)`, `$(id)`, `$(/bin/sh`). A random password's `$(` is followed by
 * mixed case or symbols (`Xk9$(mQ2pL7`): no command.
 */
function substitutedCommandAt(text: string, k: number): boolean {
  const first = codeAt(text, k);
  if (!((first >= 97 && first <= 122) || first === 47)) return false;
  let j = k + 1;
  while (j - k < 32) {
    const c = codeAt(text, j);
    if (
      !((c >= 97 && c <= 122) || (c >= 48 && c <= 57) || c === 95 || c === 46 || c === 45 ||
        c === 47)
    ) {
      break;
    }
    j++;
  }
  const after = codeAt(text, j);
  return after === -1 || endsToken(after) || after === 41 || after === 124 || after === 59 ||
    after === 38;
}

/**
 * Whether a `.` or `..` path segment starts at `k` (after a `/`): path traversal, which no
 * credential holds (base64 has no `.`), so a value ends at the `/` before it whatever its
 * context.
 */
function dotSegmentAt(text: string, k: number): boolean {
  if (codeAt(text, k) !== 46) return false;
  const n = codeAt(text, k + 1) === 46 ? k + 2 : k + 1;
  const c = codeAt(text, n);
  return c === 47 || c === 92 || c === -1 || endsToken(c) || isQuote(c);
}

/**
 * Whether code goes on at `k`, after a closing bracket (`=e}onRunEnd(e){…` in minified
 * code): a name of 2 to 32 letters, `_` or `$` (no digit, as a password's characters
 * between symbols mostly hold), then `(`, `{`, `.`, `=` or `:`. A password goes on
 * otherwise (`Kd8)f2Lq!x`, `a1b2c3)d4e5`, `Kd8)f2Lq.x`).
 */
function codeResumes(text: string, k: number): boolean {
  let j = k;
  while (
    j - k < 32 && (isLetter(codeAt(text, j)) || codeAt(text, j) === 95 || codeAt(text, j) === 36)
  ) {
    j++;
  }
  if (j - k < 2) return false;
  const c = codeAt(text, j);
  return c === 40 || c === 123 || c === 46 || c === 61 || c === 58;
}

/** `(`, `[`, `{` or `<`. */
export function isOpener(c: number): boolean {
  return c === 40 || c === 91 || c === 123 || c === 60;
}

/**
 * Whether the bracket or `<` at `vs` opens a structure or a placeholder, not a password
 * that starts with it (`(Kd8#f2Lq`, `[Kd8#f2Lq`, `<Kd8#f2Lq`; red team d2): a `{`, or a
 * bracket followed by white space, the end, a quote or another bracket (`["a", …`, `[[`),
 * or closed before white space (`[REDACTED_SECRET]`, `(none)`, `<your-token>`). Reads to the next white space at
 * most (the value's own characters, read again once).
 */
function structureAt(text: string, vs: number): boolean {
  const opener = text.charCodeAt(vs);
  // A brace opens an object or a block (`password: {type: String, …}`): never a password.
  if (opener === 123) return true;
  const next = codeAt(text, vs + 1);
  if (next === -1 || endsToken(next) || isQuote(next) || isOpener(next)) return true;
  const closer = opener === 40 ? 41 : opener === 91 ? 93 : 62;
  for (let j = vs + 1; j < text.length && j - vs <= JUDGE_MAX; j++) {
    const c = text.charCodeAt(j);
    if (endsToken(c)) return false;
    // A string inside: a call or a tuple (`(r"%s\VC"`, `["a",`).
    if (c === closer || isQuote(c)) return true;
  }
  return false;
}

/** Whether `c`, after a quote inside an unquoted value, shows the quote closing a string. */
function closesHere(c: number): boolean {
  return c === -1 || endsToken(c) || c === 44 || c === 59 || c === 58 || c === 41 ||
    c === 93 || c === 125 || c === 62 || c === 38 || c === 92 || isQuote(c);
}

/** Characters a password goes on with after `&`, `;` or `,` (not a quote, bracket or `&`). */
function continuesValue(text: string, k: number): boolean {
  const c = codeAt(text, k);
  if (!isAlnum(c) && "!#$%*+-./=?@^_|~".indexOf(String.fromCharCode(c)) === -1) return false;
  // A next `name=` or `name:` (a query string, a cookie, an object written without spaces).
  if (!isLetter(c) && c !== 95) return true;
  let j = k + 1;
  while (
    j - k < 48 &&
    (isKeyNameChar(codeAt(text, j)) || codeAt(text, j) === 91 || codeAt(text, j) === 93)
  ) j++;
  const after = codeAt(text, j);
  return after !== 61 && after !== 58;
}

/** An HTML tag at `j` (`<br>`, `</td>`, `<p class`): `<`, `/` or up to 10 letters, then `>`, `/` or a space. */
function isTag(text: string, j: number): boolean {
  if (codeAt(text, j + 1) === 47) return true;
  let k = j + 1;
  while (k - j <= 10 && isLetter(codeAt(text, k))) k++;
  const c = codeAt(text, k);
  return k > j + 1 && (c === 62 || c === 47 || c === 32);
}

/**
 * Where an unquoted value `[vs, ve)` that is code ends (`ve` when it is none): an identifier
 * or dotted path called, indexed or given type arguments (`getpass()`, `os.getenv("PW")`,
 * `scryptSync(password, …`, `req.headers['x-token']`, `this.#cache.get(key)`, `Array<Buffer>`)
 * is no credential, and no literal holding brackets. It is code when the path is dotted, the bracket
 * opens a quote or closes at once or at the value's end, or a name of three or more
 * characters, a word or without digits, is followed by an argument that starts with a letter
 * (or a digit, after a name without digits: `range(0`). A literal such as `Xy(9kQ2mLp7`,
 * `Tr0ub(4dor`, `Xk9(mQ2pL7v`, `Zq8(k2)x` is none of these.
 */
export function codeEnd(text: string, vs: number, ve: number): number {
  let k = vs;
  let dotted = false;
  let digits = false;
  let lower = 0; // current run of small letters
  let word = false; // a run of three: a word, as names of code hold
  while (k < ve) {
    const c = text.charCodeAt(k);
    if (isAlnum(c) || c === 95 || c === 36 || (c === 35 && k > vs)) {
      if (isDigit(c)) digits = true;
      lower = c >= 97 && c <= 122 ? lower + 1 : 0;
      if (lower >= 3) word = true;
      k++;
    } else if (
      c === 46 && k > vs && (isLetter(codeAt(text, k + 1)) || "#_$".includes(text[k + 1]))
    ) {
      dotted = true;
      k++;
    } else break;
  }
  const bracket = codeAt(text, k);
  if (k === vs || k >= ve || (bracket !== 40 && bracket !== 91 && bracket !== 60)) return ve;
  const closer = bracket === 40 ? 41 : bracket === 91 ? 93 : 62;
  // A letter or digit right after the bracket closes is no code (`Zq8(k2)x`).
  let close = k + 1;
  while (close < ve && text.charCodeAt(close) !== closer) close++;
  if (close < ve - 1 && isAlnum(text.charCodeAt(close + 1))) return ve;
  const next = codeAt(text, k + 1);
  const code = dotted || isQuote(next) || next === closer ||
    text.charCodeAt(ve - 1) === closer ||
    (k - vs >= 3 && (word || !digits) &&
      (isLetter(next) || next === 95 || next === 36 || next === 40 || next === 91 ||
        (isDigit(next) && !digits)));
  return code ? k : ve;
}

/**
 * A host after `@`, to the value's end: lower-case DNS labels and a top-level name, an IPv4
 * address or `localhost`; then an optional port and path.
 */
const HOST_AFTER_AT =
  /^(?:(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+([a-z]{2,63})|[0-9]{1,3}(?:\.[0-9]{1,3}){3}|localhost)(?::[0-9]{1,5})?(?:[/?#].*)?$/;

/**
 * Where the user information of the unquoted value `[vs, ve)` ends when it is written
 * `password@host` without a scheme (`Xk9m@evil.example`, `Xk9m@Q2pL@db.example:5432/app`):
 * the last `@` whose rest is a host ({@linkcode HOST_AFTER_AT}, with a top-level name a
 * country's, a common one or a private network's), so `P@ssw0rd` or `ab@cd` is no host. -1
 * when there is none. Reads the value once more.
 */
export function userInfoEnd(text: string, vs: number, ve: number): number {
  let at = ve - 1;
  while (at > vs && text.charCodeAt(at) !== 64) at--;
  if (at <= vs) return -1;
  const m = HOST_AFTER_AT.exec(text.slice(at + 1, ve));
  if (m === null) return -1;
  const tld = m[1];
  return tld === undefined || tld.length === 2 || knownTld(tld) ? at : -1;
}
