// Shell syntax around an unquoted keyword value (red team g1): on a command line, `;`, `|`,
// `&`, `>`, `<`, a backtick, `$(`, `)` and `}` are the shell's, not the password's, so a
// value written `PGPASSWORD=hunter2;dropdb production` ends before `;dropdb`, and the
// approver of a held call sees the command. A password that really holds them is quoted in
// a shell; in configuration syntax (`password: a;b`, `Host=h;Password=pa;ss`, a lone .env
// line `DB_PASSWORD=Kd8)f2Lq!x`) they stay characters of the value.
//
// Red team j1: a line is a command line only on positive evidence (pii/shell_commands.ts:
// a program or builtin starting the line or a segment, a prompt), not because some word
// precedes the name (a Dockerfile's `ENV`, `db-1  |`, a syslog or log4j prefix cut a
// password at its `;` and showed it raw); and a cut that would leave a piece too short to
// judge is taken only where a command recognisably follows.

import { codeAt, isAlnum, isLetter } from "./chars.ts";
import {
  commandAt,
  isCommandWord,
  isKeywordWord,
  isPromptWord,
  isScheduleWord,
  programAt,
  redirectionAt,
} from "./shell_commands.ts";

/** How the line around an unquoted `NAME=value` reads. */
export const ShellReading = Object.freeze(
  {
    /** Not a shell assignment (`password: …`, `…;Password=…`, `?token=…`). */
    None: 0,
    /**
     * A lone `NAME=value` line (a .env file, or a shell script's assignment): only the
     * operators no configuration value is written with unquoted end the value: `|`, `>`, a
     * backtick, `$(`, `&&`, `||`, and `;` before a program (`;reboot`, `;rm$IFS-rf`).
     */
    Assignment: 1,
    /**
     * A command line (`export NAME=…`, `NAME=… cmd`, `docker run -e NAME=…`, `$ NAME=…`, a
     * flag's value, `mysql -p…`, `curl -u …`): every shell operator ends the value (`}`
     * only before a command's name: bash reads `Wq7}rT2m!k` as one word).
     */
    Command: 2,
  } as const,
);

/** One of {@linkcode ShellReading}'s values. */
export type ShellReading = typeof ShellReading[keyof typeof ShellReading];

/** Longest gap to the next word, and line read back, to judge a line (UTF-16 units). */
const SHELL_REACH = 256;

/**
 * Longest value token read for shell operators (UTF-16 units). A later name inside the
 * token read last reads on from where that read stopped (`readToken`), so each character
 * is read once: linear.
 */
const TOKEN_REACH = 4096;

/**
 * What the words of the current line before a position say, read once left to right
 * (names are asked about in text order, so each character is read once: a walk back over
 * the line from each name was quadratic on `PASSWORD=a| PASSWORD=a| …`). Make one per
 * scan of a text with {@linkcode newLineWords}.
 */
export interface LineWords {
  /** Read up to here. */
  pos: number;
  /**
   * The line is a command line, on positive evidence (red team j1: any word before a name
   * made one, so `ENV`, `db-1  |`, a syslog or log4j prefix cut a password at its `;`): a
   * known program or builtin starts it or a segment after `;`, `&`, `|`, `(` or a backtick
   * (`export`, `env`, `sudo`, `docker`, `cd /srv;…`, after a crontab's schedule and user),
   * or a prompt (`$`, `user@host:~$`, `# ` before a program) stands before `pos`.
   */
  command: boolean;
  /**
   * A prompt stood before `pos` (`$`, `user@host:~$`, `# ` before a program): the line is
   * typed into a shell, whatever a word in it looks like.
   */
  prompt: boolean;
  /** The word before the one being read was the program that made the line a command. */
  afterProgram: boolean;
  /** A word before `pos` on its line starts a comment (`#`). */
  comment: boolean;
  /** A lone `#` opened the line: a root prompt if a program follows, else a comment. */
  hash: boolean;
  /** `pos` is inside a word. */
  inWord: boolean;
  /** The word being read: 0 name characters so far, 1 a `name=` word, 2 neither. */
  wordShape: 0 | 1 | 2;
  /** Where the word being read starts. */
  start: number;
  /** The next word starts a segment (the line's start, after an operator or a keyword). */
  segment: boolean;
  /** No word ended on the line yet. */
  first: boolean;
  /** Leading words of a crontab's schedule so far (-1: the line starts otherwise). */
  schedule: number;
  /**
   * The value token read last, `[tokenStart, tokenEnd)`, and the last position in it of a
   * strong operator, of any shell operator, and of a separator before a program (-1: none):
   * a later name inside the same token (`x;PASSWORD=a;PASSWORD=a;…`) reads on from its end
   * instead of reading the token again, so each character is read once.
   */
  tokenStart: number;
  tokenEnd: number;
  lastStrong: number;
  lastAny: number;
  lastProgram: number;
}

