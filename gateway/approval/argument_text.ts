/**
 * The text an approver reads for a call's arguments. Three promises, each a class of bugs
 * the red team found (issue 12, rtappr):
 *
 * - **Redacted as values.** Every string (and every key, and every integer of nine or more
 *   digits) is redacted on its own, before it is rendered: JSON escapes such as `\n` glue a
 *   letter to the value after them, so a detector run over rendered JSON misses what it finds
 *   in the value itself.
 * - **Nothing looks complete that is not.** Every key path is shown (as long as the whole fits
 *   at all); a long string shows its head and its tail (the end of a path matters), an array
 *   its first items; every cut is marked in place with a raw `…[…]…` marker, and an ellipsis
 *   inside a value is shown escaped (`\u2026`), so a value cannot forge a marker. The result
 *   says whether anything was cut.
 * - **Nothing invisible.** Control, format (bidi overrides, zero-width), line and paragraph
 *   separator characters are shown as `\uXXXX` escapes.
 *
 * The cost is bounded by {@linkcode MAX_VISITED_NODES} values (and linear in the strings
 * visited), whatever the size or shape of the arguments.
 *
 * @module
 */

import { MAX_APPROVAL_ARGUMENT_CHARS } from "./types.ts";

/** Values of the arguments looked at, at most; the rest is counted as not shown. */
export const MAX_VISITED_NODES = 10_000;
/** Nesting shown, at most; deeper values are marked. */
export const MAX_SHOWN_DEPTH = 20;

/** An approver's view of a call's arguments. */
export interface ArgumentText {
  /**
   * JSON text (valid JSON unless even the tightest shortening did not fit, then cut and
   * marked "…[truncated]"), at most {@linkcode MAX_APPROVAL_ARGUMENT_CHARS} UTF-16 units.
   */
  text: string;
  /** Whether something was left out or cut (every such place is marked in `text`). */
  shortened: boolean;
}

type Tree =
  | { t: "s"; v: string }
  | { t: "p"; v: string }
  | { t: "a"; items: Tree[]; total: number }
  | { t: "o"; entries: Array<[string, Tree]>; total: number }
  | { t: "deep"; kind: string }
  | { t: "skip" };

/** Successively tighter views: string characters, array items and object keys shown. */
const LEVELS = [
  { chars: 1000, items: 1000, keys: 1000 },
  { chars: 400, items: 100, keys: 300 },
  { chars: 160, items: 30, keys: 100 },
  { chars: 60, items: 10, keys: 40 },
  { chars: 24, items: 3, keys: 15 },
];

/**
 * Renders `args` for an approver (see the module comment).
 * @param redact redacts one value's text (a string leaf, a key, a long integer's digits)
 *   the way the execution's output is redacted
 */
export function renderArguments(
  args: Record<string, unknown>,
  redact: (text: string) => string = (text) => text,
): ArgumentText {
  let budget = MAX_VISITED_NODES;
  let unvisited = false;
  const build = (value: unknown, depth: number): Tree => {
    budget--;
    if (typeof value === "string") return { t: "s", v: redact(value) };
    if (typeof value === "number") {
      // A card or phone number may come as a JSON number.
      if (Number.isSafeInteger(value) && Math.abs(value) >= 1e8) {
        const text = String(value);
        const shown = redact(text);
        return shown === text ? { t: "p", v: text } : { t: "s", v: shown };
      }
      return { t: "p", v: JSON.stringify(value) ?? "null" };
    }
    if (value === null || typeof value !== "object") {
      return { t: "p", v: JSON.stringify(value) ?? "null" };
    }
    if (depth >= MAX_SHOWN_DEPTH) {
      unvisited = true;
      return { t: "deep", kind: Array.isArray(value) ? "array" : "object" };
    }
    // No view shows more than LEVELS[0] items or keys of one array or object: later ones
    // are counted, not visited.
    if (Array.isArray(value)) {
      const items: Tree[] = [];
      const most = Math.min(value.length, LEVELS[0].items);
      for (let i = 0; i < most && budget > 0; i++) items.push(build(value[i], depth + 1));
      if (items.length < value.length) unvisited = true;
      return { t: "a", items, total: value.length };
    }
    const entries: Array<[string, Tree]> = [];
    let total = 0;
    for (const key in value) {
      if (!Object.hasOwn(value, key)) continue;
      total++;
      if (entries.length >= LEVELS[0].keys) continue;
      // Past the budget a key is still shown (only objects being visited get here, at most
      // MAX_SHOWN_DEPTH of them), its value not.
      if (budget <= 0) unvisited = true;
      const child = budget > 0
        ? build((value as Record<string, unknown>)[key], depth + 1)
        : { t: "skip" as const };
      entries.push([redact(key), child]);
    }
    if (entries.length < total) unvisited = true;
    return { t: "o", entries, total };
  };
  const tree = build(args, 0);
  let last = "";
  for (const level of LEVELS) {
    const out = render(tree, level);
    if (out.text.length <= MAX_APPROVAL_ARGUMENT_CHARS) {
      return { text: out.text, shortened: out.cut || unvisited };
    }
    last = out.text;
  }
  // Even the tightest view is too long (thousands of keys): say so before the part shown.
  const marker = " …[truncated: the arguments are too large to show in full]";
  return {
    text: cutAt(last, MAX_APPROVAL_ARGUMENT_CHARS - marker.length) + marker,
    shortened: true,
  };
}

