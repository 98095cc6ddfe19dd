/**
 * The gateway: owns the sandbox and (as they land) upstream connections, tool index,
 * PII vaults, audit and metrics; serves executions to the HTTP and MCP layers.
 *
 * @module
 */

import { Sandbox } from "../sandbox/mod.ts";
import type { Config } from "./config.ts";
import { type Caller, executeCode, type LimitMaxima } from "./execute.ts";
import type { ExecuteRequest, ExecuteResponse } from "./schemas.ts";

/** Options that are not part of the configuration file. */
export interface GatewayOptions {
  /** Override the warm pool size (tests). */
  poolSize?: number;
}

/** The running gateway. */
export class Gateway {
  /** The validated configuration. */
  readonly config: Config;
  /** The code runner. */
  readonly sandbox: Sandbox;
  #started = false;

  constructor(config: Config, options: GatewayOptions = {}) {
    this.config = config;
    const s = config.sandbox;
    this.sandbox = new Sandbox({
      timeoutMs: s.timeoutMs,
      memoryMb: s.memoryMb,
      maxOutputBytes: s.maxOutputBytes,
      maxLogBytes: s.maxLogBytes,
      concurrency: s.concurrency,
      queue: s.queue,
      poolSize: options.poolSize ?? s.poolSize,
      allowNet: s.allowNet,
      allowRead: s.allowRead,
      memoryGuard: s.memoryGuard,
    });
  }

  /** Starts the warm pool. */
  async start(): Promise<void> {
    if (this.#started) return;
    this.#started = true;
    await this.sandbox.start();
  }

  /** The limit maxima that apply to a caller. */
  maximaFor(_tenant: string): LimitMaxima {
    const s = this.config.sandbox;
    return { timeoutMs: s.timeoutMs, memoryMb: s.memoryMb, maxOutputBytes: s.maxOutputBytes };
  }

  /** Runs one execution through the whole pipeline. */
  execute(request: ExecuteRequest, caller: Caller): Promise<ExecuteResponse> {
    return executeCode(
      { config: this.config, sandbox: this.sandbox },
      request,
      caller,
      this.maximaFor(caller.tenant),
    );
  }

  /** Stops everything. */
  async close(): Promise<void> {
    await this.sandbox.close();
  }
}
