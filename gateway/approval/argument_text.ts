/**
 * The text an approver reads for a call's arguments. Three promises, each a class of bugs
 * the red team found (issue 12, rtappr):
 *
 * - **Redacted as values.** Every string (and every key, and every integer of nine or more
 *   digits) is redacted on its own, before it is rendered: JSON escapes such as `\n` glue a
 *   letter to the value after them, so a detector run over rendered JSON misses what it finds
 *   in the value itself. A value under a key is redacted with its key as context (an array's
 *   items with the array's key), as the detectors judge `key: value` in text: on its own,
 *   `{"password": "S3cr3t!Pass"}` or `{"ssn": "078051120"}` was shown raw (red team d1).
 * - **Nothing looks complete that is not.** Every key path is shown (as long as the whole fits
 *   at all); a long string shows its head and its tail (the end of a path matters), an array
 *   its first items; every cut is marked in place with a raw `…[…]…` marker, and an ellipsis
 *   inside a value is shown escaped (`\u2026`), so a value cannot forge a marker. The result
 *   says whether anything was cut.
 * - **Nothing invisible.** Every character that renders as nothing or as blank (controls,
 *   format characters, default-ignorables such as variation selectors, unassigned and
 *   private-use code points, blank letters, spaces other than U+0020) is shown as a
 *   `\uXXXX` escape, except the joiners and selectors of ordinary emoji and script text;
 *   a string with right-to-left letters is held between raw LEFT-TO-RIGHT MARKs so it cannot
 *   reorder the JSON around it.
 *
 * The cost is bounded by {@linkcode MAX_VISITED_NODES} values and by
 * {@linkcode MAX_VIEW_REDACTED_UNITS} units of text redacted, whatever the size or shape of
 * the arguments: a long string is redacted only around what a view can show of it (its head
 * and its tail, each with {@linkcode VIEW_MARGIN_UNITS} of context), and once the budget is
 * spent the further values and keys are marked as not shown. (Redacting each string whole,
 * on the gateway's shared event loop, held it about a second per held call of 4 MiB, red team
 * n3, B1.) A value the code wrote across a cut is judged in its piece, as one it split itself
 * would be.
 *
 * @module
 */

import {
  type CommandLine,
  commandLineOf,
  type Context,
  contextBelow,
  fieldKey,
  isCommandKey,
  isKnownProgram,
  judgedKeys,
  leafText,
  type LinePlace,
  MAX_COMMAND_ITEMS,
  tupleKey,
} from "../../pii/mod.ts";
import { MAX_APPROVAL_ARGUMENT_CHARS } from "./types.ts";

/** Values of the arguments looked at, at most; the rest is counted as not shown. */
export const MAX_VISITED_NODES = 10_000;
/** Nesting shown, at most; deeper values are marked. */
export const MAX_SHOWN_DEPTH = 20;
/**
 * Units of context redacted past the part of a long string a view shows, in UTF-16 units: a
 * value that starts in the shown part and is shorter than this is judged whole (a PEM key is
 * about 3,300).
 */
export const VIEW_MARGIN_UNITS = 4096;
/**
 * Units of the arguments' texts one view redacts, at most (about 25 ms of the gateway's main
 * thread for e-mail-dense text); past it values and keys are marked as not shown.
 */
export const MAX_VIEW_REDACTED_UNITS = 128 * 1024;

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

/**
 * A string as shown: redacted whole, or (a long one) only its head and tail pieces, each
 * redacted with a margin; `total` is the string's length.
 */
type Shown = string | { head: string; tail: string; total: number };

type Tree =
  | { t: "s"; v: Shown }
  | { t: "p"; v: string }
  | { t: "a"; items: Tree[]; total: number }
  | { t: "o"; entries: Array<[Shown | undefined, Tree]>; total: number }
  | { t: "deep"; kind: string }
  | { t: "skip" }
  | { t: "over" };

/** Successively tighter views: string characters, array items and object keys shown. */
const LEVELS = [
  { chars: 1000, items: 1000, keys: 1000 },
  { chars: 400, items: 100, keys: 300 },
  { chars: 160, items: 30, keys: 100 },
  { chars: 60, items: 10, keys: 40 },
  { chars: 24, items: 3, keys: 15 },
];
/** The most of a string's head (or tail) any view shows, in UTF-16 units. */
const SHOWN_END_UNITS = Math.ceil(LEVELS[0].chars / 2);
/** One piece of a long string that is redacted: its shown end and the margin. */
const PIECE_UNITS = SHOWN_END_UNITS + VIEW_MARGIN_UNITS;