/** A fresh {@linkcode LineWords} for a scan of a text from its start. */
export function newLineWords(): LineWords {
  return {
    pos: 0,
    command: false,
    prompt: false,
    afterProgram: false,
    comment: false,
    hash: false,
    inWord: false,
    wordShape: 0,
    start: 0,
    segment: true,
    first: true,
    schedule: 0,
    tokenStart: -1,
    tokenEnd: -1,
    lastStrong: -1,
    lastAny: -1,
    lastProgram: -1,
  };
}

/** Reads `text` from `words.pos` to `k` into `words`. */
function readWords(text: string, words: LineWords, k: number): void {
  for (let j = words.pos; j < k; j++) {
    const c = text.charCodeAt(j);
    if (c === 10 || c === 13) {
      Object.assign(words, newLineWords(), {
        pos: words.pos,
        tokenStart: words.tokenStart,
        tokenEnd: words.tokenEnd,
        lastStrong: words.lastStrong,
        lastAny: words.lastAny,
        lastProgram: words.lastProgram,
      });
    } else if (c === 32 || c === 9) {
      endWord(text, words, j);
    } else if (c === 59 || c === 38 || c === 124 || c === 40 || c === 96) {
      // `;`, `&`, `|`, `(`, a backtick: what follows starts a command of its own.
      endWord(text, words, j);
      words.segment = true;
      words.first = false;
      words.schedule = -1;
    } else if (!words.inWord) {
      words.inWord = true;
      words.start = j;
      words.wordShape = isNameChar(c) ? 0 : 2;
    } else if (words.wordShape === 0 && c === 61) words.wordShape = 1;
    else if (words.wordShape === 0 && !isNameChar(c)) words.wordShape = 2;
  }
  words.pos = Math.max(words.pos, k);
}

/** Ends the word being read at `end` and judges what it says of the line. */
function endWord(text: string, words: LineWords, end: number): void {
  if (!words.inWord) return;
  words.inWord = false;
  const start = words.start;
  const first = words.first;
  words.first = false;
  const c = text.charCodeAt(start);
  const afterProgram = words.afterProgram;
  words.afterProgram = false;
  if (words.hash) {
    // `# cmd …` is a root prompt; `# some words` a comment.
    words.hash = false;
    if (isCommandWord(text, start, end)) words.command = words.prompt = true;
    else words.comment = true;
    words.segment = false;
    return;
  }
  if (c === 35) {
    if (first && end - start === 1) words.hash = true;
    else words.comment = true;
    return;
  }
  if ((c === 36 && end - start === 1) || isPromptWord(text, start, end)) {
    words.command = words.segment = words.prompt = true;
    return;
  }
  // `git log: password=…`, `cat config: DB_PASSWORD=…`: a word of letters ending in `:`
  // before a space, right after the program, labels what follows as its output, not its
  // arguments (red team l1: the line read as a command cut a long password at its `;` and
  // showed the tail). A prompt outweighs it; a quoted header (`-H "Authorization: …"`) is none.
  if (
    afterProgram && !words.prompt && isLetter(c) && text.charCodeAt(end - 1) === 58 &&
    (codeAt(text, end) === 32 || codeAt(text, end) === 9)
  ) {
    words.command = false;
    return;
  }
  if (!words.segment) return;
  // `NAME=value cmd`: the assignment prefixes the command; a keyword (`then`, `{`) too.
  if (words.wordShape === 1 || isKeywordWord(text, start, end)) return;
  if (isCommandWord(text, start, end)) {
    words.command = true;
    words.segment = false;
    words.afterProgram = true;
    return;
  }
  // A crontab line: five schedule fields (or an `@daily`), a user, then the command.
  if (words.schedule >= 0 && isScheduleWord(text, start, end)) {
    words.schedule = c === 64 ? 5 : words.schedule + 1;
    return;
  }
  const user = words.schedule >= 5;
  words.schedule = -1;
  if (!user) words.segment = false;
}

