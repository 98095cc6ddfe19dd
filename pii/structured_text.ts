// The key above a value in structured text (red team n1, N1-7): parsed JSON judges a value whose
// own key says nothing under the nearest key above it (`{"passwords": {"postgres": …}}`,
// pairs.ts), but the same data as text came back raw: a YAML map or list under `passwords:`, a
// block scalar under `password: |`, an INI `[secrets]` section, a psql column headed `password`
// or `phone`, a PowerShell `Name  Value` table of `DB_PASSWORD`. This pass reads those layouts
// line by line and judges each such value under its context key (keyed.ts `findPiiUnder`), as
// the JSON path does; what it finds is added to what the detectors found.
//
// One pass over the lines; a value is judged once; a container's verdict is asked once, and only
// when a value below it needs one (keyed.ts remembers verdicts per key): linear.

import type { Finding, PiiType } from "./types.ts";
import { contextTypes, findPiiUnder, givesContext, takesContext } from "./keyed.ts";
import { isPlainValue } from "./plain_values.ts";
import { looksSecretValue } from "./value_parts.ts";

/** Containers above a value that are asked for context, as `MAX_CONTEXT_LEVELS` in pairs.ts. */
const MAX_LEVELS = 4;
/** Longest key or column name read, in characters. */
const MAX_KEY = 64;
/** Deepest YAML nesting tracked (deeper lines keep the context of this depth). */
const MAX_DEPTH = 32;

/** A YAML container key: its indentation and, once asked, whether it gives context. */
interface Container {
  indent: number;
  key: string;
  gives?: boolean;
}

/** A table being read: its column names and, for an aligned one, where each column starts. */
interface Table {
  pipes: boolean;
  names: string[];
  starts: number[];
  /** Index of the `Name`/`Key` column of a name/value table, -1 if none. */
  nameAt: number;
  /** Index of its `Value` column. */
  valueAt: number;
}

/**
 * `findings` of `text` (sorted, non-overlapping, as findPii returns them) with what the keys
 * above values in YAML, INI and table layouts add (see the module comment); `findings` itself
 * when the text has one line. `detectUnder` is keyed.ts `findPiiUnder` by default.
 */
export function findInStructure(
  text: string,
  types: readonly PiiType[],
  findings: Finding[],
): Finding[] {
  if (text.indexOf("\n") === -1) return findings;
  const extra: Finding[] = [];
  const judge = (from: number, to: number, key: string) => {
    // Quotes around a scalar are syntax, not the value.
    const q = text.charCodeAt(from);
    if (to - from >= 2 && (q === 34 || q === 39) && text.charCodeAt(to - 1) === q) {
      from++;
      to--;
    }
    if (to <= from) return;
    for (const f of findPiiUnder(text.slice(from, to), key, types)) {
      extra.push({ type: f.type, start: f.start + from, end: f.end + from, value: "" });
    }
  };
  const stack: Container[] = [];
  let block: { indent: number; key: string } | undefined;
  let section: Container | undefined;
  let table: Table | undefined;
  let prevStart = -1, prevEnd = -1;
  for (let start = 0; start <= text.length;) {
    let end = text.indexOf("\n", start);
    if (end === -1) end = text.length;
    const next = end + 1;
    if (end > start && text.charCodeAt(end - 1) === 13) end--;
    const indent = indentOf(text, start, end);
    const blank = indent === end - start;
    if (block !== undefined) {
      if (blank) {
        start = next;
        continue;
      }
      if (indent > block.indent) {
        judge(start + indent, trimEnd(text, start + indent, end), block.key);
        start = next;
        continue;
      }
      block = undefined;
    }
    if (isRule(text, start, end) && prevStart >= 0) {
      table = tableOf(text, prevStart, prevEnd, start, end);
      prevStart = -1;
      start = next;
      continue;
    }
    if (table !== undefined) {
      if (blank || text.charCodeAt(start + indent) === 40) table = undefined; // `(3 rows)`
      else readRow(text, start, end, table, judge);
    } else if (!blank) {
      const c = text.charCodeAt(start + indent);
      if (c === 91 && text.charCodeAt(trimEnd(text, start, end) - 1) === 93) {
        // `[section]`: its pairs take its name when theirs says nothing.
        const name = text.slice(start + indent + 1, trimEnd(text, start, end) - 1).trim();
        section = name.length > 0 && name.length <= MAX_KEY ? { indent: 0, key: name } : undefined;
        stack.length = 0;
      } else {
        block = readLine(text, start + indent, end, indent, stack, section, judge);
      }
    }
    prevStart = blank ? -1 : start;
    prevEnd = end;
    start = next;
  }
  if (extra.length === 0) return findings;
  extra.sort((a, b) => a.start - b.start || b.end - a.end);
  return mergeAll(text, findings, extra);
}

/**
 * One line of YAML or INI (`at`: its first non-blank character). Pushes a container key, judges
 * a value under the context above it, and returns the block scalar it opens, if any.
 */
