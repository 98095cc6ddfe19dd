/**
 * The gateway side of the tool-call bridge. It serves exactly one execution: it knows
 * which tools this caller may use, validates arguments against each tool's
 * `inputSchema`, caps the number of calls and the calls in flight per server, swaps PII
 * placeholders for their real values, calls the upstream server and records every call
 * with its duration and outcome. The sandbox side is `__airlock.rpc` in the harness.
 *
 * @module
 */

import { Ajv, type ValidateFunction } from "ajv";
import type { NameMap } from "../wrappers/mod.ts";
import type { ToolInfo } from "../upstream/mod.ts";
import type { CallToolResult } from "../upstream/mod.ts";
import { toolResultValue } from "./tool_result.ts";

/** One tool call as reported to the caller and the audit log. */
export interface ToolCallRecord {
  /** The tool id. */
  tool: string;
  /** Duration in ms. */
  ms: number;
  /** Whether it succeeded. */
  ok: boolean;
  /** Why it failed, when it did. */
  error?: string;
}

/** A result of `tools.search` inside the sandbox. */
export interface ToolSearchHit {
  id: string;
  score: number;
  description: string;
  signature: string;
}

/** What a bridge needs. */
export interface BridgeOptions {
  /** Looks a tool up by id among the available tools. */
  tool(id: string): ToolInfo | undefined;
  /** The naming of the catalogue (for `ns.fn()` calls the prelude did not wrap). */
  names: NameMap;
  /** Whether this execution may call the tool (tenant policy, narrowed by the request). */
  allowed(id: string): boolean;
  /** Why a configured server is not available now, or `undefined` when it is (or unknown). */
  serverDown?(server: string): string | undefined;
  /** Calls the upstream server. */
  callTool(
    server: string,
    name: string,
    args: Record<string, unknown>,
    signal: AbortSignal,
  ): Promise<CallToolResult>;
  /** Searches the catalogue for `tools.search`. */
  search?(query: string, k: number): Promise<ToolSearchHit[]>;
  /** Replaces PII placeholders in arguments with the values they stand for. */
  restorePii?(args: Record<string, unknown>): Record<string, unknown>;
  /** Most calls in one execution. */
  maxCalls: number;
  /** Most calls in flight to one server. */
  maxConcurrentPerServer: number;
}

/** A refusal or failure the code sees as a `ToolError`. */
export class BridgeError extends Error {
  readonly kind: "tool" | "permission";
  constructor(message: string, kind: "tool" | "permission" = "tool") {
    super(message);
    this.name = "BridgeError";
    this.kind = kind;
  }
}

const ajv = new Ajv({ allErrors: false, strict: false, validateFormats: false });
const validators = new WeakMap<object, ValidateFunction | null>();

function validatorFor(schema: Record<string, unknown>): ValidateFunction | null {
  if (!validators.has(schema)) {
    let validate: ValidateFunction | null = null;
    try {
      validate = ajv.compile(schema);
    } catch {
      // A schema Ajv cannot compile is the server's problem; the server validates anyway.
    }
    validators.set(schema, validate);
  }
  return validators.get(schema)!;
}

/** Serves the RPCs of one execution. */
export class ToolBridge {
  /** Every call made, in order of completion, including failed and refused ones. */
  readonly calls: ToolCallRecord[] = [];
  #options: BridgeOptions;
  #started = 0;
  #inFlight = new Map<string, number>();
  #waiting = new Map<string, Array<() => void>>();
  #abort = new AbortController();

  constructor(options: BridgeOptions) {
    this.#options = options;
  }

  /** The RPC handler to give the sandbox. */
  readonly handle = (method: string, params: unknown): Promise<unknown> => {
    const p = (params ?? {}) as Record<string, unknown>;
    switch (method) {
      case "tools/call":
        return this.#call(String(p.tool ?? ""), p.args);
      case "tools/callByName": {
        const server = String(p.server ?? "");
        const name = String(p.name ?? "");
        const id = this.#options.names.toolIdByServer(server, name);
        const down = id ? undefined : this.#options.serverDown?.(server);
        if (down) {
          return Promise.reject(new BridgeError(`${server}.${name} is unavailable: ${down}`));
        }
        if (!id) {
          return Promise.reject(
            new BridgeError(`there is no tool ${server}.${name}; use tools.search() to find one`),
          );
        }
        return this.#call(id, p.args);
      }
      case "tools/search":
        return this.#search(p.query, p.k);
      default:
        return Promise.reject(new BridgeError(`unknown method ${method}`));
    }
  };

