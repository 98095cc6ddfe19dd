/**
 * The approval step of one execution's tool calls, which the bridge asks before a call
 * reaches its server: does the call need approval under the tenant's policy, has the tool
 * already been approved for this execution, and if not, hold the call (with the sandbox's
 * clock paused) until the broker settles its request.
 *
 * @module
 */

import type { RpcContext } from "../../sandbox/mod.ts";
import type { LinePlace } from "../../pii/mod.ts";
import type { ApprovalBroker, NewApprovalRequest } from "./broker.ts";
import type { ApprovalConfig } from "../config.ts";
import { ApprovalPolicy, type ToolFacts } from "./policy.ts";
import type { ApprovalChannel, ApprovalOutcome, HiddenValue } from "./types.ts";
import { renderArguments } from "./argument_text.ts";
import { hiddenList, hideUpstream, revealForView, type ViewVault } from "./view_values.ts";

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
  /**
   * Redacts one value's text (a string argument, a key) the way the execution's output is
   * redacted (its vault, its types), judged as `key: text` when the value is under object
   * key `key` (see `renderArguments`); never a rendered JSON text. `place`: an item of a
   * command's argument list, with what its joined line finds (pii/command_arrays.ts).
   */
  redact(text: string, key?: string, place?: LinePlace): string;
  /**
   * The session's vault, to show the values behind the placeholders the agent wrote and keep
   * the others (see `view_values.ts`). Absent: every placeholder stays as it is, and is
   * listed as hidden (`unknown`).
   */
  vault?: ViewVault;
}

/**
 * Tells the broker what became of a call a person approved: `true` once it was handed to its
 * server, `false` when it was stopped before (the execution ended first).
 */
