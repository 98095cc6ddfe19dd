/**
 * A tenant's speculation settings (`speculation` in the configuration, overridable per
 * tenant) and which tools count as read-only.
 *
 * @module
 */

import type { ToolInfo } from "../../upstream/mod.ts";

/** One tenant's speculation settings, resolved from the configuration. */
export interface SpeculationPolicy {
  /** Off: nothing is prefetched, cached or predicted for the tenant. */
  enabled: boolean;
  /** How long a read stays in the session cache, in seconds; 0 turns the cache off. */
  ttlSeconds: number;
  /** Least share (0–1) of the calls after a tool that a predicted next call must have had. */
  minConfidence: number;
  /** Most prefetches (literal and predicted) one execution may start; 0 turns them off. */
  maxPrefetchPerExecution: number;
  /** Globs over tool ids (`*` matches any run of characters) the operator declares read-only. */
  readOnly: string[];
}

/**
 * Whether `tool` is read-only: its MCP annotations say `readOnlyHint: true` and do not also
 * say `destructiveHint: true` (as the server lists them, or as the operator overrides them;
 * a contradiction is read as a write), or its id matches one of `globs`.
 */
export function isReadOnly(tool: ToolInfo, globs: readonly RegExp[]): boolean {
  if (hintsReadOnly(tool.annotations)) return true;
  return globs.some((re) => re.test(tool.id));
}

/** Whether MCP annotations say read-only without contradicting it (see {@linkcode isReadOnly}). */
function hintsReadOnly(annotations: Record<string, unknown> | undefined): boolean {
  return annotations?.readOnlyHint === true && annotations?.destructiveHint !== true;
}
