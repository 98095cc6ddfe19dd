// What starts a shell command (red team j1), for pii/shell_syntax.ts: a line is read as a
// command line only on positive evidence (a known program or builtin starting the line or a
// segment, a prompt), and a cut of a keyword value at `;`, `&`, `<` or `)` is taken only
// where a command, or the shell's syntax, is recognisably what follows. Every reader here
// reads a bounded number of characters (at most 64 plus a few) from where it is asked.

import { codeAt, isDigit, isLower, isUpper } from "./chars.ts";

/**
 * Programs and shell builtins that start a command: destructive ones, shells, network
 * clients, interpreters, database clients, package and deployment tools an approver must see
 * run, and the builtins that run or prefix another command (`export`, `env`, `sudo`, `exec`).
 * Lower case, as they are typed; a log's level words and Dockerfile instructions (`INFO`,
 * `ENV`, `RUN`) are none.
 */
export const COMMANDS: ReadonlySet<string> = new Set(
  ("sh bash zsh dash ksh fish csh tcsh busybox rm rmdir dd mkfs shred wipefs reboot shutdown " +
    "halt poweroff systemctl service kill killall pkill dropdb dropuser createdb createuser " +
    "psql pg_dump pg_dumpall pg_restore mysql mysqldump mysqladmin mariadb mongo mongosh " +
    "mongodump mongorestore redis-cli sqlite3 sqlcmd curl wget nc ncat netcat socat telnet " +
    "ftp sftp ssh scp rsync sshpass sudo doas su chmod chown chgrp chattr crontab python " +
    "python2 python3 perl ruby node nodejs deno bun php lua java go cargo eval exec source " +
    "truncate mv cp ln tee cat echo printf touch mkdir tar zip unzip gzip gunzip base64 " +
    "openssl gpg find xargs grep sed awk env export unset alias nohup setsid timeout true " +
    "false cd pushd popd declare typeset readonly trap " +
    "docker podman kubectl helm git make npm npx yarn pnpm pip pip3 apt apt-get yum dnf apk " +
    "brew aws gcloud gsutil az terraform ansible ansible-playbook vault heroku flyctl " +
    "iptables ufw useradd usermod userdel passwd chpasswd mount umount chroot nsenter " +
    "powershell pwsh")
    .split(" "),
);

/** Shell keywords after which the next word is still a command's name. */
const KEYWORDS: ReadonlySet<string> = new Set(
  "{ ! if then else elif do while until time".split(" "),
);

/** Longest program name looked up (UTF-16 units). */
const NAME_REACH = 24;

/** Whether the word `[start, end)` is a known program or builtin, or a path to a program. */
export function isCommandWord(text: string, start: number, end: number): boolean {
  if (end - start > 64 || end <= start) return false;
  const c = codeAt(text, start);
  // A path (`/bin/rm`, `./deploy.sh`, `~/bin/x`), not a file name labelled with `:`.
  if (c === 47 || ((c === 46 || c === 126) && codeAt(text, start + 1) === 47)) {
    return codeAt(text, end - 1) !== 58 && end - start >= 2;
  }
  return end - start <= NAME_REACH && COMMANDS.has(text.slice(start, end));
}

/** Whether the word `[start, end)` is a shell keyword (`{`, `!`, `then`, `do`, `time`). */
export function isKeywordWord(text: string, start: number, end: number): boolean {
  if (end - start > 5 || end <= start) return false;
  const c = codeAt(text, start);
  // First characters of the keywords: `{`, `!`, d, e, i, t, u, w.
  if (
    c !== 123 && c !== 33 && c !== 100 && c !== 101 && c !== 105 && c !== 116 &&
    c !== 117 && c !== 119
  ) return false;
  return KEYWORDS.has(text.slice(start, end));
}

/**
 * Whether the word `[start, end)` is a shell prompt (`user@host:~$`, `root@db1:/srv#`,
 * `[ann@web1 app]$`, `bash-5.2$`): what follows it is a command.
 */
export function isPromptWord(text: string, start: number, end: number): boolean {
  if (end - start < 2 || end - start > 64) return false;
  const last = codeAt(text, end - 1);
  if (last !== 36 && last !== 35) return false;
  return /^(?:[\w.-]+@[\w.-]+(?::\S*)?|\[[^\]]*\]|\S*~|(?:ba|z|k|da)?sh-[\d.]+)[$#]$/.test(
    text.slice(start, end),
  );
}

/**
 * Whether a word of a crontab's schedule (`0`, `*`, `*\/5`, `1-5`, `MON`) spans
 * `[start, end)`: digits, `*`, `/`, `,`, `-`, or an `@` word (`@daily`, `@reboot`).
 */
export function isScheduleWord(text: string, start: number, end: number): boolean {
  if (codeAt(text, start) === 64) return end - start <= 10;
  for (let j = start; j < end; j++) {
    const c = text.charCodeAt(j);
    if (!(isDigit(c) || c === 42 || c === 47 || c === 44 || c === 45)) return false;
  }
  return end > start;
}

/**
 * Whether `c`, right after a program's name, ends the name: white space, the end, a shell
 * operator, `$` (`rm$IFS-rf`, `rm${IFS}…`), a quote (`rm''`), a backslash (a continued
 * line) or a bracket.
 */