/**
 * Renders `args` for an approver (see the module comment).
 * @param redact redacts one value's text (a string leaf, a key, a long integer's digits)
 *   the way the execution's output is redacted; `key` is the object key the value is under
 *   (for an array's items, the array's key; where that key says nothing, the key
 *   pii/pairs.ts gives: a pair's name, an object's key for its `value`, a tuple's first item,
 *   the nearest key above that gives context), to judge it as `key: text`; for a key itself, the key of the object holding it
 *   (not one taken from above);
 *   none at the root and for items of an array under no key. `place` is given for an item of
 *   an array read as a command line (`{"command": ["sshpass", "-p", …]}`, pii/command_arrays.ts),
 *   to redact what the joined line finds in it, as a result is (pass it on to
 *   `redactKeyedText`)
 */
export function renderArguments(
  args: Record<string, unknown>,
  redact: (text: string, key?: string, place?: LinePlace) => string = (text) => text,
): ArgumentText {
  let budget = MAX_VISITED_NODES;
  let unvisited = false;
  let redactable = MAX_VIEW_REDACTED_UNITS;
  // What a view can show of `text`, redacted; undefined once the view's budget is spent.
  const shown = (text: string, key?: string, place?: LinePlace): Shown | undefined => {
    if (text.length <= 2 * PIECE_UNITS) {
      if (text.length > redactable) return undefined;
      redactable -= text.length;
      return redact(text, key, place);
    }
    if (2 * PIECE_UNITS > redactable) return undefined;
    redactable -= 2 * PIECE_UNITS;
    return {
      head: redact(cutAt(text, PIECE_UNITS), key, place),
      tail: redact(tailFrom(text, text.length - PIECE_UNITS), key, place),
      total: text.length,
    };
  };
  // `context`: what fields that say nothing take from a key above (pii/pairs.ts); `names`: the
  // key this object's own keys are judged under (its own, not one taken from above). As in a
  // result (pii/walk.ts).
  const build = (
    value: unknown,
    depth: number,
    key: string | undefined,
    context: Context | undefined,
    names: string | undefined,
    place?: LinePlace,
  ): Tree => {
    budget--;
    if (typeof value === "string") {
      const v = shown(value, key, place);
      if (v === undefined) unvisited = true;
      return v === undefined ? { t: "over" } : { t: "s", v };
    }
    if (typeof value === "number") {
      // A card or phone number may come as a JSON number, an SSN under its key as one
      // without its leading zeros (`leafText`).
      const text = leafText(value, key);
      if (text !== undefined) {
        const v = shown(text, key, place);
        if (v === undefined) unvisited = true;
        if (v === undefined) return { t: "over" };
        if (v !== text) return { t: "s", v };
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
      // A pair tuple's second item is judged under its first, as in a result (pii/pairs.ts);
      // a command's argument list also as the command line it is (pii/command_arrays.ts).
      const tuple = tupleKey(value);
      const line = commandLine(value, key);
      for (let i = 0; i < most && budget > 0; i++) {
        items.push(
          build(
            value[i],
            depth + 1,
            i === 1 && tuple !== undefined ? tuple : key,
            context,
            names,
            line === undefined ? undefined : { line, items: value, index: i },
          ),
        );
      }
      if (items.length < value.length) unvisited = true;
      return { t: "a", items, total: value.length };
    }
    const entries: Array<[Shown | undefined, Tree]> = [];
    let total = 0;
    // The value of a name/value pair (`{"name": "DB_PASSWORD", "value": …}`) is judged under
    // the name, a generic field (`{"db_password": {"value": …}}`) under this object's key, as
    // a result is (pii/pairs.ts). Only the keys a view can show are looked at.
    const shownKeys: string[] = [];
    for (const name in value) {
      if (!Object.hasOwn(value, name)) continue;
      if (shownKeys.length >= LEVELS[0].keys) break;
      shownKeys.push(name);
    }
    const pairs = judgedKeys(value as Record<string, unknown>, shownKeys, key);
    for (const name in value) {
      if (!Object.hasOwn(value, name)) continue;
      total++;
      if (entries.length >= LEVELS[0].keys) continue;
      // Past the budget a key is still shown (only objects being visited get here, at most
      // MAX_SHOWN_DEPTH of them), its value not.
      if (budget <= 0) unvisited = true;
      const under = fieldKey(name, pairs, context);
      const child = budget > 0
        ? build(
          (value as Record<string, unknown>)[name],
          depth + 1,
          under,
          contextBelow(value as Record<string, unknown>, name, under, pairs, context),
          pairs?.get(name) ?? name,
        )
        : { t: "skip" as const };
      // A key is data too, judged under the key of the object holding it (as in a result).
      const shownName = shown(name, names);
      if (shownName === undefined) unvisited = true;
      entries.push([shownName, child]);
    }
    if (entries.length < total) unvisited = true;
    return { t: "o", entries, total };
  };
  // An array is read as a command line when its key names one or its first item is a program
  // (pii/command_arrays.ts); that reads its first item, and then up to MAX_COMMAND_ITEMS of
  // them: those reads are counted against the budget like the values visited.
  const commandLine = (items: unknown[], key: string | undefined): CommandLine | undefined => {
    if (items.length < 2 || budget <= 0) return undefined;
    if (!isCommandKey(key)) {
      budget--;
      if (!isKnownProgram(items[0])) return undefined;
    }
    budget -= Math.min(items.length, MAX_COMMAND_ITEMS);
    return commandLineOf(items, key);
  };
  const tree = build(args, 0, undefined, undefined, undefined);
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
  redact?: (text: string, key?: string, place?: LinePlace) => string,
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
        if (typeof node.v === "string" && node.v.length <= level.chars) {
          return push(quote(node.v));
        }
        cut = true;
        return push(shortString(node.v, level.chars));
      case "skip":
        cut = true;
        return push(`"…[not shown: too many values]…"`);
      case "over":
        cut = true;
        return push(OVER);
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
          if (key === undefined) {
            cut = true;
            push(OVER);
          } else if (typeof key === "string" && key.length <= level.chars) {
            push(quote(key));
          } else {
            cut = true;
            push(shortString(key, level.chars));
          }
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

/** A value or key left out because the view's redaction budget was spent. */
const OVER = `"…[not shown: too much text to check]…"`;

/**
 * A JSON string literal of a long text: its head and tail, `chars` UTF-16 units in all,
 * around a raw marker (the parts from the value are escaped, so the marker is the only raw
 * ellipsis). For a text shown by its pieces, the head comes from the first piece and the tail
 * from the last, and the count is of the string's own length (near: redaction changes the
 * pieces' lengths).
 */
function shortString(text: Shown, chars: number): string {
  const first = typeof text === "string" ? text : text.head;
  const last = typeof text === "string" ? text : text.tail;
  const total = typeof text === "string" ? text.length : text.total;
  const head = cutAt(first, Math.ceil(chars / 2));
  const tail = tailFrom(last, last.length - Math.floor(chars / 2));
  const hidden = Math.max(0, total - head.length - tail.length);
  return `"${inner(head)}…[${hidden} of ${total} characters not shown]…${inner(tail)}"`;
}

/**
 * A JSON string literal with invisible characters and ellipses escaped, and anchored left to
 * right when it holds right-to-left letters (see {@linkcode anchorRtl}).
 */
function quote(text: string): string {
  return `"${inner(text)}"`;
}

/** {@linkcode quote} without its quotes. */
function inner(text: string): string {
  return anchorRtl(escapeInvisible(JSON.stringify(text).slice(1, -1)));
}

/**
 * Characters that render as nothing or as blank, or move text around, shown escaped
 * wherever they are:
 * - C0/C1 controls, format characters (bidi embeddings, overrides and isolates, zero-width
 *   joiners, BOM, tags), line and paragraph separators;
 * - every Default_Ignorable_Code_Point (variation selectors U+FE00–FE0F and
 *   U+E0100–E01EF, which carry a whole payload at one byte a character, red team c3; the
 *   combining grapheme joiner U+034F; Hangul fillers U+115F, U+1160, U+3164, U+FFA0; …);
 * - unassigned and private-use code points and lone surrogates (no font draws them, and
 *   a later Unicode may assign them anything);
 * - blank letters that are not default-ignorable: the braille blank U+2800 and the Khitan
 *   filler U+16FE4; and every space other than U+0020 (NBSP, en/em and ideographic
 *   spaces…), which looks like a plain space;
 * - the ellipsis, which marks cuts.
 *
 * Three of them are part of ordinary text and stay raw where it uses them (see
 * {@linkcode keptRaw}): U+FE0E/FE0F after a pictograph (❤️), U+200D inside an emoji ZWJ
 * sequence, and U+200C/U+200D between letters of a script that writes them (Persian, Indic
 * conjuncts).
 */
const INVISIBLE =
  /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Default_Ignorable_Code_Point}\p{Cn}\p{Co}\p{Cs}\u00A0\u1680\u2000-\u200A\u202F\u205F\u3000\u2800\u{16FE4}\u2026]/gu;