function isNameChar(c: number): boolean {
  return isAlnum(c) || c === 95 || c === 46 || c === 45;
}

/**
 * How the assignment whose name runs `[k, at)` and whose `=` is at `at` reads (see
 * {@linkcode ShellReading}). A shell assignment's name touches its `=` and starts a word
 * (line start, space or tab before it) or a command (after `;`, `&`, `|`, `(`, a backtick,
 * or the quote of `sh -c "…"`). The line is a command when {@linkcode LineWords} found
 * positive evidence before the name (a program or builtin starting the line or a segment,
 * a prompt; a comment is none), when the value's token holds an operator only a shell
 * writes unquoted, or when the first word after the value is no assignment
 * (`PGPASSWORD=… psql`, not `password=… user=ann` of a logfmt line); `None` when the token
 * holds no shell operator (nothing to end it). After a separator glued to a `name=value`
 * word (`Host=h;Password=…`, `?a=1&token=…`) the name is a connection string's or a
 * query's, unless the line is a command line, the separator is doubled (`a=1&&…`) or a
 * program follows a separator in the value (`--exclude=tmp;PGPASSWORD=…;dropdb$IFS…`,
 * red team j1). `words` carries the line read so far: names must be asked about in text
 * order (an earlier `k` starts a fresh read of its line, at most 256 characters back).
 * Reads at most {@linkcode TOKEN_REACH} + {@linkcode SHELL_REACH} + 64 characters ahead.
 */
export function assignmentReading(
  text: string,
  k: number,
  at: number,
  words: LineWords = newLineWords(),
): ShellReading {
  if (codeAt(text, at) !== 61 || codeAt(text, at + 1) === 61) return ShellReading.None;
  const before = codeAt(text, k - 1);
  // After a shell's separator, a subshell's bracket or a quote opening `sh -c "…"` (red team
  // h1: `cd /srv;PGPASSWORD=…;dropdb`, `ssh db1 "PGPASSWORD=…;dropdb"`, `(PGPASSWORD=…;curl…)`)
  // the assignment starts a command of its own.
  // A quote counts after a word and a space only (`sh -c "…"`, `ssh db1 "…"`), not as a JSON
  // string's or a list's (`"DB_PASSWORD=…;…"`).
  const quoted = (before === 34 || before === 39) &&
    (codeAt(text, k - 2) === 32 || codeAt(text, k - 2) === 9) && isAlnumOrDash(codeAt(text, k - 3));
  const separator = before === 59 || before === 38 || before === 124;
  let afterShell = before === 40 || before === 96 || quoted;
  if (
    !afterShell && !separator && before !== -1 && before !== 10 && before !== 13 &&
    before !== 32 && before !== 9
  ) {
    return ShellReading.None;
  }
  // The value's token: without a shell operator there is nothing to end it early (and the
  // line need not be read). An operator only a shell writes unquoted (`|`, `>`, a
  // backtick, `$(`, `${`, `&&`) makes the line a command (`PGPASSWORD=…;curl${IFS}…|sh`),
  // as does a separator before a program (`…;dropdb$IFS…`).
  const j = readToken(text, at, words);
  const strong = words.lastStrong > at;
  const any = words.lastAny > at;
  const program = words.lastProgram > at;
  if (!strong && !any) return ShellReading.None;
  if (k < words.pos) {
    let s = k;
    while (
      s > 0 && k - s < SHELL_REACH && codeAt(text, s - 1) !== 10 && codeAt(text, s - 1) !== 13
    ) {
      s--;
    }
    Object.assign(words, newLineWords(), { pos: s });
  }
  readWords(text, words, k);
  if (words.comment || words.hash) return ShellReading.None;
  if (separator) {
    if (
      pairBefore(text, k - 1) && !words.command && !strong && !program &&
      codeAt(text, k - 2) !== before
    ) return ShellReading.None;
    afterShell = true;
  }
  if (words.command || strong || afterShell) return ShellReading.Command;
  // The first word after it (none past a token cut at the reach, or a long gap).
  if (!blank(codeAt(text, j))) return ShellReading.Assignment;
  let n = j;
  while (
    n < text.length && n - j < SHELL_REACH && (codeAt(text, n) === 32 || codeAt(text, n) === 9)
  ) {
    n++;
  }
  const c = codeAt(text, n);
  if (blank(c) || c === 35 /* # */) return ShellReading.Assignment;
  let w = n;
  while (
    w < text.length && w - n < 64 && (isLetter(codeAt(text, w)) || codeAt(text, w) === 95 ||
      codeAt(text, w) === 46 || codeAt(text, w) === 45 ||
      (codeAt(text, w) >= 48 && codeAt(text, w) <= 57))
  ) {
    w++;
  }
  return w > n && codeAt(text, w) === 61 ? ShellReading.Assignment : ShellReading.Command;
}