/** {@linkcode renderArguments}'s text alone. */
export function argumentText(
  args: Record<string, unknown>,
  redact?: (text: string) => string,
): string {
  return renderArguments(args, redact).text;
}

/**
 * Renders `tree` with the limits of `level`; stops early (the text then ends short) once it
 * is past {@linkcode MAX_APPROVAL_ARGUMENT_CHARS}, so each try is bounded by the limit.
 */
function render(
  tree: Tree,
  level: { chars: number; items: number; keys: number },
): { text: string; cut: boolean } {
  const parts: string[] = [];
  let length = 0;
  let cut = false;
  const push = (s: string) => {
    parts.push(s);
    length += s.length;
  };
  const over = () => length > MAX_APPROVAL_ARGUMENT_CHARS;
  const walk = (node: Tree): void => {
    if (over()) return;
    switch (node.t) {
      case "p":
        return push(node.v);
      case "s":
        if (node.v.length <= level.chars) return push(quote(node.v));
        cut = true;
        return push(shortString(node.v, level.chars));
      case "skip":
        cut = true;
        return push(`"…[not shown: too many values]…"`);
      case "deep":
        cut = true;
        return push(`"…[an ${node.kind} nested deeper than ${MAX_SHOWN_DEPTH} levels]…"`);
      case "a": {
        push("[");
        const shown = Math.min(node.items.length, level.items);
        for (let i = 0; i < shown && !over(); i++) {
          if (i > 0) push(",");
          walk(node.items[i]);
        }
        if (shown < node.total) {
          cut = true;
          push(`${shown > 0 ? "," : ""}"…[${node.total - shown} more of ${node.total} items]…"`);
        }
        return push("]");
      }
      case "o": {
        push("{");
        const shown = Math.min(node.entries.length, level.keys);
        for (let i = 0; i < shown && !over(); i++) {
          if (i > 0) push(",");
          const [key, value] = node.entries[i];
          push(key.length <= level.chars ? quote(key) : shortString(key, level.chars));
          if (key.length > level.chars) cut = true;
          push(":");
          walk(value);
        }
        if (shown < node.total) {
          cut = true;
          push(
            `${shown > 0 ? "," : ""}"…[${node.total - shown} more of ${node.total} keys]…":null`,
          );
        }
        return push("}");
      }
    }
  };
  walk(tree);
  return { text: parts.join(""), cut };
}

/**
 * A JSON string literal of a long text: its head and tail, `chars` UTF-16 units in all,
 * around a raw marker (the parts from the value are escaped, so the marker is the only raw
 * ellipsis).
 */
function shortString(text: string, chars: number): string {
  const head = cutAt(text, Math.ceil(chars / 2));
  const tail = tailFrom(text, text.length - Math.floor(chars / 2));
  const hidden = text.length - head.length - tail.length;
  return `"${inner(head)}…[${hidden} of ${text.length} characters not shown]…${inner(tail)}"`;
}

/** A JSON string literal with invisible characters and ellipses escaped. */
function quote(text: string): string {
  return escapeInvisible(JSON.stringify(text));
}

/** {@linkcode quote} without its quotes. */
function inner(text: string): string {
  return quote(text).slice(1, -1);
}

/**
 * Characters that render as nothing or move text around: C0/C1 controls, format characters
 * (bidi embeddings, overrides and isolates, zero-width joiners, BOM, tags), line and
 * paragraph separators; and the ellipsis, which marks cuts.
 */
const INVISIBLE = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\u2026]/gu;

/** `text` with every {@linkcode INVISIBLE} character as a JSON `\uXXXX` escape. */
export function escapeInvisible(text: string): string {
  return text.replace(INVISIBLE, (ch) => {
    let out = "";
    for (let i = 0; i < ch.length; i++) {
      out += `\\u${ch.charCodeAt(i).toString(16).padStart(4, "0")}`;
    }
    return out;
  });
}

/** The first `n` UTF-16 units of `text`, without splitting a surrogate pair. */
function cutAt(text: string, n: number): string {
  if (n >= text.length) return text;
  const code = text.charCodeAt(n - 1);
  return text.slice(0, code >= 0xd800 && code <= 0xdbff ? n - 1 : n);
}

/** `text` from index `from`, without starting inside a surrogate pair. */
function tailFrom(text: string, from: number): string {
  if (from <= 0) return text;
  const code = text.charCodeAt(from);
  return text.slice(code >= 0xdc00 && code <= 0xdfff ? from + 1 : from);
}