function readLine(
  text: string,
  at: number,
  end: number,
  indent: number,
  stack: Container[],
  section: Container | undefined,
  judge: (from: number, to: number, key: string) => void,
): { indent: number; key: string } | undefined {
  let keyIndent = indent;
  let item = false;
  if (text.charCodeAt(at) === 45 && (at + 1 === end || text.charCodeAt(at + 1) === 32)) {
    // `- item` (or `- key: value`, a map in a list, its key further in). An item may sit at
    // its container's own indentation (`key:⏎- a`).
    item = true;
    const from = skipSpaces(text, at + 1, end);
    keyIndent = indent + (from - at);
    at = from;
  }
  while (stack.length > 0 && stack[stack.length - 1].indent >= indent + (item ? 1 : 0)) {
    stack.pop();
  }
  const colon = keyEnd(text, at, end);
  if (colon === -1) {
    // A plain list item, or an INI line without a separator: under the containers above.
    if (item && at < end) {
      const to = trimEnd(text, at, end);
      const key = contextAbove(stack, section);
      if (key !== undefined && !isPlainValue(text.slice(at, to))) judge(at, to, key);
    }
    return undefined;
  }
  const key = text.slice(at, colon).trim();
  const from = skipSpaces(text, colon + 1, end);
  const to = trimEnd(text, from, end);
  if (from >= to || text.charCodeAt(from) === 35) {
    // `key:` alone: a container of the lines below.
    if (stack.length < MAX_DEPTH) stack.push({ indent: keyIndent, key });
    return undefined;
  }
  const c = text.charCodeAt(from);
  if ((c === 124 || c === 62) && to - from <= 3) {
    // `key: |` or `key: >-`: the more indented lines below are the value.
    const under = givesContext(key)
      ? key
      : takesContext(key)
      ? contextAbove(stack, section)
      : undefined;
    return under === undefined ? undefined : { indent, key: under };
  }
  // As pairs.ts `judgedKeys` decides for parsed JSON: a key that says nothing takes the context
  // above unless the value says what it is (a host, a URL, a command line); one that says what
  // it holds keeps that meaning unless the value looks like a secret.
  const value = text.slice(from, to);
  const takes = takesContext(key)
    ? !isPlainValue(value)
    : looksSecretValue(value) && !contextTypes(key).includes("secret") && !isPlainValue(value);
  if (!takes) return undefined;
  const above = contextAbove(stack, section);
  if (above !== undefined) judge(from, to, above);
  return undefined;
}

/** The nearest container key (at most {@linkcode MAX_LEVELS} up) that gives context. */
function contextAbove(stack: Container[], section: Container | undefined): string | undefined {
  for (let k = stack.length - 1; k >= 0 && k >= stack.length - MAX_LEVELS; k--) {
    const c = stack[k];
    c.gives ??= givesContext(c.key);
    if (c.gives) return c.key;
  }
  if (section !== undefined) {
    section.gives ??= givesContext(section.key);
    if (section.gives) return section.key;
  }
  return undefined;
}

/**
 * End of a key before `:` (YAML, followed by a blank or the line's end) or `=` (INI), or -1: a
 * key is 1–64 characters of a name (letters, digits, `_ - . /`, quotes), no blank inside.
 */
function keyEnd(text: string, at: number, end: number): number {
  const limit = Math.min(end, at + MAX_KEY + 1);
  let k = at;
  for (; k < limit; k++) {
    const c = text.charCodeAt(k);
    if (c === 58) {
      const after = text.charCodeAt(k + 1);
      return k > at && (k + 1 === end || after === 32 || after === 9) ? k : -1;
    }
    if (c === 61) return k > at ? k : -1;
    if (c === 32 || c === 9) {
      // `name = value` (INI) allows blanks around `=`.
      const s = skipSpaces(text, k, end);
      return text.charCodeAt(s) === 61 && k > at ? s : -1;
    }
    if (!nameChar(c)) return -1;
  }
  return -1;
}

function nameChar(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95 ||
    c === 45 || c === 46 || c === 47 || c === 34 || c === 39 || c >= 128;
}

/** A table's rule: only `-`, `+`, `|`, `=`, `:` and blanks, with three or more `-` or `=`. */
function isRule(text: string, start: number, end: number): boolean {
  let dashes = 0;
  for (let k = start; k < end; k++) {
    const c = text.charCodeAt(k);
    if (c === 45 || c === 61) dashes++;
    else if (c !== 43 && c !== 124 && c !== 32 && c !== 58 && c !== 9) return false;
  }
  return dashes >= 3;
}

