/**
 * Which placeholders in a held call's arguments an approver may see through. Two promises
 * meet here (red teams i2 and j1):
 *
 * - **What the agent wrote is shown.** A placeholder whose value the agent wrote itself (it
 *   is in the code it sent: origin `agent`) is shown as its value, so a path, host or
 *   command cannot be hidden from the approver by laundering it into a placeholder
 *   (`return { password: "/etc/cron.d/x;reboot" }`, then that placeholder as a write's path).
 * - **What the agent never saw stays hidden, and says so.** A placeholder of any other value
 *   (a tool's result, a file: origin `upstream`) stays a placeholder wherever it sits and
 *   whatever is glued to it (`"x" + "[SSN_1_…]" + "1"` once showed `x0780511201`), and is
 *   listed in {@linkcode HiddenValue}s, so the approver is told plainly that part of the call
 *   is not shown and can deny it.
 *
 * A value of the vault that came from upstream and is written out raw in the call (the code
 * read it again) is put back as its placeholder for the view too (exact occurrences).
 *
 * Placeholders are swapped only where the call has them literally, which is the only place
 * the gateway swaps them on the way to the server: a placeholder the code split, encoded
 * (base64, hex, JSON escapes) or reversed is sent as that text, not as the value, and is shown
 * as that text.
 *
 * @module
 */

import { PLACEHOLDER_LABELS, retokenizeValueAsync, type ValueOrigin } from "../../pii/mod.ts";
import type { HiddenValue } from "./types.ts";

/** A placeholder as vaults make them, `[LABEL_n_tag]`; linear, no backtracking. */
const PLACEHOLDER = new RegExp(
  `\\[(?:${Object.values(PLACEHOLDER_LABELS).join("|")})_[1-9][0-9]{0,9}_[a-z]{7}\\]`,
  "g",
);

/** Most hidden values listed with one request; more are counted in the last entry's place. */
export const MAX_HIDDEN_LISTED = 20;

/** The vault reads the view needs (a `Vault` has them). */
export interface ViewVault {
  /** The value behind a placeholder, or undefined. */
  lookup(placeholder: string): string | undefined;
  /** Where that value came from, or undefined. */
  originOf(placeholder: string): ValueOrigin | undefined;
  /**
   * Value → placeholder of every live mapping of `origin`; may be a promise (judging 10,000
   * values is done in slices, off the shared event loop's one turn).
   */
  valuesOf?(origin: ValueOrigin): Map<string, string> | Promise<Map<string, string>>;
}

/**
 * `args` with every raw occurrence of an `upstream` value of `vault` (in strings and keys)
 * put back as its placeholder, for the view only: code that reads the data again and writes
 * it into a call (`"x" + row.ssn + "1"`) never had a placeholder to keep, yet the agent has
 * only ever seen that value as one. Exact occurrences of the form first seen (see
 * `retokenizeValueAsync`); linear in the arguments, yielding the event loop.
 */
export async function hideUpstream(
  args: Record<string, unknown>,
  vault: ViewVault,
): Promise<Record<string, unknown>> {
  const upstream = await vault.valuesOf?.("upstream");
  if (upstream === undefined || upstream.size === 0) return args;
  return await retokenizeValueAsync(args, upstream) as Record<string, unknown>;
}

/**
 * `text` (a string or key of a call's arguments as the code sent them) with the placeholders
 * of values the agent wrote swapped for those values; the others are kept and recorded in
 * `hidden` (placeholder → why). Linear in `text`.
 */
export function revealForView(
  text: string,
  vault: ViewVault,
  hidden: Map<string, HiddenValue["why"]>,
): string {
  if (text.indexOf("[") === -1) return text;
  return text.replace(PLACEHOLDER, (placeholder) => {
    const origin = vault.originOf(placeholder);
    const value = origin === "agent" ? vault.lookup(placeholder) : undefined;
    if (value !== undefined) return value;
    if (!hidden.has(placeholder)) {
      hidden.set(placeholder, origin === undefined ? "unknown" : "upstream");
    }
    return placeholder;
  });
}

/** The hidden values of a request, in the order met, at most {@linkcode MAX_HIDDEN_LISTED}. */
export function hiddenList(hidden: ReadonlyMap<string, HiddenValue["why"]>): HiddenValue[] {
  const out: HiddenValue[] = [];
  for (const [placeholder, why] of hidden) {
    if (out.length >= MAX_HIDDEN_LISTED) break;
    out.push({ placeholder, why });
  }
  return out;
}
