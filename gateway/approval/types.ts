/**
 * The shapes of human approval: a pending request as an approver sees it, an answer, and how
 * a request ended.
 *
 * @module
 */

/** What an approval covers: this one call, or every further call to the tool in the execution. */
export type ApprovalScope = "call" | "execution";

/** A tool call waiting for a person's decision, as approvers see it. */
export interface ApprovalRequest {
  /** Opaque id (a random UUID); answer with `POST /v1/approvals/{id}`. */
  id: string;
  /** The tenant whose execution asks; never shown to another tenant. */
  tenant: string;
  /** The execution that made the call (a random UUID per execution). */
  executionId: string;
  /** The request id of that execution (logs, audit). */
  requestId: string;
  /** The config key of the tool's server. */
  server: string;
  /** The tool id, `server.tool_name`. */
  tool: string;
  /**
   * The call's arguments as they will be sent, except for values the agent never saw (those
   * keep their placeholders, listed in `hiddenValues`): each value redacted as if the code had
   * written it, then rendered as JSON text of at most {@linkcode MAX_APPROVAL_ARGUMENT_CHARS} UTF-16 units; long strings show
   * head and tail, long arrays their first items, every cut marked in place with a raw
   * `…[…]…`; invisible characters escaped (see `argument_text.ts`).
   */
  arguments: string;
  /** Whether `arguments` leaves something out (then every cut is marked in it); absent: no. */
  argumentsShortened?: boolean;
  /**
   * Placeholders left in `arguments` for values the approver is not shown (see
   * {@linkcode HiddenValue}; at most 20, in the order met, `hiddenValuesTotal` counts them
   * all): the call sends the values behind them. Absent: every placeholder in `arguments` is
   * one the redaction of the view made (a value that is personal data or a secret where it
   * is sent), none hides a value the agent never saw.
   */
  hiddenValues?: HiddenValue[];
  /** How many distinct hidden values the arguments hold (present with `hiddenValues`). */
  hiddenValuesTotal?: number;
  /** When it was asked, in ms since the epoch. */
  requestedAt: number;
  /** When it is denied for want of a decision (`approval_timeout`), in ms since the epoch. */
  expiresAt: number;
}

/** A value an approver is not shown, in place of which the view has its placeholder. */
export interface HiddenValue {
  /** The placeholder shown, e.g. `[SSN_1_kqzmtwa]`; the call sends the value behind it. */
  placeholder: string;
  /**
   * Why it is hidden: `upstream` (the agent only ever saw the placeholder: the value is not
   * in any code the agent sent, so it came from a tool's result or other data, or the code
   * computed it), `unknown` (the placeholder no longer resolves in the session's vault).
   */
  why: "upstream" | "unknown";
}

/** Longest argument text an approver is shown, in UTF-16 units. */
export const MAX_APPROVAL_ARGUMENT_CHARS = 4000;
/**
 * Longest reason kept with a decision, in UTF-16 units, once masked; longer ones are cut where
 * no mask is split, and the cut is marked (` … [truncated]`).
 */
export const MAX_APPROVAL_REASON_CHARS = 500;

/** A person's answer. */
export interface ApprovalAnswer {
  /** Whether the call may run. */
  approve: boolean;
  /** Why, in the approver's words; the code sees it when the call is denied. */
  reason?: string;
  /** Default `call`. */
  scope?: ApprovalScope;
  /**
   * Who decided: `key:sha256:<16 hex>` (a fingerprint of the approver's API key),
   * `local` (no auth), `mcp-client:` and one of those two (MCP elicitation, the MCP session's
   * key), or `airlock` (the gateway denied: the request could not be registered).
   */
  decidedBy: string;
}

/**
 * How a request ended: `approved` / `denied` (a person answered), `timeout` (nobody did in
 * time), `withdrawn` (the execution ended first: cancelled, timed out, finished),
 * `unavailable` (nobody could be asked; `onUnavailable` decided), `over_capacity` (the
 * tenant had too many pending approvals; denied without asking).
 */
export type ApprovalStatus =
  | "approved"
  | "denied"
  | "timeout"
  | "withdrawn"
  | "unavailable"
  | "over_capacity";

/** The end of one request. */
export interface ApprovalOutcome {
  status: ApprovalStatus;
  /**
   * The answer, for `approved` and `denied` by a person; the gateway's (`decidedBy:
   * "airlock"`, with its reason) for a denial it made or a dead replica's request withdrawn.
   */
  answer?: ApprovalAnswer;
  /** When it ended, in ms since the epoch. */
  decidedAt: number;
}

/**
 * An answer given through a replica that does not hold the call, whose fate is not known yet:
 * the holder took it but has not confirmed acting on it (`taken`), or the answering replica
 * cannot tell whether it was taken (`unknown`: Redis did not answer). Answering again (or the
 * audit) tells later: `409` with what the holder acted on, once it confirmed.
 */
export interface UnconfirmedAnswer {
  status: "unconfirmed";
  /** The decision given. */
  decision: "approved" | "denied";
  /** What is known of it. */
  taken: "taken" | "unknown";
  answer: ApprovalAnswer;
  /** When it was offered to the holder, ms since the epoch. */
  offeredAt: number;
}

/**
 * How a transport reaches a person for one execution. `ask` announces a pending request; it
 * may resolve with an answer (MCP elicitation), or with nothing when the answer comes another
 * way (`POST /v1/approvals/{id}`). `signal` aborts once the request has ended.
 */
export interface ApprovalChannel {
  /**
   * Whether `ask` itself gets answers (MCP elicitation). A channel that does not relies on
   * the tenant's approver keys answering over HTTP.
   */
  answersItself: boolean;
  /**
   * Who answers on this channel, as the audit records it (`decidedBy` of its answers and of
   * the denial when asking fails), e.g. `mcp-client:key:sha256:<16 hex>`.
   */
  approver?: string;
  /** Announces a request (an SSE event, an elicitation). Errors are the channel's failure. */
  ask?(request: ApprovalRequest, signal: AbortSignal): Promise<ApprovalAnswer | void> | void;
}
