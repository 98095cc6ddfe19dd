/**
 * The approval step of one execution's tool calls, which the bridge asks before a call
 * reaches its server: does the call need approval under the tenant's policy, has the tool
 * already been approved for this execution, and if not, hold the call (with the sandbox's
 * clock paused) until the broker settles its request.
 *
 * @module
 */

import { dropPartialToken } from "../../sandbox/mod.ts";
import type { RpcContext } from "../../sandbox/mod.ts";
import type { ApprovalBroker } from "./broker.ts";
import type { ApprovalConfig } from "../config.ts";
import { ApprovalPolicy, type ToolFacts } from "./policy.ts";
import type { ApprovalChannel, ApprovalOutcome } from "./types.ts";
import { MAX_APPROVAL_ARGUMENT_CHARS } from "./types.ts";

/** A call the gate refused; the code sees it as a `ToolError` with this `kind`. */
export class ApprovalError extends Error {
  /** `approval_denied` (a person said no, or nobody could be asked) or `approval_timeout`. */
  readonly kind: "approval_denied" | "approval_timeout";
  constructor(kind: "approval_denied" | "approval_timeout", message: string) {
    super(message);
    this.name = "ApprovalError";
    this.kind = kind;
  }
}

/** What a gate needs. */
export interface ApprovalGateOptions {
  policy: ApprovalPolicy;
  broker: ApprovalBroker;
  /** The tenant's id. */
  tenant: string;
  /** Whether the tenant has keys that can answer over HTTP. */
  hasApprovers: boolean;
  /** The execution (a random UUID). */
  executionId: string;
  /** The request id of the execution. */
  requestId: string;
  /** How this execution's caller reaches a person; absent: nobody can be asked. */
  channel?: ApprovalChannel;
  /** Redacts a text the way the execution's output is redacted (its vault, its types). */
  redact(text: string): string;
}

/** The tool facts the gate reads, plus its server. */
export interface GatedTool extends ToolFacts {
  server: string;
}

/** The approval step of one execution. */
export class ApprovalGate {
  #options: ApprovalGateOptions;
  /** Tools decided for the rest of the execution (`scope: "execution"`). */
  #decided = new Map<string, ApprovalOutcome>();
  /** A request in progress per tool: concurrent calls to it wait for that one first. */
  #asking = new Map<string, Promise<ApprovalOutcome>>();
  #ended = new AbortController();

  constructor(options: ApprovalGateOptions) {
    this.#options = options;
  }

  /** Whether calls to `tool` are held for approval under this execution's policy. */
  needsApproval(tool: ToolFacts): boolean {
    return this.#options.policy.needsApproval(tool);
  }

