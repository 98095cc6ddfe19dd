/**
 * The gateway: configuration, tenants and policy, the execution pipeline, the tool
 * bridge, the HTTP API and the MCP server.
 *
 * @module
 */

export {
  type Config,
  ConfigError,
  configSchema,
  formatIssues,
  loadConfig,
  parseConfig,
  type TenantConfig,
} from "./config.ts";
export { ERROR_STATUS, GatewayError, type GatewayErrorKind } from "./errors.ts";
export { type Caller, type LimitMaxima, resolveLimits } from "./execute.ts";
export { Gateway, type GatewayOptions } from "./gateway.ts";
export { createHttpApp, type HttpExtras } from "./http.ts";
export {
  checkAllowedHost,
  HostGuard,
  type HostPolicy,
  LOOPBACK_HOSTS,
  normalizeOrigin,
  parseAuthority,
} from "./host_guard.ts";
export {
  defaultMaxConnections,
  type FetchApp,
  type HttpServer,
  openFileLimit,
  serveHttp,
  type ServeOptions,
} from "./server.ts";
export { openApiDocument } from "./openapi.ts";
export {
  createMcpServer,
  executeCodeDescription,
  type McpContext,
  McpHttpEndpoint,
  type McpHttpOptions,
  type McpSessionStats,
  type McpTenantSessionStats,
  renderExecution,
} from "./mcp.ts";
export { AuditLog, type AuditRecord, hashCode } from "./audit.ts";
export { BridgeError, ToolBridge, type ToolCallRecord, type ToolSearchHit } from "./bridge.ts";
export { ToolCallError, toolResultValue } from "./tool_result.ts";
export { apiKeyId, globToRegExp, hashApiKey, type Tenant, TenantDirectory } from "./tenants.ts";
export { RateLimiter } from "./rate_limit.ts";
export {
  type ExecuteRequest,
  executeRequestSchema,
  type ExecuteResponse,
  executeResponseSchema,
  toolSearchQuerySchema,
} from "./schemas.ts";
