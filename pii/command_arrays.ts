// A command written as an argument list (red team l1): `{"command": ["sshpass", "-p", PW,
// "ssh", "db"]}`, Docker's `Cmd`/`Entrypoint`, Kubernetes' `args`, a tool call's `argv`. Each
// item alone says nothing (`-p` is a word, the password a word after it), so the items of such
// an array are also read as the one command line they are: joined with spaces (an item that
// needs it between quotes, so item boundaries stay), detected as text, and each finding mapped
// back onto the items it covers. The program, its flags and its other arguments stay readable:
// only the characters the detectors find are a finding, inside their item.

import type { Finding, PiiType } from "./types.ts";
import { COMMANDS } from "./shell_commands.ts";
import type { LeafKey } from "./walk.ts";

/** Items of one array read as a command line, at most (the first ones; later ones are not). */
export const MAX_COMMAND_ITEMS = 64;
/** UTF-16 units of the joined command line, at most (items that would pass it are left out). */
export const MAX_COMMAND_UNITS = 4096;

/**
 * Keys that name an argument vector, lower case without `_` and `-` (`Cmd`, `Entrypoint`,
 * `ProgramArguments`, `extra_args`, `command_line`).
 */
const COMMAND_KEYS: ReadonlySet<string> = new Set(
  ("command cmd args argv arguments entrypoint exec execargs extraargs cliargs commandline " +
    "cmdline programarguments containerargs commandargs runargs execstart shellcommand")
    .split(" "),
);

/**
 * Programs that take a password on their command line (pii/tool_passwords.ts,
 * command_credentials.ts) and are not in shell_commands.ts's {@linkcode COMMANDS}: an array
 * that starts with one is a command whatever its key.
 */
const PASSWORD_PROGRAMS: ReadonlySet<string> = new Set(
  ("valkey-cli redis-server mysqlimport mysqlcheck mysqlshow mysqlpump mysqlslap mariadb-dump " +
    "mariadb-admin nerdctl buildah skopeo oras crane mongoexport mongoimport ldapsearch ldapadd " +
    "ldapmodify ldapdelete ldapwhoami ldapmodrdn ldapcompare ldappasswd bcp 7z 7za 7zz rar " +
    "unrar keytool jarsigner ssh-keygen smbclient rpcclient htpasswd rabbitmqctl sqlplus")
    .split(" "),
);

/** Longest program name (or path to one) looked up, in UTF-16 units. */
const MAX_PROGRAM_UNITS = 256;

/** Whether `key` names an argument vector ({@linkcode COMMAND_KEYS}). */
export function isCommandKey(key: LeafKey): boolean {
  if (key === undefined || key.length > 32) return false;
  return COMMAND_KEYS.has(key.toLowerCase().replace(/[-_]/g, ""));
}

/**
 * Whether `item` is a known program run by name or path (`sshpass`, `/usr/bin/mysql`,
 * `C:\bin\sqlcmd.exe`): its last path part, lower case, without `.exe`, in shell_commands.ts's
 * {@linkcode COMMANDS} or {@linkcode PASSWORD_PROGRAMS}.
 */
export function isKnownProgram(item: unknown): boolean {
  if (typeof item !== "string" || item.length === 0 || item.length > MAX_PROGRAM_UNITS) {
    return false;
  }
  const base = item.slice(Math.max(item.lastIndexOf("/"), item.lastIndexOf("\\")) + 1)
    .toLowerCase().replace(/\.exe$/, "");
  return COMMANDS.has(base) || PASSWORD_PROGRAMS.has(base);
}

/**
 * An array read as a command line: the text its items join into and where each item's
 * characters are in it. Built by {@linkcode commandLineOf}; the detection of the text is done
 * once and kept ({@linkcode CommandLine.itemFindings}), or given from elsewhere (a worker:
 * {@linkcode CommandLine.setFindings}).
 */
export class CommandLine {
  /** The joined text (see the module comment), at most {@linkcode MAX_COMMAND_UNITS} units. */
  readonly text: string;
  /** For each item joined (the first ones), where its own characters start in {@linkcode text}. */
  readonly #starts: number[];
  /** Per item, the findings the joined text gives it, once computed. */
  #perItem: Finding[][] | undefined;
  /** The types those were detected for (a view and a result may ask for different ones). */
  #types: string | undefined;

  constructor(text: string, starts: number[]) {
    this.text = text;
    this.#starts = starts;
  }

  /**
   * The findings of the joined text that fall in item `index` (offsets in the item, sorted,
   * non-overlapping); `[]` for an item not joined or not a string. `detect` runs the
   * detectors over the joined text, once per set of `types` (callers pass `findPii`).
   */
  itemFindings(
    items: readonly unknown[],
    index: number,
    types: readonly PiiType[],
    detect: (text: string, types: readonly PiiType[]) => Finding[],
  ): Finding[] {
    if (this.#perItem === undefined || this.#types !== types.join(",")) {
      this.setFindings(items, types, detect(this.text, types));
    }
    return this.#perItem![index] ?? [];
  }