  /**
   * Lets a call through, or throws. `args` are the arguments as the code sent them (PII
   * placeholders not yet swapped).
   * @throws ApprovalError `approval_denied` or `approval_timeout`
   */
  async check(tool: GatedTool, args: Record<string, unknown>, context?: RpcContext): Promise<void> {
    const o = this.#options;
    if (!o.policy.needsApproval(tool)) return;
    for (;;) {
      const decided = this.#decided.get(tool.id);
      if (decided) return this.#verdict(tool.id, decided);
      const asking = this.#asking.get(tool.id);
      if (!asking) break;
      // Another call to the same tool is being decided: its answer may cover this one
      // (`scope: "execution"`), so 50 parallel writes are not 50 questions at once.
      await asking.catch(() => {});
    }
    const available = o.channel !== undefined && (o.channel.answersItself || o.hasApprovers);
    const request = {
      tenant: o.tenant,
      executionId: o.executionId,
      requestId: o.requestId,
      server: tool.server,
      tool: tool.id,
      arguments: o.redact(argumentText(args)),
    };
    if (!available) {
      // Nobody can be asked in this execution: recorded once per tool, then the same verdict.
      const outcome = o.broker.recordUnasked(request, "unavailable");
      this.#decided.set(tool.id, outcome);
      return this.#verdict(tool.id, outcome);
    }
    const resume = context?.pauseDeadline() ?? (() => {});
    const pending = o.broker.request(request, {
      timeoutMs: o.policy.config.timeoutSeconds * 1000,
      maxPending: o.policy.config.maxPending,
      channel: o.channel,
      signal: this.#ended.signal,
    });
    this.#asking.set(tool.id, pending);
    let outcome: ApprovalOutcome;
    try {
      outcome = await pending;
    } finally {
      resume();
      if (this.#asking.get(tool.id) === pending) this.#asking.delete(tool.id);
    }
    if (outcome.answer?.scope === "execution") this.#decided.set(tool.id, outcome);
    return this.#verdict(tool.id, outcome);
  }

  /** The execution has ended: its pending requests are withdrawn. */
  close(): void {
    this.#ended.abort();
  }

  #verdict(toolId: string, outcome: ApprovalOutcome): void {
    const reason = outcome.answer?.reason ? `: ${outcome.answer.reason}` : "";
    switch (outcome.status) {
      case "approved":
        return;
      case "denied":
        throw new ApprovalError("approval_denied", `the call to ${toolId} was denied${reason}`);
      case "timeout":
        throw new ApprovalError(
          "approval_timeout",
          `the call to ${toolId} was not approved within ${this.#options.policy.config.timeoutSeconds} s`,
        );
      case "unavailable":
        if (this.#options.policy.config.onUnavailable === "allow") return;
        throw new ApprovalError(
          "approval_denied",
          `the call to ${toolId} needs approval and no approver can be asked`,
        );
      case "over_capacity":
        throw new ApprovalError(
          "approval_denied",
          `the call to ${toolId} needs approval and this tenant has too many pending approvals`,
        );
      case "withdrawn":
        throw new ApprovalError("approval_denied", "the execution has ended");
    }
  }
}

/** Longest string value shown whole in the argument text, in UTF-16 units. */
const MAX_SHOWN_STRING_CHARS = 1000;

/**
 * The JSON text of a call's arguments as an approver reads it: each string value longer than
 * 1,000 characters cut (on a word boundary, with its full length noted), and the whole cut
 * to {@linkcode MAX_APPROVAL_ARGUMENT_CHARS}, marked "… [truncated]". A cut value is no
 * longer recognised by redaction, which runs after, so cuts drop the last partial word.
 * Visits at most as many values as fit in the limit, so it is linear in that, not in `args`.
 */
export function argumentText(args: Record<string, unknown>): string {
  let budget = MAX_APPROVAL_ARGUMENT_CHARS;
  const shorten = (value: unknown, depth: number): unknown => {
    if (budget <= 0) return "…";
    if (typeof value === "string") {
      budget -= Math.min(value.length, MAX_SHOWN_STRING_CHARS) + 3;
      return value.length <= MAX_SHOWN_STRING_CHARS
        ? value
        : `${
          dropPartialToken(value.slice(0, MAX_SHOWN_STRING_CHARS), Infinity)
        }… [${value.length} characters]`;
    }
    if (value === null || typeof value !== "object") {
      budget -= 8;
      return value;
    }
    if (depth >= 20) return "…";
    if (Array.isArray(value)) {
      const out: unknown[] = [];
      for (const item of value) {
        if (budget <= 0) break;
        out.push(shorten(item, depth + 1));
      }
      return out;
    }
    const out: Record<string, unknown> = {};
    for (const key in value) {
      if (budget <= 0) break;
      budget -= Math.min(key.length, MAX_SHOWN_STRING_CHARS) + 4;
      out[key.slice(0, MAX_SHOWN_STRING_CHARS)] = shorten(
        (value as Record<string, unknown>)[key],
        depth + 1,
      );
    }
    return out;
  };
  let text: string;
  try {
    text = JSON.stringify(shorten(args, 0)) ?? "{}";
  } catch {
    text = "(arguments that cannot be shown)";
  }
  if (text.length <= MAX_APPROVAL_ARGUMENT_CHARS) return text;
  return `${dropPartialToken(text.slice(0, MAX_APPROVAL_ARGUMENT_CHARS), Infinity)}… [truncated]`;
}

/** The parts of a caller {@linkcode approvalGate} reads. */
export interface GateCaller {
  tenant: { id: string; approval?: ApprovalConfig; hasApprovers: boolean };
  requestId: string;
  approvals?: ApprovalChannel;
}

/**
 * The gate of one execution, or `undefined` when its tenant's policy asks for nothing (or
 * there is no broker): then calls are not slowed at all.
 *
 * @param redact redacts a text like the execution's output (its vault and PII types)
 */
export function approvalGate(
  broker: ApprovalBroker | undefined,
  caller: GateCaller,
  redact: (text: string) => string,
): ApprovalGate | undefined {
  const config = caller.tenant.approval;
  if (!broker || !config) return undefined;
  return new ApprovalGate({
    policy: new ApprovalPolicy(config),
    broker,
    tenant: caller.tenant.id,
    hasApprovers: caller.tenant.hasApprovers,
    executionId: crypto.randomUUID(),
    requestId: caller.requestId,
    channel: caller.approvals,
    redact,
  });
}
