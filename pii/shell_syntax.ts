// Shell syntax around an unquoted keyword value (red team g1): on a command line, `;`, `|`,
// `&`, `>`, `<`, a backtick, `$(`, `)` and `}` are the shell's, not the password's, so a
// value written `PGPASSWORD=hunter2;dropdb production` ends before `;dropdb`, and the
// approver of a held call sees the command. A password that really holds them is quoted in
// a shell; in configuration syntax (`password: a;b`, `Host=h;Password=pa;ss`, a lone .env
// line `DB_PASSWORD=Kd8)f2Lq!x`) they stay characters of the value.

import { codeAt, isAlnum, isLetter } from "./chars.ts";

/** How the line around an unquoted `NAME=value` reads. */
export const ShellReading = Object.freeze(
  {
    /** Not a shell assignment (`password: …`, `…;Password=…`, `?token=…`). */
    None: 0,
    /**
     * A lone `NAME=value` line (a .env file, or a shell script's assignment): only the
     * operators no configuration value is written with unquoted end the value: `|`, `>`, a
     * backtick, `$(`, `&&`, `||`.
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
 * Longest value token read for shell operators (UTF-16 units). A token holds at most one
 * name that starts a word, so these reads never overlap: linear.
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
  /** A word before `pos` on its line is no assignment (`export`, `env`, `-e`, `$`). */
  command: boolean;
  /** A word before `pos` on its line starts a comment (`#`). */
  comment: boolean;
  /** `pos` is inside a word. */
  inWord: boolean;
  /** The word being read: 0 name characters so far, 1 a `name=` word, 2 neither. */
  wordShape: 0 | 1 | 2;
  /** The word being read is a lone `-` so far (a YAML list's item). */
  dash: boolean;
  /** Where the word being read starts. */
  start: number;
}

/** A fresh {@linkcode LineWords} for a scan of a text from its start. */
export function newLineWords(): LineWords {
  return {
    pos: 0,
    command: false,
    comment: false,
    inWord: false,
    wordShape: 0,
    dash: false,
    start: 0,
  };
}

/** Reads `text` from `words.pos` to `k` into `words`. */
function readWords(text: string, words: LineWords, k: number): void {
  for (let j = words.pos; j < k; j++) {
    const c = text.charCodeAt(j);
    if (c === 10 || c === 13) {
      words.command = words.comment = words.inWord = false;
    } else if (c === 32 || c === 9) {
      if (
        words.inWord && words.wordShape !== 1 && !words.dash && !logPrefix(text, words.start, j)
      ) words.command = true;
      words.inWord = false;
    } else if (!words.inWord) {
      words.inWord = true;
      words.start = j;
      words.dash = c === 45;
      if (c === 35) words.comment = true;
      words.wordShape = isNameChar(c) ? 0 : 2;
    } else {
      words.dash = false;
      if (words.wordShape === 0 && c === 61) words.wordShape = 1;
      else if (words.wordShape === 0 && !isNameChar(c)) words.wordShape = 2;
    }
  }
  words.pos = Math.max(words.pos, k);
}

/** A log line's level words, which no command is named. */
const LOG_LEVELS = new Set([
  "trace",
  "debug",
  "info",
  "notice",
  "warn",
  "warning",
  "error",
  "err",
  "fatal",
  "critical",
  "crit",
  "alert",
  "emerg",
]);

/**
 * Whether the word `[start, end)` is part of a log line's prefix, not a command: it starts
 * with a digit (a date, a time, a pid), a `[` or a `<` (`[INFO]`, `<13>`), or is a level word
 * (`INFO`, `warn:`). A log line such as `2026-11-30 INFO password=Xk9;abc user=bob` is no
 * command line, so a `;` in its password does not end the value there.
 */
function logPrefix(text: string, start: number, end: number): boolean {
  const c = text.charCodeAt(start);
  if ((c >= 48 && c <= 57) || c === 91 || c === 60) return true;
  if (end - start > 9) return false;
  let word = text.slice(start, end).toLowerCase();
  if (word.endsWith(":")) word = word.slice(0, -1);
  return LOG_LEVELS.has(word);
}

function isNameChar(c: number): boolean {
  return isAlnum(c) || c === 95 || c === 46 || c === 45;
}

/**
 * How the assignment whose name runs `[k, at)` and whose `=` is at `at` reads (see
 * {@linkcode ShellReading}). A shell assignment's name touches its `=` and starts a word
 * (line start, space or tab before it); the line is a command when a word before the name
 * is no assignment itself (`export`, `env`, `-e`, `$`; a YAML list's `-` and a comment are
 * none), when the value's token holds an operator only a shell writes unquoted, or when
 * the first word after the value is no assignment (`PGPASSWORD=… psql`, not `password=…
 * user=ann` of a logfmt line); `None` when the token holds no shell operator (nothing to
 * end it). `words` carries the line read so far: names must be asked
 * about in text order (an earlier `k` starts a fresh read of its line, at most 256
 * characters back). Reads at most {@linkcode TOKEN_REACH} + {@linkcode SHELL_REACH} + 64
 * characters ahead.
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
  const afterShell = before === 40 || before === 96 || quoted ||
    ((before === 59 || before === 38 || before === 124) && !pairBefore(text, k - 1));
  if (
    !afterShell && before !== -1 && before !== 10 && before !== 13 && before !== 32 && before !== 9
  ) {
    return ShellReading.None;
  }
  // The value's token: without a shell operator there is nothing to end it early (and the
  // line need not be read). An operator only a shell writes unquoted (`|`, `>`, a
  // backtick, `$(`, `${`, `&&`) makes the line a command (`PGPASSWORD=…;curl${IFS}…|sh`).
  let j = at + 1;
  let strong = false;
  let any = false;
  while (j < text.length && j - at < TOKEN_REACH && !blank(codeAt(text, j))) {
    const c = text.charCodeAt(j);
    if (
      ((c === 124 || c === 62 || c === 96) && leadsCommand(text, j)) ||
      (c === 36 && (codeAt(text, j + 1) === 40 || codeAt(text, j + 1) === 123)) ||
      (c === 38 && codeAt(text, j + 1) === 38)
    ) strong = true;
    if (c === 59 || c === 38 || c === 60 || c === 41 || c === 125 || c === 36) any = true;
    j++;
  }
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
  if (words.comment) return ShellReading.None;
  if (words.command || strong || afterShell) return ShellReading.Command;
  // The first word after it (none past a token cut at the reach, or a long gap).
  if (!blank(codeAt(text, j))) return ShellReading.Assignment;
  const gap = j;
  while (
    j < text.length && j - gap < SHELL_REACH && (codeAt(text, j) === 32 || codeAt(text, j) === 9)
  ) {
    j++;
  }
  const c = codeAt(text, j);
  if (blank(c) || c === 35 /* # */) return ShellReading.Assignment;
  let w = j;
  while (
    w < text.length && w - j < 64 && (isLetter(codeAt(text, w)) || codeAt(text, w) === 95 ||
      codeAt(text, w) === 46 || codeAt(text, w) === 45 ||
      (codeAt(text, w) >= 48 && codeAt(text, w) <= 57))
  ) {
    w++;
  }
  return w > j && codeAt(text, w) === 61 ? ShellReading.Assignment : ShellReading.Command;
}