export type SentReport = (sent: boolean) => void;

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
  /** Waiting time of this execution already used up, in ms (see `executionWaitSeconds`). */
  #waitedMs = 0;
  /** Calls waiting now, and since when at least one has (ms since the epoch). */
  #waiting = 0;
  #waitingSince = 0;

  constructor(options: ApprovalGateOptions) {
    this.#options = options;
  }

  /** Whether calls to `tool` are held for approval under this execution's policy. */
  needsApproval(tool: ToolFacts): boolean {
    return this.#options.policy.needsApproval(tool);
  }

  /**
   * Lets a call through, or throws. `args` are the arguments as the code sent them (PII
   * placeholders not yet swapped). The view shows the value behind each placeholder whose
   * value the agent wrote (origin `agent`), keeps every other placeholder (and lists it in
   * `hiddenValues`: the agent never saw that value, so neither does the approver; an
   * `upstream` value the code wrote out raw is put back as its placeholder first), then
   * redacts each value with the execution's vault as if the code had written it: a value
   * that is personal data or a secret where it is sent shows as its placeholder, anything
   * else as what the server will get.
   * @returns for a call a person approved just now, what the caller must report once it knows
   *   whether the call was sent to its server (`true`) or stopped before (`false`): the approval
   *   is confirmed as acted on only then (see `RequestOptions.sent`). Call it exactly once.
   * @throws ApprovalError `approval_denied` or `approval_timeout`
   */
  async check(
    tool: GatedTool,
    args: Record<string, unknown>,
    context?: RpcContext,
  ): Promise<SentReport | undefined> {
    const o = this.#options;
    if (!o.policy.needsApproval(tool)) return;
    const vault: ViewVault = o.vault ?? { lookup: () => undefined, originOf: () => undefined };
    // Before the loop: nothing may wait between finding no request in progress and starting
    // one, or concurrent calls to the tool would each ask.
    const viewArgs = this.#decided.has(tool.id) ? args : await hideUpstream(args, vault);
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
    // Each value is redacted before it is rendered (JSON escapes would hide it from the
    // detectors), and the text is bounded whatever the arguments' size.
    const hidden = new Map<string, HiddenValue["why"]>();
    const shown = renderArguments(
      viewArgs,
      (text, key, place) => o.redact(revealForView(text, vault, hidden), key, place),
    );
    const request: NewApprovalRequest = {
      tenant: o.tenant,
      executionId: o.executionId,
      requestId: o.requestId,
      server: tool.server,
      tool: tool.id,
      arguments: shown.text,
      argumentsShortened: shown.shortened,
    };
    if (hidden.size > 0) {
      request.hiddenValues = hiddenList(hidden);
      request.hiddenValuesTotal = hidden.size;
    }
    if (!available) {
      // Nobody can be asked in this execution: recorded once per tool, then the same verdict.
      const outcome = o.broker.recordUnasked(request, "unavailable");
      this.#decided.set(tool.id, outcome);
      return this.#verdict(tool.id, outcome);
    }
    // One execution's waits are bounded in all: while a call waits the sandbox's clock
    // stops, and code that keeps a call waiting must not run on without end.
    const leftMs = this.#waitLeftMs();
    if (leftMs <= 0) {
      const outcome = o.broker.recordUnasked(request, "timeout");
      return this.#verdict(tool.id, outcome, true);
    }
    const timeoutMs = Math.min(o.policy.config.timeoutSeconds * 1000, leftMs);
    const resume = context?.pauseDeadline() ?? (() => {});
    const endWait = this.#startWait();
    let report: SentReport = () => {};
    const sent = new Promise<boolean>((resolve) => report = resolve);
    const pending = o.broker.request(request, {
      timeoutMs,
      maxPending: o.policy.config.maxPending,
      channel: o.channel,
      signal: this.#ended.signal,
      sent,
    });
    this.#asking.set(tool.id, pending);
    let outcome: ApprovalOutcome;
    try {
      outcome = await pending;
    } finally {
      endWait();
      resume();
      if (this.#asking.get(tool.id) === pending) this.#asking.delete(tool.id);
    }
    if (outcome.answer?.scope === "execution") this.#decided.set(tool.id, outcome);
    this.#verdict(tool.id, outcome, timeoutMs < o.policy.config.timeoutSeconds * 1000);
    return outcome.status === "approved" ? report : undefined;
  }

  /** What is left of the execution's waiting time, in ms. */
  #waitLeftMs(): number {
    const running = this.#waiting > 0 ? Date.now() - this.#waitingSince : 0;
    return this.#options.policy.config.executionWaitSeconds * 1000 - this.#waitedMs - running;
  }

  /** Counts a wait (overlapping waits count once); returns its end. */
  #startWait(): () => void {
    if (this.#waiting++ === 0) this.#waitingSince = Date.now();
    let ended = false;
    return () => {
      if (ended) return;
      ended = true;
      if (--this.#waiting === 0) this.#waitedMs += Date.now() - this.#waitingSince;
    };
  }

  /** The execution has ended: its pending requests are withdrawn. */
  close(): void {
    this.#ended.abort();
  }

  /** @param budget whether a timeout came from the execution's waiting budget */
  #verdict(toolId: string, outcome: ApprovalOutcome, budget = false): undefined {
    const reason = outcome.answer?.reason ? `: ${outcome.answer.reason}` : "";
    switch (outcome.status) {
      case "approved":
        return;
      case "denied":
        throw new ApprovalError("approval_denied", `the call to ${toolId} was denied${reason}`);
      case "timeout":
        throw new ApprovalError(
          "approval_timeout",
          budget
            ? `the call to ${toolId} was not approved within this execution's waiting time ` +
              `for approvals (${this.#options.policy.config.executionWaitSeconds} s in all)`
            : `the call to ${toolId} was not approved within ${this.#options.policy.config.timeoutSeconds} s`,
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

/** The parts of a caller {@linkcode approvalGate} reads. */
export interface GateCaller {
  tenant: { id: string; approval?: ApprovalConfig; hasApprovers: boolean };
  requestId: string;
  /** The execution's id, when the gateway drew one (its audit row carries it too). */
  executionId?: string;
  approvals?: ApprovalChannel;
}

/**
 * The gate of one execution, or `undefined` when its tenant's policy asks for nothing (or
 * there is no broker): then calls are not slowed at all.
 *
 * @param redact redacts a text like the execution's output (its vault and PII types), with
 *   the object key it is under as its context (and, for an item of a command's argument
 *   list, its place in that line: see `renderArguments`)
 * @param vault the execution's vault, whose placeholders of values the agent wrote the view
 *   shows through (see `view_values.ts`)
 */
export function approvalGate(
  broker: ApprovalBroker | undefined,
  caller: GateCaller,
  redact: (text: string, key?: string, place?: LinePlace) => string,
  vault?: ViewVault,
): ApprovalGate | undefined {
  const config = caller.tenant.approval;
  if (!broker || !config) return undefined;
  return new ApprovalGate({
    policy: new ApprovalPolicy(config),
    broker,
    tenant: caller.tenant.id,
    hasApprovers: caller.tenant.hasApprovers,
    executionId: caller.executionId ?? crypto.randomUUID(),
    requestId: caller.requestId,
    channel: caller.approvals,
    redact,
    vault,
  });
}
