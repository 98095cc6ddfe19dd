// Credentials given to command-line tools: the value of a credential flag (`--password …`,
// `--api-key …`, an `aws ssm … --name …/password --value …`), `mysql -p…`, `curl -u user:…`.
// On a command line every shell operator ends a value (pii/shell_syntax.ts), so the command
// after it stays readable.

import type { Finding } from "./types.ts";
import { codeAt, isLetter } from "./chars.ts";
import { isKeyNameChar, keyKind } from "./credential_names.ts";
import { matchValue } from "./secret_value.ts";
import { endsToken, ValueContext } from "./value_end.ts";

/**
 * A flag that names a password itself (`--password`, `--db-pass`, `--http-passwd`, not
 * `--password-stdin` or `--password-file`): whatever follows it is the password, of any
 * program (`app --password Secret`).
 */
const PASSWORD_FLAG = /(?:pass(?:word|wd|phrase|code)?|pwd?)$/i;

/**
 * Flags whose `pass` is a pass over data, not a password (red team l1: `ffmpeg-normalize
 * --two-pass /media/input.mp4` hid the input): a count or an order before it, or `bypass`.
 */
const PASS_OVER =
  /(?:^|[-_])(?:one|two|three|single|multi|double|first|second|third|final|last|each|every|skip|no|full|fast)[-_]?pass$|bypass$/i;

/**
 * Whether a path starts at `k` (after an optional quote): `/x`, `./x`, `../x`, `~/x`. A path
 * given to a password flag is no password (red team l1: `tool --pwd /srv/www/prod`, where
 * `pwd` is a working directory): the value is judged, and a path is none.
 */
