// Placeholders back to values, for tool-call arguments travelling to upstream tools.
// Only ever applied inbound (sandbox → upstream); responses are never detokenized.

import { PLACEHOLDER_LABELS } from "./types.ts";
import type { Vault } from "./vault.ts";
import { mapLeaves } from "./walk.ts";

const PLACEHOLDER = new RegExp(
  `\\[(?:${Object.values(PLACEHOLDER_LABELS).join("|")})_[1-9][0-9]{0,9}\\]`,
  "g",
);

/** Replaces placeholders such as `[EMAIL_1]` in `text` with their values in `vault`. */
export function detokenizeText(text: string, vault: Vault): string {
  if (text.indexOf("[") === -1) return text;
  return text.replace(PLACEHOLDER, (placeholder) => vault.lookup(placeholder) ?? placeholder);
}

/**
 * Replaces placeholders inside every string of `value` (also when embedded in longer
 * strings), walking arrays and objects iteratively; keys are kept. Unknown or expired
 * placeholders are left as they are. Returns a copy; the input is not modified.
 */
export function detokenizeValue(value: unknown, vault: Vault): unknown {
  return mapLeaves(value, (leaf) => typeof leaf === "string" ? detokenizeText(leaf, vault) : leaf);
}