/** A pictograph, or one of its skin-tone modifiers (what an emoji ZWJ sequence joins). */
const PICTOGRAPH = /^[\p{Extended_Pictographic}\u{1F3FB}-\u{1F3FF}]$/u;
/**
 * A letter or mark of a script whose spelling uses ZWJ and ZWNJ (Arabic-script languages,
 * Syriac, N'Ko, Mongolian, the Brahmic scripts of South Asia).
 */
const JOINING_SCRIPT =
  /^(?=[\p{L}\p{M}])[\p{sc=Arabic}\p{sc=Syriac}\p{sc=Nko}\p{sc=Mongolian}\p{sc=Devanagari}\p{sc=Bengali}\p{sc=Gurmukhi}\p{sc=Gujarati}\p{sc=Oriya}\p{sc=Tamil}\p{sc=Telugu}\p{sc=Kannada}\p{sc=Malayalam}\p{sc=Sinhala}]$/u;

/** The code point that ends just before `index` in `text` ("" at the start). */
function before(text: string, index: number): string {
  if (index <= 0) return "";
  const low = text.charCodeAt(index - 1);
  const pair = index >= 2 && low >= 0xdc00 && low <= 0xdfff &&
    text.charCodeAt(index - 2) >= 0xd800 && text.charCodeAt(index - 2) <= 0xdbff;
  return text.slice(pair ? index - 2 : index - 1, index);
}