function blank(c: number): boolean {
  return c === -1 || c === 32 || c === 9 || c === 10 || c === 13;
}

/**
 * Whether the character at `j`, inside an unquoted value read as `reading`, is a shell
 * operator that ends it: on a command line `;`, `|`, `&`, `>`, `<`, a backtick, `$(`, `)`,
 * `}`; on a lone assignment `|`, `>`, a backtick, `$(`, `&&`.
 */
export function endsShellValue(text: string, j: number, reading: ShellReading): boolean {
  if (reading === ShellReading.None) return false;
  const c = text.charCodeAt(j);
  if (c === 124 || c === 62 || c === 96) return leadsCommand(text, j); // | > `
  if (c === 36) return codeAt(text, j + 1) === 40; // $(
  if (c === 38) return reading === ShellReading.Command || codeAt(text, j + 1) === 38;
  // On a lone assignment a `;` before a known program's name and nothing else is a command
  // (`DB_PASSWORD=Xk9mQ2pL7vRt;reboot`); before anything else it may be the password's.
  if (reading !== ShellReading.Command) return c === 59 && knownProgramAt(text, j + 1);
  if (c === 125) return commandWordAt(text, j + 1); // }
  return c === 59 || c === 60 || c === 41; // ; < )
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

/** Programs an approver must see run (destructive, or a shell or a network client). */
const KNOWN_PROGRAMS = new Set(
  ("sh bash zsh dash ksh fish rm rmdir dd mkfs shred reboot shutdown halt poweroff kill " +
    "killall pkill dropdb dropuser psql mysql mongo redis-cli curl wget nc ncat netcat ssh " +
    "scp rsync sudo su chmod chown crontab python python3 perl ruby node deno eval exec " +
    "truncate mv cp tee").split(" "),
);

/** Whether a known program's name starts at `k`, followed by white space, the end or `;`. */
function knownProgramAt(text: string, k: number): boolean {
  let j = k;
  while (
    j - k < 16 && ((codeAt(text, j) >= 97 && codeAt(text, j) <= 122) ||
      (codeAt(text, j) >= 48 && codeAt(text, j) <= 57) || codeAt(text, j) === 45)
  ) j++;
  const after = codeAt(text, j);
  return (blank(after) || after === 59 || after === 38 || after === 124) &&
    KNOWN_PROGRAMS.has(text.slice(k, j));
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
