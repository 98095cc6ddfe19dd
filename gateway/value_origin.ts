/**
 * Where a value that gets a placeholder during an execution came from: `agent` when the
 * agent wrote it (it is in the code the agent sent), `upstream` otherwise. The approval view
 * shows the values behind `agent` placeholders and never those behind `upstream` ones (see
 * `gateway/approval/view_values.ts`).
 *
 * Only the code counts as what the agent knows: tool results reach the code raw inside the
 * sandbox, but the agent reads nothing of an execution except its redacted output. A value
 * the code computed (`"a" + "b"`, `atob(…)`) or wrote with escapes (`"ann\u0040…"`) is not
 * found and counts as `upstream`: the cautious side, where the approver is told that a value
 * is hidden rather than shown it.
 *
 * @module
 */

import type { ValueOrigin } from "../pii/mod.ts";
import { MAX_CODE_CHARS } from "./schemas.ts";

/**
 * Most UTF-16 units one execution's searches read, in all (code and value, each search): 16
 * searches of the largest code (8 Mi units; 64 of them took 0.49 s on the loaded 2-core
 * machine, 2026-11-30), or 1,600 of a 5 KB program. Past it every further value counts as
 * `upstream`: output made of thousands of distinct values cannot hold the event loop.
 */
export const ORIGIN_SEARCH_BUDGET = 16 * MAX_CODE_CHARS;

/**
 * Whether `pattern` occurs in `text`, in time linear in both (Knuth–Morris–Pratt). Not
 * `String.prototype.includes`: V8's search takes its skip table from the pattern's last 250
 * units, so a long value whose end repeats through the code cost code × value (red team m3:
 * one 60,000-unit value against 500,000 units of code, 6.3 s).
 */
export function occursIn(text: string, pattern: string): boolean {
  const m = pattern.length;
  if (m === 0) return true;
  if (m > text.length) return false;
  const fail = new Int32Array(m);
  for (let i = 1, k = 0; i < m; i++) {
    const c = pattern.charCodeAt(i);
    while (k > 0 && c !== pattern.charCodeAt(k)) k = fail[k - 1];
    if (c === pattern.charCodeAt(k)) k++;
    fail[i] = k;
  }
  for (let i = 0, k = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    while (k > 0 && c !== pattern.charCodeAt(k)) k = fail[k - 1];
    if (c === pattern.charCodeAt(k) && ++k === m) return true;
  }
  return false;
}

/** Most answers one execution remembers (a value met again is then searched again). */
const MAX_REMEMBERED = 4096;

/**
 * The origin of values met while redacting one execution's text, judged against `code`.
 * Each answer costs one linear search of the code ({@linkcode occursIn}; two when the value
 * has characters a string literal escapes: its JSON-escaped form is looked for too), charged
 * the code's and the value's length; answers are remembered.
 * @param budget most units of code searched in all (default {@linkcode ORIGIN_SEARCH_BUDGET})
 */
export function originInCode(
  code: string,
  budget: number = ORIGIN_SEARCH_BUDGET,
): (value: string) => ValueOrigin {
  const known = new Map<string, ValueOrigin>();
  let left = budget;
  const found = (text: string): boolean => {
    const cost = code.length + text.length;
    if (text.length === 0 || left < cost) return false;
    left -= cost;
    return occursIn(code, text);
  };
  return (value) => {
    const seen = known.get(value);
    if (seen !== undefined) return seen;
    let origin: ValueOrigin = "upstream";
    if (value.length > 0 && value.length <= code.length) {
      const escaped = JSON.stringify(value).slice(1, -1);
      if (found(value) || (escaped !== value && found(escaped))) origin = "agent";
    }
    if (known.size < MAX_REMEMBERED) known.set(value, origin);
    return origin;
  };
}
