// Passwords given to command-line tools by a short flag or by position, program by program
// (`sshpass -p …`, `redis-cli -a …`, `docker login -p …`, `htpasswd -b file user …`). A short
// flag means a password only for the tools that say so (`-p` is a port to `ssh`, a port
// mapping to `docker run`, parents to `mkdir`), so each program names its own; what the flag
// or the position gives is the password whatever it looks like (`mysqladmin -pSecret`), unless
// it is a variable or a placeholder. The program, the host and the other arguments stay
// readable: only the password's characters are a finding.

import type { Finding } from "./types.ts";
import { codeAt, isLetter } from "./chars.ts";
import { givenSecret } from "./looks_secret.ts";
import { endsToken, isQuote } from "./value_end.ts";
import { readShellWord, unexpandedPieces } from "./shell_word.ts";

/**
 * How a program takes a password:
 * - `flags`: the short or single-dash flags whose value is the password, written as the next
 *   word (`next`), onto the flag (`glued`: `-pSecret`), or either (`both`); `pass:` is
 *   OpenSSL's `-passin pass:…` (only that source: `env:`, `file:` name no password);
 *   `percent` is Samba's `-U user%password`;
 * - `after`: a word that must come before the flag (`docker login -p`, not `docker run -p`);
 * - `wraps`: the program runs another command after its own options (`sshpass -p … ssh -p
 *   2222 host`): its flags end at the first word that is none, and these of its options take
 *   the next word as their value;
 * - `position`: a password given by position (see {@linkcode positionalPassword}).
 */
interface ToolSpec {
  flags?: Readonly<Record<string, "next" | "glued" | "both" | "pass:" | "percent">>;
  after?: string;
  wraps?: readonly string[];
  position?: "htpasswd" | "rabbitmqctl" | "sqlplus";
}

const MYSQL: ToolSpec = { flags: { "-p": "glued" } };
const REGISTRY_LOGIN: ToolSpec = { flags: { "-p": "both" }, after: "login" };
const MONGO: ToolSpec = { flags: { "-p": "next" } };
const LDAP: ToolSpec = { flags: { "-w": "next" } };
const SQL_SERVER: ToolSpec = { flags: { "-P": "both" } };
const ZIP: ToolSpec = { flags: { "-P": "next" } };
const ARCHIVER: ToolSpec = { flags: { "-p": "glued" } };
const SAMBA: ToolSpec = { flags: { "-U": "percent", "--user": "percent" } };
const JAVA_KEYS: ToolSpec = {
  flags: {
    "-storepass": "next",
    "-keypass": "next",
    "-srcstorepass": "next",
    "-deststorepass": "next",
    "-srckeypass": "next",
    "-destkeypass": "next",
  },
};

/** The programs, by the name they are run as (a path before it is allowed). */
const TOOLS: ReadonlyMap<string, ToolSpec> = new Map<string, ToolSpec>([
  ["sshpass", { flags: { "-p": "both" }, wraps: ["-f", "-d", "-P"] }],
  ["redis-cli", { flags: { "-a": "next" } }],
  ["valkey-cli", { flags: { "-a": "next" } }],
  ["mysql", MYSQL],
  ["mysqldump", MYSQL],
  ["mysqladmin", MYSQL],
  ["mysqlimport", MYSQL],
  ["mysqlcheck", MYSQL],
  ["mysqlshow", MYSQL],
  ["mysqlpump", MYSQL],
  ["mysqlslap", MYSQL],
  ["mariadb", MYSQL],
  ["mariadb-dump", MYSQL],
  ["mariadb-admin", MYSQL],
  ["docker", REGISTRY_LOGIN],
  ["podman", REGISTRY_LOGIN],
  ["nerdctl", REGISTRY_LOGIN],
  ["buildah", REGISTRY_LOGIN],
  ["skopeo", REGISTRY_LOGIN],
  ["helm", REGISTRY_LOGIN],
  ["oras", REGISTRY_LOGIN],
  ["crane", REGISTRY_LOGIN],
  ["az", REGISTRY_LOGIN],
  ["mongo", MONGO],
  ["mongosh", MONGO],
  ["mongodump", MONGO],
  ["mongorestore", MONGO],
  ["mongoexport", MONGO],
  ["mongoimport", MONGO],
  ["ldapsearch", LDAP],
  ["ldapadd", LDAP],
  ["ldapmodify", LDAP],
  ["ldapdelete", LDAP],
  ["ldapwhoami", LDAP],
  ["ldapmodrdn", LDAP],
  ["ldapcompare", LDAP],
  ["ldappasswd", { flags: { "-w": "next", "-s": "next" } }],
  ["sqlcmd", SQL_SERVER],
  ["bcp", SQL_SERVER],
  ["zip", ZIP],
  ["unzip", ZIP],
  ["7z", ARCHIVER],
  ["7za", ARCHIVER],
  ["7zz", ARCHIVER],
  ["rar", ARCHIVER],
  ["unrar", ARCHIVER],
  ["openssl", {
    flags: { "-k": "next", "-pass": "pass:", "-passin": "pass:", "-passout": "pass:" },
  }],
  ["keytool", JAVA_KEYS],
  ["jarsigner", JAVA_KEYS],
  ["ssh-keygen", { flags: { "-N": "next", "-P": "next" } }],
  ["smbclient", SAMBA],
  ["rpcclient", SAMBA],
  ["htpasswd", { position: "htpasswd" }],
  ["rabbitmqctl", { position: "rabbitmqctl" }],
  ["sqlplus", { position: "sqlplus" }],
]);