/**
 * Reads the value token after the `=` at `at` (to white space, at most
 * {@linkcode TOKEN_REACH} units) into `words`' token fields, going on from where the last
 * read of the same token stopped; returns where the token ends. An operator only a shell
 * writes unquoted (`|`, `>` or a backtick before a command, `$(`, `${`, `&&`) is strong;
 * `;`, `&`, `<`, `)`, `}`, `$` are any; a `;`, `&` or `|` before a program
 * ({@linkcode programAt}) shows a command after the value.
 */
function readToken(text: string, at: number, words: LineWords): number {
  if (at + 1 < words.tokenStart || at >= words.tokenEnd) {
    words.tokenStart = words.tokenEnd = at + 1;
    words.lastStrong = words.lastAny = words.lastProgram = -1;
  }
  let j = words.tokenEnd;
  while (j < text.length && j - at < TOKEN_REACH && !blank(codeAt(text, j))) {
    const c = text.charCodeAt(j);
    if (
      ((c === 124 || c === 62 || c === 96) && leadsCommand(text, j)) ||
      (c === 36 && (codeAt(text, j + 1) === 40 || codeAt(text, j + 1) === 123)) ||
      (c === 38 && codeAt(text, j + 1) === 38)
    ) words.lastStrong = j;
    if (c === 59 || c === 38 || c === 60 || c === 41 || c === 125 || c === 36) words.lastAny = j;
    if ((c === 59 || c === 38 || c === 124) && programAt(text, j + 1)) words.lastProgram = j;
    j++;
  }
  words.tokenEnd = j;
  return j;
}

function blank(c: number): boolean {
  return c === -1 || c === 32 || c === 9 || c === 10 || c === 13;
}

/**
 * Whether the character at `j`, inside an unquoted value read as `reading`, is a shell
 * operator that ends it: on a command line `;`, `|`, `&`, `>`, `<`, a backtick, `$(`, `)`,
 * `}`; on a lone assignment `|`, `>`, a backtick, `$(`, `&&`, and `;` before a program.
 *
 * On a command line a `;`, `&`, `<` or `)` less than {@linkcode SHORT_PIECE} units after
 * the value's start (its `=` or the white space before it) ends it only where a command or
 * the shell's syntax recognisably follows ({@linkcode commandAt}, white space, `&&`, a
 * redirection's file): otherwise the piece before it is too short to be judged a secret,
 * and a cut there showed the whole password (red team j1: `echo password=Kd8;f2Lq!x9Tz`
 * came back raw), so the value goes on as it would without the cut. Reads at most
 * {@linkcode SHORT_PIECE} units back and 66 ahead.
 */
export function endsShellValue(text: string, j: number, reading: ShellReading): boolean {
  if (reading === ShellReading.None) return false;
  const c = text.charCodeAt(j);
  if (c === 124 || c === 62 || c === 96) return leadsCommand(text, j); // | > `
  if (c === 36) return codeAt(text, j + 1) === 40; // $(
  const next = codeAt(text, j + 1);
  // On a lone assignment a `;` before a known program's name and nothing else is a command
  // (`DB_PASSWORD=Xk9mQ2pL7vRt;reboot`, `…;rm$IFS-rf$IFS/srv`); before anything else it may
  // be the password's.
  if (reading !== ShellReading.Command) {
    return (c === 38 && next === 38) || (c === 59 && programAt(text, j + 1));
  }
  if (c === 125) return commandWordAt(text, j + 1); // }
  if (c !== 59 && c !== 38 && c !== 60 && c !== 41) return false; // ; & < )
  if (!shortPiece(text, j)) return true;
  if (c === 60) return redirectionAt(text, j);
  if (blank(next)) return true;
  if (c === 41) return next === 59 || next === 38 || next === 124 || next === 41;
  return (c === 38 && next === 38) || commandAt(text, j + 1);
}

