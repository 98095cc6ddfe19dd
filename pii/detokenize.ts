// Placeholders back to values, for tool-call arguments travelling to upstream tools.
// Only ever applied inbound (sandbox → upstream); responses are never detokenized.

import { PLACEHOLDER_LABELS } from "./types.ts";
import { clockTick, restoredReplacer } from "./restored_values.ts";
import type { Vault } from "./vault.ts";
import { forEachLeafAsync, mapLeaves, mapLeavesAsync, someLeaf } from "./walk.ts";

/** A placeholder as vaults make them, `[LABEL_n_tag]`; linear, no backtracking. */
const PLACEHOLDER = new RegExp(
  `\\[(?:${Object.values(PLACEHOLDER_LABELS).join("|")})_[1-9][0-9]{0,9}_[a-z]{7}\\]`,
  "g",
);

/**
 * Replaces placeholders such as `[EMAIL_1_kqzmtwa]` in `text` with their values in `vault`.
 * When `used` is given, each value put in is recorded there with its placeholder.
 *
 * A placeholder `vault` cannot resolve (expired, evicted, another session's or another
 * vault's: the tag differs) is refused, never passed on as it is: the caller meant a value,
 * and a tool handed the bare placeholder would write to it, store it or fail obscurely.
 * Text that merely looks like an older, untagged placeholder (`[EMAIL_1]`) is left alone.
 * @throws RangeError with `kind: "unknown_placeholder"` for a placeholder that does not resolve
 * @throws RangeError with `kind: "too_large"` when `budget` runs out
 */
export function detokenizeText(
  text: string,
  vault: Vault,
  used?: Map<string, string>,
  budget?: ExpansionBudget,
): string {
  if (text.indexOf("[") === -1) return text;
  return text.replace(PLACEHOLDER, (placeholder) => {
    const value = vault.lookup(placeholder);
    if (value === undefined) {
      throw Object.assign(
        new RangeError(
          `${placeholder} does not stand for any value of this session (it expired, was ` +
            "evicted, or belongs to another session or an earlier vault of this one); it was " +
            "not sent. Use the placeholders of this session's latest results",
        ),
        { kind: "unknown_placeholder" },
      );
    }
    if (budget) {
      budget.remaining -= value.length - placeholder.length;
      if (budget.remaining < 0) {
        throw Object.assign(
          new RangeError(
            `the arguments grow past ${budget.limit} characters once placeholders are restored`,
          ),
          { kind: "too_large" },
        );
      }
    }
    used?.set(value, placeholder);
    return value;
  });
}

/**
 * How much restoring placeholders may add to a value, in UTF-16 units. A placeholder of ten
 * characters can stand for 8 KiB: without a budget, 4 MiB of placeholders in a tool call's
 * arguments would become gigabytes in the gateway (it crashed).
 */
export interface ExpansionBudget {
  /** The most characters restoring may add in all. */
  readonly limit: number;
  /** What is left; restoring throws `RangeError` with `kind: "too_large"` below zero. */
  remaining: number;
}

/**
 * Replaces placeholders inside every string and every object key of `value` (also when
 * embedded in longer strings), walking arrays and objects iteratively. A placeholder that does
 * not resolve is refused (see {@linkcode detokenizeText}, which also lists the errors); two
 * keys of one object that restore to the same text are refused with `kind: "duplicate_key"`
 * (a `RangeError`). Returns a copy, or `value` itself when no string or key in it
 * has a `[` (found by a scan that copies nothing: copying two million numbers of a tool
 * call's arguments held the shared event loop about 50 ms); the input is not modified.
 */
export function detokenizeValue(
  value: unknown,
  vault: Vault,
  used?: Map<string, string>,
  budget?: ExpansionBudget,
): unknown {
  const bracket = (text: string) => text.indexOf("[") !== -1;
  if (!someLeaf(value, (leaf) => typeof leaf === "string" && bracket(leaf), bracket)) {
    return value;
  }
  // Keys too: a result's keys are redacted (`{"[EMAIL_1_kqzmtwa]": 3}`), and the object sent
  // back must reach the tool with its real keys. Two keys that restore to one are refused,
  // not merged (one value would silently replace the other).
  return mapLeaves(
    value,
    (leaf) => typeof leaf === "string" ? detokenizeText(leaf, vault, used, budget) : leaf,
    (name) => detokenizeText(name, vault, used, budget),
    (name) =>
      Object.assign(
        new RangeError(
          `two keys of one object stand for the same value once placeholders are restored ` +
            `(${JSON.stringify(name.slice(0, 80))}); it was not sent`,
        ),
        { kind: "duplicate_key" },
      ),
  );
}

/**
 * Puts placeholders back where a tool's result repeats a value that was restored from one, in
 * its strings and its object keys (`used`: value → placeholder, from
 * {@linkcode detokenizeValue}). An echoing tool would
 * otherwise hand the code the very value the placeholder hides, and the code could return it
 * in a shape redaction cannot recognise (one character at a time). Exact occurrences only:
 * a value the tool transformed (upper-cased, encoded) is not recognised; where values
 * overlap, the leftmost occurrence wins, and the longest value at that position.
 *
 * Each text is scanned by an automaton over the values (pii/restored_values.ts): linear in
 * the result whatever the values share. (Searching every text for every value was the
 * result's size times the number of values: 256 values and a 7 MB result of 400,000 texts
 * kept a core busy for 100 s; trying each value with the same first two units at each
 * position was positions × values × shared prefix: 7 s in one stretch from an 80,000-unit
 * echo, red team n3.) It yields the event loop every `sliceMs` ms, inside a text too, and
 * stops with `signal`'s reason once `signal` is aborted (the execution ended: nobody will
 * see the result).
 */
export async function retokenizeValueAsync(
  value: unknown,
  used: ReadonlyMap<string, string>,
  sliceMs = 4,
  signal?: AbortSignal,
): Promise<unknown> {
  if (used.size === 0) return value;
  signal?.throwIfAborted();
  const tick = clockTick(sliceMs, signal);
  const replace = await restoredReplacer(used, tick);
  // Both walks yield too, and a result with no restored value in it comes back uncopied: a
  // tool result of 100,000 small values was copied twice in one stretch.
  // Keys too (in document order, as the walks give them): a key restored for a tool comes
  // back from it as a key (`{"ann@example.com": …}`).
  const texts: string[] = [];
  await forEachLeafAsync(
    value,
    (leaf) => {
      if (typeof leaf === "string") texts.push(leaf);
    },
    { sliceMs, signal },
    (name) => texts.push(name),
  );
  for (let i = 0; i < texts.length; i++) {
    texts[i] = await replace(texts[i]);
    const wait = tick();
    if (wait) await wait;
  }
  let next = 0;
  return await mapLeavesAsync(
    value,
    (leaf) => typeof leaf === "string" ? texts[next++] : leaf,
    { sliceMs, signal },
    () => texts[next++],
  );
}