/** The table whose header is the line before its rule, or `undefined` when no column says anything. */
function tableOf(
  text: string,
  hs: number,
  he: number,
  rs: number,
  re: number,
): Table | undefined {
  const header = text.slice(hs, he);
  const pipes = header.indexOf("|") !== -1;
  // `---` alone separates YAML documents; a header holding `key: value` is YAML, not a table.
  if (!pipes && (text.slice(rs, re).trim() === "---" || /:(?:\s|$)/.test(header))) {
    return undefined;
  }
  const starts: number[] = [];
  let names: string[];
  if (pipes) {
    names = cellsOf(header);
  } else {
    // Columns start where the rule's runs of dashes start (PowerShell, psql with one column).
    for (let k = rs; k < re; k++) {
      const c = text.charCodeAt(k);
      if ((c === 45 || c === 61) && (k === rs || text.charCodeAt(k - 1) === 32)) {
        starts.push(k - rs);
      }
    }
    names = sliceAt(header, starts);
  }
  if (names.some((n) => n.length > MAX_KEY)) return undefined;
  const lower = names.map((n) => n.toLowerCase());
  const valueAt = lower.indexOf("value");
  const nameAt = valueAt === -1 ? -1 : Math.max(lower.indexOf("name"), lower.indexOf("key"));
  if (nameAt === -1 && !names.some((n) => givesContext(n))) return undefined;
  return { pipes, names, starts, nameAt, valueAt };
}

/** Judges each cell of a table row under its column name (or a value under its row's name). */
function readRow(
  text: string,
  start: number,
  end: number,
  table: Table,
  judge: (from: number, to: number, key: string) => void,
): void {
  const spans = table.pipes ? pipeSpans(text, start, end) : alignedSpans(text, start, end, table);
  if (table.nameAt !== -1) {
    const name = spans[table.nameAt], value = spans[table.valueAt];
    if (name === undefined || value === undefined) return;
    const key = text.slice(name[0], name[1]);
    if (key.length > 0 && key.length <= MAX_KEY) judge(value[0], value[1], key);
    return;
  }
  for (let k = 0; k < spans.length && k < table.names.length; k++) {
    if (givesContext(table.names[k])) judge(spans[k][0], spans[k][1], table.names[k]);
  }
}

/** Spans of a `|`-separated row's cells, blanks trimmed, outer empty cells dropped. */
function pipeSpans(text: string, start: number, end: number): [number, number][] {
  const out: [number, number][] = [];
  let from = start;
  for (let k = start; k <= end; k++) {
    if (k === end || text.charCodeAt(k) === 124) {
      const a = skipSpaces(text, from, k);
      out.push([a, trimEnd(text, a, k)]);
      from = k + 1;
    }
  }
  if (
    out.length > 1 && out[0][0] === out[0][1] &&
    text.charCodeAt(skipSpaces(text, start, end)) === 124
  ) {
    out.shift();
  }
  if (out.length > 1 && out[out.length - 1][0] === out[out.length - 1][1]) out.pop();
  return out;
}

/** Spans of an aligned row's cells, cut where the columns start (the last takes the rest). */
function alignedSpans(text: string, start: number, end: number, table: Table): [number, number][] {
  const out: [number, number][] = [];
  const s = table.starts;
  for (let k = 0; k < s.length; k++) {
    const from = Math.min(start + s[k], end);
    const to = k + 1 < s.length ? Math.min(start + s[k + 1], end) : end;
    const a = skipSpaces(text, from, to);
    out.push([a, trimEnd(text, a, to)]);
  }
  return out;
}

/** The `|`-separated cells of a header line, trimmed, outer empty cells dropped. */
function cellsOf(line: string): string[] {
  return pipeSpans(line, 0, line.length).map(([a, b]) => line.slice(a, b));
}

/** `line` cut where `starts` say, each piece trimmed. */
function sliceAt(line: string, starts: number[]): string[] {
  return starts.map((s, k) =>
    line.slice(s, k + 1 < starts.length ? starts[k + 1] : undefined).trim()
  );
}

function indentOf(text: string, start: number, end: number): number {
  return skipSpaces(text, start, end) - start;
}

function skipSpaces(text: string, at: number, end: number): number {
  while (at < end && (text.charCodeAt(at) === 32 || text.charCodeAt(at) === 9)) at++;
  return at;
}

function trimEnd(text: string, from: number, end: number): number {
  while (end > from && (text.charCodeAt(end - 1) === 32 || text.charCodeAt(end - 1) === 9)) end--;
  return end;
}

/** `a` and `b` (each sorted) as one sorted list, overlapping findings joined (a secret wins). */
function mergeAll(text: string, a: Finding[], b: Finding[]): Finding[] {
  const out: Finding[] = [];
  let i = 0, j = 0;
  while (i < a.length || j < b.length) {
    const f = j >= b.length || (i < a.length && a[i].start <= b[j].start) ? a[i++] : b[j++];
    const last = out[out.length - 1];
    if (last !== undefined && f.start < last.end) {
      if (f.end > last.end) last.end = f.end;
      if (f.type === "secret") last.type = "secret";
      last.value = text.slice(last.start, last.end);
    } else out.push({ ...f, value: text.slice(f.start, f.end) });
  }
  return out;
}
