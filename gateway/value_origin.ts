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
 * Most UTF-16 units of code one execution searches for values, in all: 64 searches of the
 * largest code (32 Mi units, tens of ms). Past it every further value counts as `upstream`:
 * output made of thousands of distinct values cannot hold the event loop.
 */
export const ORIGIN_SEARCH_BUDGET = 64 * MAX_CODE_CHARS;

/** Most answers one execution remembers (a value met again is then searched again). */
const MAX_REMEMBERED = 4096;

/**
 * The origin of values met while redacting one execution's text, judged against `code`.
 * Each answer costs one search of the code (two when the value has characters a string
 * literal escapes: its JSON-escaped form is looked for too); answers are remembered.
 * @param budget most units of code searched in all (default {@linkcode ORIGIN_SEARCH_BUDGET})
 */
export function originInCode(
  code: string,
  budget: number = ORIGIN_SEARCH_BUDGET,
): (value: string) => ValueOrigin {
  const known = new Map<string, ValueOrigin>();
  let left = budget;
  const found = (text: string): boolean => {
    if (text.length === 0 || left < code.length) return false;
    left -= code.length;
    return code.includes(text);
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
