/**
 * The gateway: configuration, the execution pipeline, the HTTP API.
 *
 * @module
 */

export { type Config, ConfigError, configSchema, loadConfig, parseConfig } from "./config.ts";
export { ERROR_STATUS, GatewayError, type GatewayErrorKind } from "./errors.ts";
export { type Caller, resolveLimits } from "./execute.ts";
export { Gateway, type GatewayOptions } from "./gateway.ts";
export { createHttpApp } from "./http.ts";
export {
  type ExecuteRequest,
  executeRequestSchema,
  type ExecuteResponse,
  executeResponseSchema,
} from "./schemas.ts";