/**
 * A program's name, with Windows' `.exe` or not (`sqlcmd.exe`, red team l1), then a space, a
 * tab or the quote closing its path (`"C:\Program Files\7-Zip\7z.exe" a -p…`); the names are
 * looked up in {@linkcode TOOLS}, and the match must start a word ({@linkcode startsWord}).
 * No look-behind: one tried at every position of the text costs more than the rest of the
 * scan.
 */
const TOOL_NAME =
  /(?:sshpass|redis-cli|valkey-cli|mysql(?:dump|admin|import|check|show|pump|slap)?|mariadb(?:-dump|-admin)?|docker|podman|nerdctl|buildah|skopeo|helm|oras|crane|az|mongo(?:sh|dump|restore|export|import)?|ldap(?:search|add|modify|delete|whoami|modrdn|compare|passwd)|sqlcmd|bcp|zip|unzip|7z[az]?|rar|unrar|openssl|keytool|jarsigner|ssh-keygen|smbclient|rpcclient|htpasswd|rabbitmqctl|sqlplus)(?:\.exe|\.EXE)?(?=[ \t"'])/g;

/**
 * Whether a program's name may start after `c`: at the text's or a line's start, after white
 * space, a path's `/` or `\`, a shell operator or a quote (`sh -c "sshpass …"`), not inside a
 * word (`mymysql`, `docker.io`, `my-zip`).
 */
function startsWord(c: number): boolean {
  return c === -1 || endsWord(c) || c === 47 || c === 92 || isQuote(c);
}

/** Most characters of a command read after its program's name. */
const TOOL_REACH = 1024;

/** One word of a command: where it starts and ends, and its content without quotes. */
interface Word {
  start: number;
  end: number;
  /** Content start and end (inside the quotes of a quoted word). */
  from: number;
  to: number;
  /** The word is one single-quoted piece: a `$` in it names no variable. */
  literal: boolean;
}

/**
 * A character that ends a command's unquoted word: white space and the shell's operators
 * (`;`, `|`, `&`, `<`, `>`, a backtick, `(`, `)`).
 */
function endsWord(c: number): boolean {
  return endsToken(c) || c === 59 || c === 124 || c === 38 || c === 60 || c === 62 ||
    c === 96 || c === 40 || c === 41;
}

/**
 * The words of the command from `from` (after its program's name), as the shell splits them
 * (pii/shell_word.ts: `\` escapes, quoted pieces joined, single quotes literal; red team l1).
 * Stops at the command's end (a line break not continued with `\`, or an operator between
 * words) or after {@linkcode TOOL_REACH} characters. Returns the words and where the
 * command ends.
 */
function commandWords(text: string, from: number): { words: Word[]; end: number } {
  const words: Word[] = [];
  const limit = Math.min(text.length, from + TOOL_REACH);
  let j = from;
  while (j < limit) {
    const c = text.charCodeAt(j);
    if (c === 32 || c === 9) {
      j++;
      continue;
    }
    // A line continued with `\` (and `\r\n`).
    if (
      c === 92 &&
      (codeAt(text, j + 1) === 10 || (codeAt(text, j + 1) === 13 && codeAt(text, j + 2) === 10))
    ) {
      j += codeAt(text, j + 1) === 10 ? 2 : 3;
      continue;
    }
    if (endsWord(c)) break;
    const start = j;
    const word = readShellWord(text, start, limit);
    if (word.end === start) break;
    j = word.end;
    if (word.quotedWhole !== 0) {
      words.push({ start, end: j, from: start + 1, to: j - 1, literal: word.quotedWhole === 39 });
    } else words.push({ start, end: j, from: start, to: j, literal: false });
    // A quote left open (`"abc"def" ping`, JSON's `\"` decoded): the word before it is
    // read whole, and the command ends there.
    if (word.open) break;
  }
  return { words, end: j };
}

/**
 * Pushes the password `[from, to)` when it is one ({@linkcode givenSecret}); `literal`: it
 * was single-quoted (a `$` in it is a character). A command substitution or `${…}` the
 * shell runs in it (in double quotes too: `-p "x$(curl …|sh)"`) is no part of it and stays
 * readable; the pieces around it are pushed each (red team m1).
 */
function pushGiven(text: string, from: number, to: number, out: Finding[], literal = false): void {
  if (to <= from) return;
  const q = codeAt(text, from - 1);
  const inside = literal ? 39 : q === 34 && codeAt(text, to) === 34 ? 34 : 0;
  const pieces = unexpandedPieces(text, from, to, inside);
  // A value that is one substitution (`$(cat f)`) is judged whole: no password.
  const whole = pieces.length === 1 && pieces[0][0] === from && pieces[0][1] === to;
  for (const [s, e] of whole || pieces.length === 0 ? [[from, to]] : pieces) {
    const value = text.slice(s, e);
    if (e > s && givenSecret(value, literal)) {
      out.push({ type: "secret", start: s, end: e, value });
    }
  }
}

/**
 * Appends to `out` the passwords given to the programs of {@linkcode TOOLS} in `text`. Every
 * form of theirs but two positions (`sqlplus`, `rabbitmqctl`) has a flag (a space or a tab,
 * `-`, a letter), so only the lines holding one (or all the text, when it names `sqlplus` or
 * `rabbitmqctl`) are searched for program names: a search over all the text cost more than
 * the rest of the secret scan. Flags and the two names are found by `indexOf` (native) of
 * `-` and `q`, characters rarer than the space a search for ` -` stops at; each line is read once, each command at most
 * {@linkcode TOOL_REACH} characters after its program's name, and the search resumes after
 * both: linear.
 *
 * @param text The text to scan.
 * @param out Findings are appended here.
 */
export function findToolPasswords(text: string, out: Finding[]): void {
  findEnvPasswords(text, out);
  if (namesPositionalTool(text)) {
    findCommands(text, 0, text.length, out);
    return;
  }
  let done = 0;
  for (let at = text.indexOf("-"); at !== -1; at = text.indexOf("-", Math.max(at + 1, done))) {
    // A flag (`-p`, `--user=…`) after a space, a tab, or at the start of a continued line
    // (`sshpass \` newline `-p …`; red team l1).
    const before = codeAt(text, at - 1);
    if (
      before !== 32 && before !== 9 &&
      !((before === 10 || before === 13) && continuedAt(text, at - 1))
    ) continue;
    const next = codeAt(text, at + 1);
    if (!isLetter(next) && !(next === 45 && isLetter(codeAt(text, at + 2)))) continue;
    // The line holding the flag, with the lines it continues (`sshpass \` newline `-p …`).
    let s = at;
    while (s > done && at - s < TOOL_REACH) {
      const c = text.charCodeAt(s - 1);
      if ((c === 10 || c === 13) && !continuedAt(text, s - 1)) break;
      s--;
    }
    let e = at + 1;
    while (e < text.length && e - at < TOOL_REACH && text.charCodeAt(e) !== 10) e++;
    done = Math.max(e, findCommands(text, s, e, out));
  }
}

/**
 * Variables a tool reads its password from, not named as a password (red team l1:
 * `SSHPASS=… sshpass -e ssh host`, `REDISCLI_AUTH=… redis-cli`): the value is the password
 * whatever it looks like, where the name starts a word and touches its `=`.
 */
const ENV_PASSWORDS = ["SSHPASS", "REDISCLI_AUTH"] as const;

/**
 * The values of {@linkcode ENV_PASSWORDS} in `text`, each read as a shell word (at most
 * {@linkcode TOOL_REACH} characters); the search resumes after it. One `indexOf` scan per
 * name: linear.
 */
function findEnvPasswords(text: string, out: Finding[]): void {
  for (const name of ENV_PASSWORDS) {
    // Resumes past what the last value read, so each character is read once per name.
    let resume = 0;
    for (let at = text.indexOf(name); at !== -1; at = text.indexOf(name, resume)) {
      const eq = at + name.length;
      resume = eq;
      const before = codeAt(text, at - 1);
      if (codeAt(text, eq) !== 61 || !(before === -1 || endsWord(before) || isQuote(before))) {
        continue;
      }
      const word = readShellWord(text, eq + 1, Math.min(text.length, eq + 1 + TOOL_REACH));
      resume = Math.max(resume, word.read);
      if (word.end === eq + 1) continue;
      if (word.quotedWhole !== 0) {
        pushGiven(text, eq + 2, word.end - 1, out, word.quotedWhole === 39);
      } else pushGiven(text, eq + 1, word.end, out);
    }
  }
}

/** Whether `text` names `sqlplus` or `rabbitmqctl` (found by their `q`). */
function namesPositionalTool(text: string): boolean {
  for (let q = text.indexOf("q"); q !== -1; q = text.indexOf("q", q + 1)) {
    if (text.startsWith("sqlplus", q - 1) || text.startsWith("rabbitmqctl", q - 8)) return true;
  }
  return false;
}

/** Whether the line break at `i` (`\n`, or the `\r` of `\r\n`) ends a line continued with `\`. */
function continuedAt(text: string, i: number): boolean {
  const b = text.charCodeAt(i) === 10 && codeAt(text, i - 1) === 13 ? i - 1 : i;
  return codeAt(text, b - 1) === 92;
}

/**
 * The passwords of the commands whose program's name stands in `[from, to)`; returns where
 * the last command read ends (`from` when there is none).
 */
function findCommands(text: string, from: number, to: number, out: Finding[]): number {
  // One expression for every call (a new one per flagged line cost more than the line's
  // read); `part` is searched from its start.
  const re = TOOL_NAME;
  re.lastIndex = 0;
  const part = from === 0 && to === text.length ? text : text.slice(from, to);
  let end = from;
  let m: RegExpExecArray | null;
  while ((m = re.exec(part)) !== null) {
    const at = from + m.index;
    const name = m[0].endsWith(".exe") || m[0].endsWith(".EXE") ? m[0].slice(0, -4) : m[0];
    const spec = TOOLS.get(name);
    if (spec === undefined || !startsWord(codeAt(text, at - 1))) continue;
    // The quote closing a quoted path (`"C:\…\7z.exe" a -p…`) ends the program's word.
    const after = at + m[0].length;
    const command = commandWords(text, isQuote(codeAt(text, after)) ? after + 1 : after);
    if (spec.position !== undefined) positionalPassword(text, command.words, spec.position, out);
    else flagPasswords(text, command.words, spec, out);
    end = Math.max(end, command.end);
    re.lastIndex = Math.max(re.lastIndex, command.end - from);
  }
  return end;
}

/** The passwords of a program's flags ({@linkcode ToolSpec.flags}) among its `words`. */
function flagPasswords(text: string, words: Word[], spec: ToolSpec, out: Finding[]): void {
  const flags = spec.flags ?? {};
  let ready = spec.after === undefined;
  // Words before `after` that are no option: `login` is the subcommand only as the first
  // (`docker login`) or after a group (`az acr login`, `helm registry login`), not as an
  // argument of another (`docker run --rm busybox login -p 8080`; red team l1).
  let positional = "";
  let positionals = 0;
  for (let i = 0; i < words.length; i++) {
    const w = words[i];
    const word = text.slice(w.from, w.to);
    if (!ready) {
      if (word.startsWith("-")) {
        if (GLOBAL_OPTION_VALUES.has(word)) i++;
        continue;
      }
      if (
        word === spec.after &&
        (positionals === 0 || (positionals === 1 && SUBCOMMAND_GROUPS.has(positional)))
      ) ready = true;
      else if (++positionals > 1) return;
      positional = word;
      continue;
    }
    const how = flags[word];
    const next = words[i + 1];
    if (spec.wraps !== undefined && how === undefined) {
      // The wrapped command starts at the first word that is no option of the wrapper's.
      if (!word.startsWith("-")) return;
      if (spec.wraps.includes(word)) i++;
    }
    if (how === undefined) {
      // A flag with its value glued on (`-pSecret`, `-P'Secret'`): the flags of two letters.
      const flag = word.slice(0, 2);
      const glued = flags[flag];
      if (w.from === w.start && (glued === "glued" || glued === "both") && word.length > 2) {
        const at = w.from + 2;
        const q = codeAt(text, at);
        if (isQuote(q) && text.charCodeAt(w.to - 1) === q && w.to - at >= 3) {
          pushGiven(text, at + 1, w.to - 1, out, q === 39);
        } else pushGiven(text, at, w.to, out);
      } else if (w.from === w.start && glued === "percent" && word.length > 2) {
        // Samba's `-Ubob%Secret`, the user glued onto the flag (red team l1).
        percentPassword(text, w.from + 2, w.to, out);
      } else if (word.startsWith("--user=") && flags["--user"] === "percent") {
        percentPassword(text, w.from + 7, w.to, out);
      }
      continue;
    }
    if (how === "glued" || next === undefined || codeAt(text, next.from) === 45) continue;
    if (how === "pass:") {
      if (text.startsWith("pass:", next.from)) pushGiven(text, next.from + 5, next.to, out);
    } else if (how === "percent") percentPassword(text, next.from, next.to, out);
    else pushGiven(text, next.from, next.to, out, next.literal);
    i++;
  }
}

/** Options before a registry tool's subcommand that take the next word (`docker -H h login`). */
const GLOBAL_OPTION_VALUES = new Set([
  "-H",
  "--host",
  "-c",
  "--context",
  "--config",
  "-l",
  "--log-level",
]);

/**
 * Subcommand groups a `login` may follow (`az acr login`, `helm registry login`,
 * `crane auth login`).
 */
const SUBCOMMAND_GROUPS = new Set(["acr", "registry", "auth"]);

/** Samba's `user%password` in `[from, to)`: the part after the first `%`. */
function percentPassword(text: string, from: number, to: number, out: Finding[]): void {
  const pct = text.indexOf("%", from);
  if (pct !== -1 && pct < to) pushGiven(text, pct + 1, to, out);
}

/** Options of `htpasswd` and `rabbitmqctl` that take the next word as their value. */
const OPTION_VALUES = new Set(["-C", "-r", "-n", "--node", "-t", "--timeout", "-l", "--longnames"]);

/**
 * A password given by position:
 * - `htpasswd -b[c…] file user password` (`-nb user password` without a file);
 * - `rabbitmqctl add_user user password`, `rabbitmqctl change_password user password`;
 * - `sqlplus user/password@db` (`sqlplus -s scott/tiger`), the part between the first `/`
 *   and the last `@`.
 */
function positionalPassword(
  text: string,
  words: Word[],
  how: "htpasswd" | "rabbitmqctl" | "sqlplus",
  out: Finding[],
): void {
  const letters = new Set<string>();
  const positional: Word[] = [];
  for (let i = 0; i < words.length; i++) {
    const word = text.slice(words[i].from, words[i].to);
    if (word.startsWith("-") && word.length > 1 && positional.length === 0) {
      if (how === "htpasswd") { for (const l of word.slice(1)) letters.add(l); }
      // `htpasswd -C 12`, `rabbitmqctl -n rabbit@host`: the next word is the option's.
      if (how === "htpasswd" ? /[Cr]$/.test(word) : OPTION_VALUES.has(word)) i++;
    } else positional.push(words[i]);
  }
  if (how === "htpasswd") {
    const w = letters.has("b") ? positional[letters.has("n") ? 1 : 2] : undefined;
    if (w) pushGiven(text, w.from, w.to, out);
  } else if (how === "rabbitmqctl") {
    const verb = positional[0] && text.slice(positional[0].from, positional[0].to);
    if ((verb === "add_user" || verb === "change_password") && positional[2]) {
      pushGiven(text, positional[2].from, positional[2].to, out);
    }
  } else if (positional[0] && codeAt(text, positional[0].from) !== 64) {
    // `sqlplus -s @/opt/x.sql`, `@scripts/x.sql`: a script to run, no login (red team l1).
    const w = positional[0];
    const slash = text.indexOf("/", w.from);
    if (slash <= w.from || slash >= w.to) return;
    const at = text.lastIndexOf("@", w.to - 1);
    pushGiven(text, slash + 1, at > slash ? at : w.to, out);
  }
}