  /** Cancels calls still in flight (the execution ended). */
  close(): void {
    this.#abort.abort(new Error("the execution ended"));
  }

  async #search(query: unknown, k: unknown): Promise<ToolSearchHit[]> {
    if (typeof query !== "string" || query.trim() === "") {
      throw new BridgeError("tools.search needs a query string");
    }
    const count = k === undefined ? 10 : Number(k);
    if (!Number.isInteger(count) || count < 1 || count > 100) {
      throw new BridgeError("tools.search: k must be an integer from 1 to 100");
    }
    if (!this.#options.search) return [];
    const hits = await this.#options.search(query, count * 3);
    return hits.filter((h) => this.#options.allowed(h.id)).slice(0, count);
  }

  async #call(id: string, rawArgs: unknown): Promise<unknown> {
    const started = performance.now();
    const finish = (ok: boolean, error?: string) => {
      const record: ToolCallRecord = { tool: id, ms: round(performance.now() - started), ok };
      if (error) record.error = error;
      this.calls.push(record);
    };
    const tool = this.#options.tool(id);
    const down = tool ? undefined : this.#options.serverDown?.(id.slice(0, id.indexOf(".")));
    if (down && this.#options.allowed(id)) {
      // A known server that is down: say so, so the code can retry or carry on.
      const message = `tool ${id} is unavailable: ${down}`;
      finish(false, message);
      throw new BridgeError(message);
    }
    if (!tool || !this.#options.allowed(id)) {
      // Unknown and forbidden look alike, so the code cannot probe what exists.
      const message = `tool ${id} is not available to this execution`;
      finish(false, message);
      throw new BridgeError(message, "permission");
    }
    if (++this.#started > this.#options.maxCalls) {
      const message = `this execution reached its limit of ${this.#options.maxCalls} tool calls`;
      finish(false, message);
      throw new BridgeError(message);
    }
    const args = rawArgs === undefined ? {} : rawArgs;
    if (typeof args !== "object" || args === null || Array.isArray(args)) {
      const message = `${id}: arguments must be an object`;
      finish(false, message);
      throw new BridgeError(message);
    }
    const validate = validatorFor(tool.inputSchema);
    if (validate && !validate(args)) {
      const message = `${id}: invalid arguments: ${describeAjvError(validate)}`;
      finish(false, message);
      throw new BridgeError(message);
    }
    const release = await this.#slot(tool.server);
    try {
      const realArgs = this.#options.restorePii?.(args as Record<string, unknown>) ??
        args as Record<string, unknown>;
      const result = await this.#options.callTool(
        tool.server,
        tool.name,
        realArgs,
        this.#abort.signal,
      );
      const value = toolResultValue(result);
      finish(true);
      return value;
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      finish(false, message);
      throw error;
    } finally {
      release();
    }
  }

  /** Waits for a free slot of `server` within this execution. */
  async #slot(server: string): Promise<() => void> {
    const max = this.#options.maxConcurrentPerServer;
    if ((this.#inFlight.get(server) ?? 0) >= max) {
      await new Promise<void>((resolve) => {
        const line = this.#waiting.get(server) ?? [];
        line.push(resolve);
        this.#waiting.set(server, line);
      });
    } else {
      this.#inFlight.set(server, (this.#inFlight.get(server) ?? 0) + 1);
    }
    return () => {
      const next = this.#waiting.get(server)?.shift();
      if (next) next(); // the slot passes straight on
      else this.#inFlight.set(server, (this.#inFlight.get(server) ?? 1) - 1);
    };
  }
}

function describeAjvError(validate: ValidateFunction): string {
  const error = validate.errors?.[0];
  if (!error) return "they do not match the tool's input schema";
  const path = error.instancePath.replace(/^\//, "").replace(/\//g, ".");
  if (error.keyword === "required") {
    const missing = (error.params as { missingProperty?: string }).missingProperty;
    return `${path ? path + "." : ""}${missing} is required`;
  }
  if (error.keyword === "additionalProperties") {
    const extra = (error.params as { additionalProperty?: string }).additionalProperty;
    return `${path ? path + "." : ""}${extra} is not a known argument`;
  }
  return `${path || "(arguments)"} ${error.message ?? "is invalid"}`;
}

function round(ms: number): number {
  return Math.round(ms * 100) / 100;
}