  /**
   * Takes `findings` of the joined text, detected for `types` (by a worker), and splits them
   * onto the items: a finding inside one item is that item's; one that spans items (`-p`
   * `Secret` read as one word) is each covered item's part, except a part that is a whole
   * flag item (`--password`): the value item is what is hidden, the flag stays readable.
   */
  setFindings(items: readonly unknown[], types: readonly PiiType[], findings: Finding[]): void {
    const starts = this.#starts;
    const perItem: Finding[][] = starts.map(() => []);
    // Items are in order, and so are the findings: one forward pass over both.
    let first = 0;
    for (const f of findings) {
      while (first < starts.length && endOf(starts, items, first) <= f.start) first++;
      const parts: Array<[number, number, number]> = [];
      for (let i = first; i < starts.length && starts[i] < f.end; i++) {
        const from = Math.max(f.start, starts[i]);
        const to = Math.min(f.end, endOf(starts, items, i));
        if (to > from) parts.push([i, from - starts[i], to - starts[i]]);
      }
      const kept = parts.length > 1
        ? parts.filter(([i, from, to]) => !isWholeFlag(items[i] as string, from, to))
        : parts;
      for (const [i, from, to] of kept.length > 0 ? kept : parts.slice(-1)) {
        if (typeof items[i] !== "string") continue;
        perItem[i].push({ type: f.type, start: from, end: to, value: "" });
      }
    }
    for (let i = 0; i < perItem.length; i++) {
      for (const f of perItem[i]) f.value = (items[i] as string).slice(f.start, f.end);
    }
    this.#perItem = perItem;
    this.#types = types.join(",");
  }
}

/** Where item `i`'s characters end in the joined text. */
function endOf(starts: number[], items: readonly unknown[], i: number): number {
  return starts[i] + itemText(items[i])!.length;
}

/** Whether `[from, to)` is all of `item` and `item` is a flag (`-p`, `--db-password`). */
function isWholeFlag(item: string, from: number, to: number): boolean {
  return from === 0 && to === item.length && /^--?[A-Za-z][\w.-]*$/.test(item);
}

/** The text an item adds to the line: a string, or a finite number written as JSON does. */
function itemText(item: unknown): string | undefined {
  if (typeof item === "string") return item;
  if (typeof item === "number" && Number.isFinite(item)) return String(item);
  return undefined;
}

/** Characters after which a word needs quotes to stay one (white space, quotes, shell syntax). */
const NEEDS_QUOTES = /[\s'"\\$`;&|<>()#*?]/;

/**
 * The array `items`, under `key`, read as a command line, or `undefined` when it is none: an
 * array of two or more strings (finite numbers may be among them, `["redis-cli", "-p", 6379]`)
 * under a key that names an argument vector ({@linkcode isCommandKey}) or whose first item is
 * a known program ({@linkcode isKnownProgram}). The first {@linkcode MAX_COMMAND_ITEMS} items
 * are joined, while the text stays within {@linkcode MAX_COMMAND_UNITS} units; an item with
 * white space, quotes or shell syntax in it is written between single quotes (a single quote
 * inside it as `"`, the same length), an empty item as `''`. Linear in what it joins.
 */
export function commandLineOf(items: readonly unknown[], key: LeafKey): CommandLine | undefined {
  if (items.length < 2) return undefined;
  if (!isCommandKey(key) && !isKnownProgram(items[0])) return undefined;
  const most = Math.min(items.length, MAX_COMMAND_ITEMS);
  for (let i = 0; i < most; i++) if (itemText(items[i]) === undefined) return undefined;
  let text = "";
  const starts: number[] = [];
  for (let i = 0; i < most; i++) {
    const item = itemText(items[i])!;
    if (text.length + item.length + 3 > MAX_COMMAND_UNITS) break;
    const sep = i === 0 ? "" : " ";
    // Between single quotes, where the shell takes every character as it is; a single quote
    // inside is written as a double one (as literal there, and the same length, so the
    // item's offsets stay its own).
    const quoted = item.length === 0 || NEEDS_QUOTES.test(item);
    const open = quoted ? "'" : "";
    starts.push(text.length + sep.length + open.length);
    text += sep + open + (quoted ? item.replaceAll("'", '"') : item) + open;
  }
  if (starts.length < 2) return undefined;
  return new CommandLine(text, starts);
}

/**
 * `a` and `b`, findings of one text (each sorted and non-overlapping), as one such list:
 * overlapping findings become one that covers both (a secret if either is one, else the
 * earlier's type). Linear.
 */
export function mergeFindings(
  text: string,
  a: readonly Finding[],
  b: readonly Finding[],
): readonly Finding[] {
  if (b.length === 0) return a;
  if (a.length === 0) return b;
  const out: Finding[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    const f = j >= b.length || (i < a.length && a[i].start <= b[j].start) ? a[i++] : b[j++];
    const last = out[out.length - 1];
    if (last !== undefined && f.start < last.end) {
      if (f.end > last.end) last.end = f.end;
      if (f.type === "secret") last.type = "secret";
      last.value = text.slice(last.start, last.end);
    } else out.push({ ...f });
  }
  return out;
}