/** The code point that starts at `index` in `text` ("" at the end). */
function at(text: string, index: number): string {
  const code = text.codePointAt(index);
  return code === undefined ? "" : String.fromCodePoint(code);
}

/**
 * Whether the invisible `ch` at `index` is one ordinary text puts there, once: a variation
 * selector 15/16 right after a pictograph; a ZWJ between pictographs (a pictograph's own
 * selector or skin tone may come between); a ZWJ or ZWNJ between two letters of one joining
 * script. Anything else, and any second one in a row, is escaped: a selector after a letter,
 * a digit or another selector carries hidden bits and changes nothing a person sees.
 */
function keptRaw(ch: string, index: number, text: string): boolean {
  const prev = before(text, index);
  if (ch === "\uFE0E" || ch === "\uFE0F") return PICTOGRAPH.test(prev);
  if (ch !== "\u200D" && ch !== "\u200C") return false;
  const next = at(text, index + 1);
  if (JOINING_SCRIPT.test(prev) && JOINING_SCRIPT.test(next)) return true;
  if (ch !== "\u200D" || !PICTOGRAPH.test(next)) return false;
  if (PICTOGRAPH.test(prev)) return true;
  // `👁️‍🗨️`: the selector stays only after a pictograph (checked when it was met).
  return prev === "\uFE0F" && PICTOGRAPH.test(before(text, index - 1));
}

/** `text` with every {@linkcode INVISIBLE} character as a JSON `\uXXXX` escape. */
export function escapeInvisible(text: string): string {
  return text.replace(INVISIBLE, (ch, index: number, whole: string) => {
    if (keptRaw(ch, index, whole)) return ch;
    let out = "";
    for (let i = 0; i < ch.length; i++) {
      out += `\\u${ch.charCodeAt(i).toString(16).padStart(4, "0")}`;
    }
    return out;
  });
}

/** A right-to-left letter: Hebrew, Arabic, Syriac, Thaana, N'Ko and the other RTL blocks. */
const RTL = /[\u0590-\u08FF\uFB1D-\uFDFF\uFE70-\uFEFC\u{10800}-\u{10FFF}\u{1E800}-\u{1EFFF}]/u;
/** LEFT-TO-RIGHT MARK: a strong left-to-right character that draws nothing. */
const LRM = "\u200E";

/**
 * `text` (a string literal's escaped content) between two raw LEFT-TO-RIGHT MARKs when it
 * holds a right-to-left letter. A right-to-left run draws the neutral characters and digits
 * next to it into itself: `{"אבג":"12"}` is displayed as if `12` were the key, and a value's
 * digits can appear to belong to the next key. The marks keep the quotes, colons and commas
 * of the JSON around the value in place; inside the value the text is drawn as it would be
 * anywhere. A raw LRM is always one of these (one in a value is escaped, `\u200e`).
 */
function anchorRtl(text: string): string {
  return RTL.test(text) ? LRM + text + LRM : text;
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