function pathAt(text: string, k: number): boolean {
  return /^["']?(?:~|\.{1,2})?\/[\w.-]/.test(text.slice(k, k + 6));
}

/**
 * Values of command-line flags written with a space (`--password hunter2`,
 * `--api-key Xk9…`); `--password=…` is a `=` trigger, and for a {@linkcode PASSWORD_FLAG}
 * read here too. The value of a password flag is one whatever it looks like (only a variable
 * or a placeholder is not: pii/looks_secret.ts `givenSecret`); others are judged by their
 * kind's thresholds. A next flag (`--password --user`) or a redirection
 * (`--password-stdin < file`) is no value. Reads at most 48 name characters per `--`, and
 * each value once.
 *
 * @param text The text to scan.
 * @param out Findings are appended here.
 */
export function findFlagValues(text: string, out: Finding[]): void {
  let at = text.indexOf("--");
  // The credential kind a `--name` flag gave (`aws ssm put-parameter --name /prod/db/password
  // --value …`; red team g1) and where it was, so a `--value` after it on the same command
  // (within {@linkcode FLAG_PAIR_REACH} characters, no line break between) is judged under it.
  let namedKind: "password" | "token" | "aws" | null = null;
  let namedAt = -1;
  // A `--value` not yet judged, for a `--name` written after it.
  let valueAt = -1;
  while (at !== -1) {
    let k = at + 2;
    while (k < text.length && k - at < 50 && isKeyNameChar(text.charCodeAt(k))) k++;
    const gap = codeAt(text, k);
    let next = k + 1;
    const flag = text.slice(at + 2, k);
    if ((gap === 32 || gap === 9 || gap === 61) && (flag === "name" || flag === "value")) {
      if (flag === "name") {
        namedKind = flagNameKind(text, k + 1);
        namedAt = at;
        if (
          namedKind !== null && valueAt !== -1 && at - valueAt <= FLAG_PAIR_REACH &&
          !/[\n\r]/.test(text.slice(valueAt, at))
        ) {
          matchValue(text, valueAt, namedKind, out, undefined, ValueContext.Command);
          namedKind = null;
        }
        valueAt = -1;
      } else if (
        namedKind !== null && at - namedAt <= FLAG_PAIR_REACH &&
        !/[\n\r]/.test(text.slice(namedAt, at))
      ) {
        next = Math.max(
          next,
          matchValue(text, k + 1, namedKind, out, undefined, ValueContext.Command),
        );
        namedKind = null;
      } else valueAt = k + 1;
    } else if (
      (gap === 32 || gap === 9 || gap === 61) && k - at >= 4 && isLetter(codeAt(text, at + 2))
    ) {
      let kind = keyKind(flag);
      if (kind === "password" && PASS_OVER.test(flag)) kind = null;
      // A flag that takes no argument (`wget --ask-password URL`, `pg_dump --password db`):
      // the next word is the command's (red team n1: the approver saw `[SECRET]` for both).
      if (gap !== 61 && takesNoArgument(text, at, flag)) kind = null;
      const first = codeAt(text, k + 1);
      const given = kind === "password" && PASSWORD_FLAG.test(flag) && !pathAt(text, k + 1) &&
        (gap === 61 || !mysqlClientBefore(text, at));
      if (
        kind !== null && kind !== "session" && kind !== "signature" && first !== 45 &&
        !endsToken(first) && (gap !== 61 || given)
      ) {
        next = Math.max(
          next,
          matchValue(text, k + 1, given ? "given" : kind, out, undefined, ValueContext.Command),
        );
      }
    }
    at = text.indexOf("--", Math.max(next, at + 2));
  }
}

/**
 * Whether a MySQL or MariaDB client is named on the line before `at` (at most 256 characters
 * back): their `--password` takes its value only after `=` (`mysql --password root` prompts,
 * and `root` is the database), so a word after it is judged, not taken as the password.
 */
function mysqlClientBefore(text: string, at: number): boolean {
  let s = at;
  while (s > 0 && at - s < 256 && codeAt(text, s - 1) !== 10 && codeAt(text, s - 1) !== 13) s--;
  return new RegExp(MYSQL_CLIENT.source, "i").test(text.slice(s, at));
}

/**
 * Password flags that take no argument: they ask for the password (`--ask-password` of wget,
 * `--ask-pass`, `--ask-become-pass`, `--ask-vault-pass` of Ansible, `--prompt-password`),
 * say there is none (`--no-password`), or read it elsewhere (`--password-stdin` of
 * `docker login`, `helm registry login`…).
 */
const NO_ARGUMENT =
  /^(?:(?:ask|prompt|no|show|require|generate|random)[-_](?:[a-z]+[-_]){0,2}(?:pass(?:word|wd|phrase)?)|pass(?:word|phrase)?[-_](?:stdin|prompt))$/i;

/**
 * PostgreSQL's client programs: their `--password` (`-W`) makes them prompt and takes no
 * argument (`pg_dump --password app_prod`: `app_prod` is the database).
 */
const POSTGRES_CLIENT =
  /(?:^|[\s/;|&(])(?:psql|pg_dump|pg_dumpall|pg_restore|pg_basebackup|pg_receivewal|pg_recvlogical|pg_amcheck|pgbench|createdb|dropdb|createuser|dropuser|vacuumdb|reindexdb|clusterdb|vacuumlo)(?=\s)/;

/**
 * Whether the flag `--<flag>` at `at`, written with a space after it, takes no argument:
 * {@linkcode NO_ARGUMENT}, or `--password` on a line (at most 256 characters before it) that
 * names a {@linkcode POSTGRES_CLIENT}.
 */
function takesNoArgument(text: string, at: number, flag: string): boolean {
  if (NO_ARGUMENT.test(flag)) return true;
  if (flag.toLowerCase() !== "password") return false;
  let s = at;
  while (s > 0 && at - s < 256 && codeAt(text, s - 1) !== 10 && codeAt(text, s - 1) !== 13) s--;
  return POSTGRES_CLIENT.test(text.slice(s, at));
}

/** Most characters from a `--name` flag to the `--value` judged under it. */
const FLAG_PAIR_REACH = 512;

/**
 * The credential kind named by the value of a `--name` flag from `from`
 * (`/prod/db/password`, `prod.api_key`, `'DB_PASSWORD'`): its last part after `/`, judged
 * as a key name. Reads at most 130 characters.
 */
function flagNameKind(text: string, from: number): "password" | "token" | "aws" | null {
  const m = /^["']?([\w./:-]{1,128})/.exec(text.slice(from, from + 130));
  if (!m) return null;
  const kind = keyKind(m[1].slice(m[1].lastIndexOf("/") + 1));
  return kind === "session" || kind === "signature" ? null : kind;
}

/** Programs whose `-p` is a password written onto the flag (`mysql -uroot -pS3cr3t`). */
const MYSQL_CLIENT = /mysql|mariadb/gi;

/**
 * `-p<password>` of the MySQL and MariaDB clients (`mysql`, `mysqldump`, `mysqladmin`,
 * `mariadb`): only after one of them is named on the same line, at most 256 characters
 * before, since elsewhere `-p` is mostly a port (`-p8080`, `-p 22`). The last client name
 * and the last line break before each `-p` are kept by cursors that only move forward:
 * linear.
 *
 * @param text The text to scan.
 * @param out Findings are appended here.
 */
export function findMysqlPasswords(text: string, out: Finding[]): void {
  const client = new RegExp(MYSQL_CLIENT.source, "gi");
  let lastClient = -1;
  let nextClient = client.exec(text);
  let lastBreak = -1;
  let nextBreak = text.indexOf("\n");
  // Each `-p` by one global search that only moves forward: `indexOf` from a position ran
  // quadratic on a 1 MB text of `sshpass -p x0 ` in V8's optimised code (0.9–1.1 s where
  // 256 KB took under 1 ms unoptimised), which this loop does not.
  const flag = /-p/g;
  let resume = 0;
  for (let found = flag.exec(text); found !== null; found = flag.exec(text)) {
    const at = found.index;
    while (nextClient !== null && nextClient.index < at) {
      lastClient = nextClient.index;
      nextClient = client.exec(text);
    }
    while (nextBreak !== -1 && nextBreak < at) {
      lastBreak = nextBreak;
      nextBreak = text.indexOf("\n", nextBreak + 1);
    }
    const before = codeAt(text, at - 1);
    const first = codeAt(text, at + 2);
    if (
      at >= resume && (before === 32 || before === 9) && first !== -1 && first !== 45 &&
      first !== 61 && !endsToken(first) && lastClient > lastBreak && at - lastClient <= 256
    ) {
      resume = matchValue(text, at + 2, "password", out, undefined, ValueContext.Command);
    }
  }
}

/** Most characters of a `curl` command read for its `-u`. */
const CURL_REACH = 1024;

/**
 * `curl -u user:password` (and `-uuser:password`, `--user`) and the proxy's `-U
 * user:password` (`--proxy-user`): the part after the first `:` of each such flag's value,
 * whatever it looks like (`givenSecret`), only on a line (or lines continued with `\`) that
 * names `curl` at most {@linkcode CURL_REACH} characters before (elsewhere `-u` is a user id,
 * `sort -u`, `git push -u`). Each `curl` reads at most {@linkcode CURL_REACH} characters:
 * linear.
 *
 * @param text The text to scan.
 * @param out Findings are appended here.
 */
export function findCurlUsers(text: string, out: Finding[]): void {
  const re = /\bcurl\b/g;
  let m: RegExpExecArray | null;
  // The next line break, from a cursor that only moves forward (a search from each `curl`
  // to a far line break would be quadratic).
  let nextBreak = text.indexOf("\n");
  while ((m = re.exec(text)) !== null) {
    if (nextBreak !== -1 && nextBreak < m.index) nextBreak = text.indexOf("\n", m.index);
    let lineEnd = nextBreak;
    // A command continued over lines (`curl -sS \` newline `  -u admin:…`) is one line;
    // a bounded walk, not a search for a far line break.
    while (
      lineEnd !== -1 && lineEnd - m.index < CURL_REACH &&
      (codeAt(text, lineEnd - 1) === 92 ||
        (codeAt(text, lineEnd - 1) === 13 && codeAt(text, lineEnd - 2) === 92))
    ) {
      let n = lineEnd + 1;
      while (n < text.length && n - m.index < CURL_REACH && text.charCodeAt(n) !== 10) n++;
      lineEnd = n < text.length && text.charCodeAt(n) === 10 ? n : -1;
    }
    if (lineEnd === -1 || lineEnd - m.index > CURL_REACH) {
      lineEnd = Math.min(text.length, m.index + CURL_REACH);
    }
    const line = text.slice(m.index, lineEnd);
    // `-u user:pw`, `-uuser:pw`, `--user user:pw`, `--user=user:pw`, and the proxy's `-U`,
    // `--proxy-user`.
    const users = /[ \t](?:-[uU][ \t=]{0,4}|--(?:proxy-)?user[ \t=]{1,4})["']?[^\s:"']{1,64}:/g;
    // Where the values read so far end: a match inside one is none.
    let readTo = m.index;
    let u: RegExpExecArray | null;
    while ((u = users.exec(line)) !== null) {
      const from = m.index + u.index + u[0].length;
      if (m.index + u.index < readTo) continue;
      readTo = Math.max(
        readTo,
        from,
        matchValue(text, from, "given", out, undefined, ValueContext.Command),
      );
    }
    re.lastIndex = Math.max(lineEnd, readTo);
  }
}
