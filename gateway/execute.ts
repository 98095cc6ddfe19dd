/**
 * The pipeline of one execution: limits → (tools) → sandbox → (redaction) → response.
 *
 * @module
 */

import type { RunResult, Sandbox, SandboxLimits } from "../sandbox/mod.ts";
import type { Config } from "./config.ts";
import { GatewayError } from "./errors.ts";
import type { ExecuteRequest, ExecuteResponse } from "./schemas.ts";

/** Who is asking, as established by the HTTP or MCP layer. */
export interface Caller {
  /** The tenant id, or `"local"` when the gateway runs without `auth`. */
  tenant: string;
  /** A request id for logs and audit. */
  requestId: string;
  /** Stable PII placeholders across executions of this session, when given. */
  sessionId?: string;
  /** Cancels the execution. */
  signal?: AbortSignal;
}

/** The maxima a caller's request limits are checked against. */
export type LimitMaxima = Pick<SandboxLimits, "timeoutMs" | "memoryMb" | "maxOutputBytes">;

/**
 * Merges a request's limits with the defaults, refusing any above the maxima.
 * @throws GatewayError `invalid_request` naming the field
 */
export function resolveLimits(
  requested: ExecuteRequest["limits"],
  defaults: SandboxLimits,
  maxima: LimitMaxima,
): SandboxLimits {
  const limits = { ...defaults };
  for (const key of ["timeoutMs", "memoryMb", "maxOutputBytes"] as const) {
    const value = requested?.[key];
    if (value === undefined) {
      limits[key] = Math.min(limits[key], maxima[key]);
      continue;
    }
    if (value > maxima[key]) {
      throw new GatewayError(
        "invalid_request",
        `limits.${key}: ${value} is above this tenant's maximum of ${maxima[key]}`,
      );
    }
    limits[key] = value;
  }
  return limits;
}

/** What the pipeline needs from the gateway. */
export interface PipelineDeps {
  config: Config;
  sandbox: Sandbox;
}

/** Runs one request through the pipeline and shapes the response. */
export async function executeCode(
  deps: PipelineDeps,
  request: ExecuteRequest,
  caller: Caller,
  maxima: LimitMaxima,
): Promise<ExecuteResponse> {
  const started = performance.now();
  const limits = resolveLimits(request.limits, deps.sandbox.limits, maxima);
  const run: RunResult = await deps.sandbox.run({
    code: request.code,
    limits,
    signal: caller.signal,
  });
  const response: ExecuteResponse = {
    ok: run.ok,
    logs: run.logs,
    tools: { injected: [], calls: [] },
    redactions: {},
    stats: {
      durationMs: round(performance.now() - started),
      sandboxMs: round(run.sandboxMs),
      warm: run.warm,
    },
  };
  if (run.result !== undefined) response.result = run.result;
  if (run.error) response.error = run.error;
  return response;
}

function round(ms: number): number {
  return Math.round(ms * 10) / 10;
}