/**
 * Shortest piece of a value (UTF-16 units) a cut may leave without a command after it: a
 * token's shortest secret ({@linkcode SECRET_THRESHOLDS}.token.minLength in
 * pii/detect_secrets.ts), so the piece is judged under either keyword class.
 */
const SHORT_PIECE = 16;

/**
 * Whether the value holding the operator at `j` started less than {@linkcode SHORT_PIECE}
 * units before it: a `=`, white space, a quote or the text's start within that reach.
 */
function shortPiece(text: string, j: number): boolean {
  for (let i = j - 1; j - i <= SHORT_PIECE; i--) {
    const c = codeAt(text, i);
    if (c === 61 || blank(c) || c === 34 || c === 39) return true;
  }
  return false;
}

function isAlnumOrDash(c: number): boolean {
  return isAlnum(c) || c === 45;
}

/**
 * Whether the word that ends at the separator at `sep` (`;`, `&`, `|`) is a `name=value` pair:
 * a connection string's or a query's (`Host=h;Password=…`, `?a=1&token=…`), not a command
 * (`cd /srv;PGPASSWORD=…`). Reads back at most 256 units, to white space or a line's start.
 */
function pairBefore(text: string, sep: number): boolean {
  for (let j = sep - 1; j >= 0 && sep - j <= 256; j--) {
    const c = text.charCodeAt(j);
    if (c === 61) return true;
    if (c === 32 || c === 9 || c === 10 || c === 13) return false;
  }
  return false;
}

/**
 * Whether the `|`, `>` or backtick at `j` is the shell's: what follows it (after a second
 * `|`, `>` or `&`, and spaces) is a command's name, a path (`/`, `.`, `~`: a redirection's
 * target), or nothing. A random password holds such characters between others
 * (`Xk9q2Lm7Tz4Rb8Wc|Vn3p`): there the value goes on, and is redacted whole.
 */
function leadsCommand(text: string, j: number): boolean {
  let k = j + 1;
  const c = codeAt(text, k);
  if (c === 124 || c === 62 || c === 38) k++;
  const from = k;
  while (k - from < 64 && (codeAt(text, k) === 32 || codeAt(text, k) === 9)) k++;
  const d = codeAt(text, k);
  if (blank(d)) return true;
  if (text.charCodeAt(j) === 62 && (d === 47 || d === 46 || d === 126)) return true;
  return commandWordAt(text, k) || commandNameAt(text, k);
}

/** Whether a word of small letters (a program's name: `sh`, `curl`, `bash`) starts at `k`. */
function commandNameAt(text: string, k: number): boolean {
  let j = k;
  while (j - k < 32 && codeAt(text, j) >= 97 && codeAt(text, j) <= 122) j++;
  return j - k >= 2 && !isAlnum(codeAt(text, j));
}

/**
 * Whether a command's name starts at `k`: small letters, digits, `_`, `.`, `-` (`rm`,
 * `dropdb`, `python3`), then white space, the end or an operator. Bash reads a `}` inside a
 * word as a character (`DB_PASS=Wq7}rT2m!k` is one value), but `…}rm -rf /` shows a command
 * name glued on, which an approver must see.
 */
function commandWordAt(text: string, k: number): boolean {
  let j = k;
  while (j - k < 32) {
    const c = codeAt(text, j);
    if (!((c >= 97 && c <= 122) || (c >= 48 && c <= 57) || c === 95 || c === 46 || c === 45)) {
      break;
    }
    j++;
  }
  const after = codeAt(text, j);
  const first = codeAt(text, k);
  return first >= 97 && first <= 122 &&
    (blank(after) || after === 59 || after === 124 || after === 38 || after === 62);
}