function glue(c: number): boolean {
  return c === -1 || c === 32 || c === 9 || c === 10 || c === 13 || c === 59 || c === 38 ||
    c === 124 || c === 60 || c === 62 || c === 40 || c === 41 || c === 36 || c === 39 ||
    c === 34 || c === 92 || c === 96;
}

/**
 * Whether a program's name ends at `j` ({@linkcode glue}); a quote glued on counts only as an
 * empty pair (`rm'' -rf`, `rm""`), which the shell drops: `;rm"Zx9T2mLp` in a .env value is
 * the password's characters, no argument boundary after `rm` (red team l1: the cut there
 * left a short piece, and the password came back raw). Reads at most 2 units.
 */
function boundaryAt(text: string, j: number): boolean {
  const c = codeAt(text, j);
  if (c === 34 || c === 39) return codeAt(text, j + 1) === c;
  return glue(c);
}

/**
 * Whether a known program is run from `k`: its name ({@linkcode COMMANDS}), or a path of
 * two or more segments (`/bin/rm`, `/usr/local/bin/x`, `./run`), after an optional `{`
 * (`{rm,-rf,/}`) or `(`, then {@linkcode glue} (or `,` in braces). Reads at most 66 units.
 */
export function programAt(text: string, k: number): boolean {
  let s = k;
  const open = codeAt(text, s);
  if (open === 123 || open === 40) s++;
  let j = s;
  const first = codeAt(text, s);
  if (first === 47 || (first === 46 && codeAt(text, s + 1) === 47)) {
    let slashes = 0;
    while (j - s < 64) {
      const c = codeAt(text, j);
      if (c === 47) slashes++;
      else if (!(isLower(c) || isDigit(c) || c === 95 || c === 46 || c === 45)) break;
      j++;
    }
    // A path's last segment names the program: `/bin/rm`, `./run`, not `/` or `/tmp/`.
    return (slashes >= 2 || first === 46) && codeAt(text, j - 1) !== 47 &&
      (boundaryAt(text, j) || (open === 123 && codeAt(text, j) === 44));
  }
  while (
    j - s < NAME_REACH &&
    (isLower(codeAt(text, j)) || isDigit(codeAt(text, j)) || codeAt(text, j) === 45 ||
      codeAt(text, j) === 95)
  ) j++;
  const after = codeAt(text, j);
  // Every name in the set has two characters or more: no slice for a lone letter.
  return (boundaryAt(text, j) || (open === 123 && after === 44)) && j - s >= 2 &&
    COMMANDS.has(text.slice(s, j));
}

/**
 * Whether a command is recognisably written at `k` on a line already read as a command
 * line: a known program ({@linkcode programAt}), `$(` or a backtick, a name of small
 * letters (`_`, `-`, `.`, no digit: `mytool`, `pg-reset`) or an SQL verb in capitals
 * (`DROP`) before white space or an operator, or a next assignment (`PGUSER=`). A random
 * password's tail after a `;` (`f2Lq!x9Tz`, `9kLm2Pw7`) mixes cases and digits, so it is
 * none of these. Reads at most 66 units.
 */
export function commandAt(text: string, k: number): boolean {
  if (programAt(text, k)) return true;
  const c = codeAt(text, k);
  if (c === 96 || (c === 36 && codeAt(text, k + 1) === 40)) return true;
  let j = k;
  if (isLower(c)) {
    while (
      j - k < 64 && (isLower(codeAt(text, j)) || codeAt(text, j) === 95 ||
        codeAt(text, j) === 45 || codeAt(text, j) === 46)
    ) j++;
    return j - k >= 2 && codeAt(text, j) !== -1 && boundaryAt(text, j);
  }
  if (isUpper(c) || c === 95) {
    while (j - k < 64 && isUpper(codeAt(text, j))) j++;
    const after = codeAt(text, j);
    if (j - k >= 2 && (after === 32 || after === 9)) return true;
    while (
      j - k < 64 &&
      (isUpper(codeAt(text, j)) || isDigit(codeAt(text, j)) || codeAt(text, j) === 95 ||
        isLower(codeAt(text, j)))
    ) j++;
    return j > k && codeAt(text, j) === 61 && codeAt(text, j + 1) !== 61;
  }
  return false;
}

/**
 * Whether the `<` at `j` redirects input from a file: white space, a path (`/`, `.`, `~`)
 * or a file name in small letters, digits, `_`, `-`, `.` before white space. Reads at most
 * 66 units.
 */
export function redirectionAt(text: string, j: number): boolean {
  const k = j + 1;
  const c = codeAt(text, k);
  if (c === -1 || c === 32 || c === 9 || c === 10 || c === 13) return true;
  if (c === 47 || c === 46 || c === 126) return true;
  let e = k;
  while (
    e - k < 64 &&
    (isLower(codeAt(text, e)) || isDigit(codeAt(text, e)) || codeAt(text, e) === 95 ||
      codeAt(text, e) === 45 || codeAt(text, e) === 46)
  ) e++;
  const after = codeAt(text, e);
  return e > k && (after === 32 || after === 9 || after === 10 || after === 13);
}
