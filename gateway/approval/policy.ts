/**
 * Which tool calls need a person's approval under a tenant's policy.
 *
 * @module
 */

import type { ApprovalConfig } from "../config.ts";
import { globToRegExp } from "../tenants.ts";

/** The parts of a catalogue tool a policy looks at. */
export interface ToolFacts {
  /** `server.tool_name`. */
  id: string;
  /** The effective MCP annotations (the server's, with the operator's corrections). */
  annotations?: Record<string, unknown>;
}

/** A compiled approval policy. */
export class ApprovalPolicy {
  /** The configuration it was built from. */
  readonly config: ApprovalConfig;
  readonly #globs: RegExp[];

  constructor(config: ApprovalConfig) {
    this.config = config;
    this.#globs = config.tools.map(globToRegExp);
  }

  /**
   * Whether a call to `tool` waits for approval: its id matches one of `tools` (any number
   * of matching globs count once), or `destructive` is on and its annotations do not
   * declare it harmless ({@linkcode isHarmless}: by the MCP defaults a tool may write and
   * destroy).
   */
  needsApproval(tool: ToolFacts): boolean {
    if (this.#globs.some((re) => re.test(tool.id))) return true;
    if (!this.config.destructive) return false;
    return !isHarmless(tool.annotations);
  }
}

/**
 * Whether MCP annotations declare a tool harmless: explicitly not destructive
 * (`destructiveHint: false`), or read-only (`readOnlyHint: true`) without also saying it is
 * destructive. Annotations that say both read-only and destructive contradict each other
 * and count as destructive: the safe reading of a hint someone got wrong.
 */
export function isHarmless(annotations: Record<string, unknown> | undefined): boolean {
  if (annotations?.destructiveHint === false) return true;
  return annotations?.readOnlyHint === true && annotations?.destructiveHint !== true;
}
