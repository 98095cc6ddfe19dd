/**
 * The interfaces over the gateway: the HTTP API (Hono app, OpenAPI document, the Node HTTP
 * server with its connection bounds, the DNS-rebinding guard) and the MCP server (stdio and
 * Streamable HTTP).
 *
 * @module
 */

export { bodyAdmission, createHttpApp, gatewayServeOptions, type HttpExtras } from "./http.ts";
export { HostGuard } from "./host_guard.ts";
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
  DEFAULT_LOG_LEVEL,
  executeCodeDescription,
  LOG_NOTIFICATION_MAX_BYTES,
  LOG_NOTIFICATIONS_PER_EXECUTION,
  type McpContext,
  McpHttpEndpoint,
  type McpHttpOptions,
  type McpSessionStats,
  type McpTenantSessionStats,
  renderExecution,
} from "./mcp.ts";
export { requestIdFrom } from "./request_id.ts";
export { gateMessages, MAX_RESOURCE_URI_CHARS } from "./mcp_gate.ts";
