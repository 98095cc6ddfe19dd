/**
 * Human approval of tool calls: a tenant's policy says which calls wait for a person; the
 * bridge asks an execution's {@linkcode ApprovalGate} before such a call; the gate asks the
 * gateway's {@linkcode ApprovalBroker}, which keeps the pending request in an
 * {@linkcode ApprovalStore}, announces it on the caller's {@linkcode ApprovalChannel} (an SSE
 * event, an MCP elicitation) and settles it once: answered, timed out or withdrawn.
 *
 * @module
 */

export {
  type ApprovalAnswer,
  type ApprovalChannel,
  type ApprovalOutcome,
  type ApprovalRequest,
  type ApprovalScope,
  type ApprovalStatus,
  type HiddenValue,
  MAX_APPROVAL_ARGUMENT_CHARS,
  MAX_APPROVAL_REASON_CHARS,
  type UnconfirmedAnswer,
} from "./types.ts";
export { ApprovalPolicy, isHarmless, type ToolFacts } from "./policy.ts";
export {
  type ActedApproval,
  type ActedStatus,
  type ApprovalAsk,
  type ApprovalOffer,
  type ApprovalStore,
  MemoryApprovalStore,
  type MemoryApprovalStoreOptions,
  type SettledApproval,
  type SettlementNotice,
  type UnsettledReason,
} from "./store.ts";
export {
  ApprovalBroker,
  type ApprovalBrokerOptions,
  type ApprovalEvent,
  type ApprovalStanding,
  type NewApprovalRequest,
  type ReplyOutcome,
} from "./broker.ts";
export {
  ApprovalError,
  ApprovalGate,
  approvalGate,
  type ApprovalGateOptions,
  type GateCaller,
  type SentReport,
} from "./gate.ts";
export {
  type ArgumentText,
  argumentText,
  escapeInvisible,
  MAX_SHOWN_DEPTH,
  MAX_VISITED_NODES,
  renderArguments,
} from "./argument_text.ts";
export { approverFingerprint } from "./fingerprint.ts";
export {
  hiddenList,
  hideUpstream,
  MAX_HIDDEN_LISTED,
  revealForView,
  type ViewVault,
} from "./view_values.ts";
