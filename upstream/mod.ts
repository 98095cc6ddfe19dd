/**
 * Connections to the upstream MCP servers: stdio subprocesses and Streamable HTTP
 * endpoints, the merged tool catalogue, tool calls, health and restarts.
 *
 * ```ts
 * import { UpstreamManager } from "./upstream/mod.ts";
 * const upstream = new UpstreamManager(config.servers, { callTimeoutMs: 30_000 });
 * await upstream.start();
 * upstream.onCatalogueChange((server) => index.update(server, upstream.catalogue()));
 * ```
 *
 * @module
 */

export { UpstreamManager } from "./manager.ts";
export type { CallToolOptions, UpstreamManagerOptions } from "./manager.ts";
export type { ServerState, ServerStatus } from "./connection.ts";
export { UpstreamError } from "./errors.ts";
export type { UpstreamErrorReason } from "./errors.ts";
export { backoffDelay } from "./backoff.ts";
export type { BackoffOptions } from "./backoff.ts";
export { childEnvironment } from "./stdio_transport.ts";
export {
  applyAnnotationOverrides,
  DESCRIPTION_CUT_MARKER,
  MAX_DESCRIPTION_BYTES,
  MAX_SCHEMA_BYTES,
  MAX_TOOL_NAME_CHARS,
  vetTools,
} from "./vet.ts";
export type { ToolWarning, VettedTools } from "./vet.ts";
export { compileOutputSchema, structuredContentProblem } from "./output_schema.ts";
export type {
  HttpServerConfig,
  JsonSchema,
  ServerConfig,
  StdioServerConfig,
  ToolAnnotationOverrides,
  ToolInfo,
} from "./types.ts";
export type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
