// Placeholders back to values, for tool-call arguments travelling to upstream tools.
// Only ever applied inbound (sandbox → upstream); responses are never detokenized.

import { PLACEHOLDER_LABELS } from "./types.ts";
import type { Vault } from "./vault.ts";
import { mapLeaves } from "./walk.ts";

const PLACEHOLDER = new RegExp(
  `\\[(?:${Object.values(PLACEHOLDER_LABELS).join("|")})_[1-9][0-9]{0,9}\\]`,
  "g",
);

/**
 * Replaces placeholders such as `[EMAIL_1]` in `text` with their values in `vault`. When
 * `used` is given, each value put in is recorded there with its placeholder.
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
    if (value === undefined) return placeholder;
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
 * Replaces placeholders inside every string of `value` (also when embedded in longer
 * strings), walking arrays and objects iteratively; keys are kept. Unknown or expired
 * placeholders are left as they are. Returns a copy; the input is not modified.
 */
export function detokenizeValue(
  value: unknown,
  vault: Vault,
  used?: Map<string, string>,
  budget?: ExpansionBudget,
): unknown {
  return mapLeaves(
    value,
    (leaf) => typeof leaf === "string" ? detokenizeText(leaf, vault, used, budget) : leaf,
  );
}

/**
 * Puts placeholders back where a tool's result repeats a value that was restored from one
 * (`used`: value → placeholder, from {@linkcode detokenizeValue}). An echoing tool would
 * otherwise hand the code the very value the placeholder hides, and the code could return it
 * in a shape redaction cannot recognise (one character at a time). Exact occurrences only:
 * a value the tool transformed (upper-cased, encoded) is not recognised. The work is the
 * result's size times the number of values, so it yields the event loop every `sliceMs`
 * (an echoing tool and 10,000 restored values held it for 26 s).
 */
export async function retokenizeValueAsync(
  value: unknown,
  used: ReadonlyMap<string, string>,
  sliceMs = 4,
): Promise<unknown> {
  if (used.size === 0) return value;
  const pairs = [...used].sort((a, b) => b[0].length - a[0].length);
  const texts: string[] = [];
  mapLeaves(value, (leaf) => {
    if (typeof leaf === "string") texts.push(leaf);
    return leaf;
  });
  let started = performance.now();
  for (let i = 0; i < texts.length; i++) {
    let out = texts[i];
    for (const [real, placeholder] of pairs) {
      if (real.length > 0 && out.includes(real)) out = out.split(real).join(placeholder);
      if (performance.now() - started > sliceMs) {
        await new Promise((resolve) => setTimeout(resolve, 0));
        started = performance.now();
      }
    }
    texts[i] = out;
  }
  let next = 0;
  return mapLeaves(value, (leaf) => typeof leaf === "string" ? texts[next++] : leaf);
}
