/**
 * The gateway: configuration, tenants and policy, the execution pipeline and the tool
 * bridge. The interfaces over it (HTTP, MCP) are in `api/`; audit and metrics in
 * `observability/`.
 *
 * @module
 */

export {
  type ApprovalAnswer,
  type ApprovalAsk,
  ApprovalBroker,
  type ApprovalChannel,
  type ApprovalOutcome,
  ApprovalPolicy,
  type ApprovalRequest,
  type ApprovalScope,
  type ApprovalStatus,
  type ApprovalStore,
  approverFingerprint,
  escapeInvisible,
  MAX_APPROVAL_ARGUMENT_CHARS,
  MAX_APPROVAL_REASON_CHARS,
  MemoryApprovalStore,
  type ReplyOutcome,
} from "./approval/mod.ts";
export {
  type ApprovalConfig,
  type Config,
  ConfigError,
  configSchema,
  formatIssues,
  loadConfig,
  parseConfig,
  type TenantConfig,
} from "./config.ts";
export {
  ERROR_STATUS,
  GatewayError,
  type GatewayErrorKind,
  MAX_ERROR_MESSAGE_CHARS,
  safeErrorMessage,
} from "./errors.ts";
export {
  type Caller,
  ExecutionFailure,
  type LimitMaxima,
  redactionOptions,
  resolveLimits,
} from "./execute.ts";
export { Gateway, type GatewayOptions } from "./gateway.ts";
export { closeOutcome, type CloseReport, Shutdown } from "./shutdown.ts";
export { COMMON_TYPES_FILE, type TypeNamespace } from "./type_files.ts";
export {
  checkAllowedHost,
  type HostPolicy,
  LOOPBACK_HOSTS,
  normalizeOrigin,
  parseAuthority,
} from "./hosts.ts";
export {
  BridgeError,
  type BridgeErrorKind,
  MAX_SEARCHES_PER_EXECUTION,
  ToolBridge,
  type ToolCallRecord,
  type ToolSearchHit,
} from "./bridge.ts";
export { ToolCallError, toolResultValue } from "./tool_result.ts";
export {
  apiKeyId,
  type Approver,
  globToRegExp,
  hashApiKey,
  type Tenant,
  TenantDirectory,
} from "./tenants.ts";
export { RateLimiter } from "./rate_limit.ts";
export {
  diagnosticSchema,
  errorBodySchema,
  type ExecuteRequest,
  executeRequestSchema,
  type ExecuteResponse,
  executeResponseSchema,
  MAX_CODE_CHARS,
  toolEntrySchema,
  toolSearchQuerySchema,
  toolSearchResultSchema,
} from "./schemas.ts";
/** Shared MCP session records (Redis), for the MCP server in `api/`. */
export type { McpSessionRecord, SharedMcpSessions } from "../state/mod.ts";
