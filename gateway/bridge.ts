/**
 * The gateway side of the tool-call bridge. It serves exactly one execution: it knows
 * which tools this caller may use, validates arguments against each tool's
 * `inputSchema`, caps the number of calls and the calls in flight per server, swaps PII
 * placeholders for their real values, calls the upstream server and records every call
 * with its duration and outcome. The sandbox side is `__airlock.rpc` in the harness.
 *
 * @module
 */

import type { ValidateFunction } from "ajv";
import { dropPartialToken, type RpcContext } from "../sandbox/mod.ts";
import type { NameMap } from "../wrappers/mod.ts";
import type { ToolInfo } from "../upstream/mod.ts";
import { type CallToolResult, compileOutputSchema } from "../upstream/mod.ts";
import type { CallSpeculation, ServedFrom } from "./speculation/mod.ts";
import { toolCallValue } from "./tool_result.ts";

/**
 * How a call ended: `ok`; `error` (the tool or its server failed it); `refused` (the bridge
 * refused it: not allowed, unknown, bad arguments, over a limit; it never reached a server);
 * `cancelled` (still in flight or waiting when the execution ended: one in flight the gateway
 * cancelled at the server with `notifications/cancelled`, and the server may or may not have
 * acted; one not sent yet, waiting for approval or a slot, never reached its server, and its
 * `error` says so).
 */
export type ToolCallOutcome = "ok" | "error" | "refused" | "cancelled";

/** One tool call as reported to the caller and the audit log. */
export interface ToolCallRecord {
  /**
   * The tool id. An id the code made up (not in the catalogue) is cut to
   * {@linkcode MAX_RECORDED_ID_CHARS} characters; the gateway redacts it before it is shown
   * or stored.
   */
  tool: string;
  /** Duration in ms. */
  ms: number;
  /** Whether it succeeded. */
  ok: boolean;
  /** How it ended. */
  outcome: ToolCallOutcome;
  /** Why it failed, when it did. */
  error?: string;
  /**
   * Set when the call succeeded but its result broke the tool's `outputSchema` (missing or
   * non-matching structured content), so the code got the text content instead.
   */
  warning?: string;
  /** Served from a result started before the code asked for it (speculation). */
  prefetched?: true;
  /** Served from the session read cache (speculation). */
  cached?: true;
}

/** Longest tool id accepted from the code, in UTF-16 units; longer ids are refused. */
export const MAX_TOOL_ID_CHARS = 256;
/**
 * Distinct PII values one execution may have restored from placeholders into tool calls;
 * every tool result is searched for each of them, so the number is bounded.
 */
export const MAX_RELEASED_VALUES = 256;

/** The `tool` of the one record that counts every attempt past `maxCalls`. */
export const OVER_LIMIT_ID = "(over the call limit)";
/** Longest made-up id kept in a call record, in UTF-16 units. */
export const MAX_RECORDED_ID_CHARS = 128;
/** Longest `tools.search` query, in UTF-16 units: the same as `GET /v1/tools/search`'s `q`. */
export const MAX_SEARCH_QUERY_CHARS = 2000;
/**
 * Most `tools.search` calls one execution may make. Each is ranked (and its query embedded)
 * by the gateway; they run one at a time, each on a turn of the event loop of its own.
 */
export const MAX_SEARCHES_PER_EXECUTION = 256;

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
  /**
   * Searches the catalogue for `tools.search`: the best `k` tools that `allowed` admits.
   * Absent: there is nothing this execution may use, and every search finds nothing.
   */
  search?(query: string, k: number, allowed: (id: string) => boolean): Promise<ToolSearchHit[]>;
  /**
   * Replaces PII placeholders in arguments with the values they stand for, recording each
   * value put in (value → placeholder) in `used`.
   */
  restorePii?(args: Record<string, unknown>, used: Map<string, string>): Record<string, unknown>;
  /**
   * Puts the placeholders back where a result (or an error text) repeats a value restored
   * for its call, so the code never sees what a placeholder hides.
   */
  retokenize?(
    value: unknown,
    used: ReadonlyMap<string, string>,
    sliceMs?: number,
    signal?: AbortSignal,
  ): unknown | Promise<unknown>;
  /**
   * Speculation: may serve a read-only call from a prefetch or the session cache, and is told
   * of every call that passed the checks (writes included). Without it every call goes upstream.
   */
  speculation?: CallSpeculation;
  /**
   * Asked before a call reaches its server, with the arguments as the code sent them (PII
   * placeholders not swapped: the gate decides which it may show, see
   * `gateway/approval/view_values.ts`): resolves to let it through, or rejects with an error
   * whose `kind` (`approval_denied`, `approval_timeout`) the code's `ToolError` gets.
   * May wait for a person (see `gateway/approval/`). May resolve to a report, which the bridge
   * calls once: `true` right before the call is handed to its server (or served), `false` when
   * it is stopped before (the execution ended while it waited for a slot, or it failed first).
   */
  approve?(
    tool: ToolInfo,
    args: Record<string, unknown>,
    context?: RpcContext,
  ): Promise<void | ((sent: boolean) => void)>;
  /** Most calls in one execution. */
  maxCalls: number;
  /** Most calls in flight to one server. */
  maxConcurrentPerServer: number;
}

/** The `kind` of a `ToolError` the bridge causes. */
export type BridgeErrorKind = "tool" | "permission" | "approval_denied" | "approval_timeout";

/** A refusal or failure the code sees as a `ToolError`. */
export class BridgeError extends Error {
  readonly kind: BridgeErrorKind;
  constructor(message: string, kind: BridgeErrorKind = "tool") {
    super(message);
    this.name = "BridgeError";
    this.kind = kind;
  }
}

/**
 * The argument validator of an input schema: compiled once per schema object and shared by
 * schemas with the same JSON text, with nothing left in Ajv's own cache (the upstream layer's
 * compiler, which also serves output schemas). A schema Ajv cannot compile gets no validator:
 * that is the server's problem, and the server validates anyway.
 */
function validatorFor(schema: Record<string, unknown>): ValidateFunction | null {
  const compiled = compileOutputSchema(schema);
  return typeof compiled === "function" ? compiled : null;
}

/** A call between its start and its record. */
interface PendingCall {
  tool: string;
  started: number;
  /** Whether it was handed to its server (or served without it): a cancel may then have come late. */
  sent?: boolean;
}

/** The error of a call the execution's end stopped before it was sent. */
export const NOT_SENT_ERROR =
  "the execution ended before the call was sent: it never reached its server";

/** Serves the RPCs of one execution. */
export class ToolBridge {
  /**
   * Every call attempt, in order of completion: successful, failed, refused, and (after
   * {@linkcode close}) those still in flight, as `cancelled`.
   */
  readonly calls: ToolCallRecord[] = [];
  #options: BridgeOptions;
  /** Values restored from placeholders in this execution's calls: value → placeholder. */
  #released = new Map<string, string>();
  #attempts = 0;
  /** Prefetches started for this execution that no call of the code has taken yet. */
  #unclaimed = 0;
  #overLimitRecord: { record: ToolCallRecord; count: number } | undefined;
  #closed = false;
  #pending = new Set<PendingCall>();
  #inFlight = new Map<string, number>();
  #waiting = new Map<string, Array<() => void>>();
  #abort = new AbortController();
  #searches = 0;
  /** The search before the next one: searches run one at a time. */
  #lastSearch: Promise<unknown> = Promise.resolve();

  constructor(options: BridgeOptions) {
    this.#options = options;
  }

  /** The RPC handler to give the sandbox. */
  readonly handle = (method: string, params: unknown, context?: RpcContext): Promise<unknown> => {
    const p = (params ?? {}) as Record<string, unknown>;
    switch (method) {
      case "tools/call":
        return this.#call(p.tool, p.args, context);
      case "tools/callByName": {
        const server = typeof p.server === "string" ? p.server : "";
        const name = typeof p.name === "string" ? p.name : "";
        const id = this.#options.names.toolIdByServer(server, name);
        if (id) return this.#call(id, p.args, context);
        // Not a tool: still an attempt, counted and recorded like any other.
        const shown = `${server}.${name}`;
        return this.#refuse(shown, (safeId) => {
          const down = this.#options.serverDown?.(server);
          return down
            ? `${safeId} is unavailable: ${down}`
            : `there is no tool ${safeId}; use tools.search() to find one`;
        });
      }
      case "tools/search":
        return this.#search(p.query, p.k);
      default:
        return Promise.reject(new BridgeError(`unknown method ${method}`));
    }
  };

  /**
   * Ends the execution's calls: every call still in flight or waiting for a slot is
   * recorded as `cancelled` now (so the response and the audit hold it), and the upstream
   * requests are aborted, which makes the MCP client send `notifications/cancelled`. Calls
   * attempted after this are refused and never reach a server.
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const call of this.#pending) {
      this.#record(
        call,
        "cancelled",
        call.sent ? "the execution ended before the call finished" : NOT_SENT_ERROR,
      );
    }
    this.#pending.clear();
    this.#abort.abort(new Error("the execution ended"));
    for (const line of this.#waiting.values()) for (const wake of line) wake();
    this.#waiting.clear();
  }

  /**
   * Takes one call of `maxCalls` for a prefetch (speculation): true while the code's calls
   * plus the prefetches it has not taken stay below the limit. The code's own calls are
   * counted as before (one served from a prefetch counts once), so speculation never makes a
   * call of the code be refused.
   */
  takePrefetch(): boolean {
    if (this.#closed || this.#attempts + this.#unclaimed >= this.#options.maxCalls) return false;
    this.#unclaimed++;
    return true;
  }

  /**
   * Runs `call` (a prefetch) in a slot of `server`, shared with the code's calls
   * (`maxConcurrentPerServer`).
   * @throws BridgeError when the execution ended (or `signal` aborted) before a slot was free
   */
  async withSlot<T>(server: string, signal: AbortSignal, call: () => Promise<T>): Promise<T> {
    if (this.#closed) throw new BridgeError("the execution has ended");
    const release = await this.#slot(server);
    try {
      if (this.#closed || signal.aborted) throw new BridgeError("the execution has ended");
      return await call();
    } finally {
      release();
    }
  }

  async #search(query: unknown, k: unknown): Promise<ToolSearchHit[]> {
    if (typeof query !== "string" || query.trim() === "") {
      throw new BridgeError("tools.search needs a query string");
    }
    if (query.length > MAX_SEARCH_QUERY_CHARS) {
      throw new BridgeError(
        `tools.search: the query is longer than ${MAX_SEARCH_QUERY_CHARS} characters`,
      );
    }
    const count = k === undefined ? 10 : Number(k);
    if (!Number.isInteger(count) || count < 1 || count > 100) {
      throw new BridgeError("tools.search: k must be an integer from 1 to 100");
    }
    if (this.#closed) throw new BridgeError("the execution has ended");
    if (++this.#searches > MAX_SEARCHES_PER_EXECUTION) {
      throw new BridgeError(
        `tools.search: at most ${MAX_SEARCHES_PER_EXECUTION} searches per execution`,
      );
    }
    const search = this.#options.search;
    if (!search) return [];
    // One at a time, each on a turn of the event loop of its own, and none once the execution
    // has ended: a burst of searches fired without awaiting held the loop every tenant shares
    // for seconds (256 per turn, each ranked and rendered), and kept the gateway busy long
    // after the answer.
    const run = this.#lastSearch.then(() => new Promise((r) => setTimeout(r, 0))).then(() => {
      if (this.#closed) throw new BridgeError("the execution has ended");
      return search(query, count, this.#options.allowed);
    });
    this.#lastSearch = run.catch(() => {});
    return await run;
  }

  /** Records a finished call once (a call cancelled by `close` is not recorded again). */
  #record(
    call: PendingCall,
    outcome: ToolCallOutcome,
    error?: string,
    warning?: string,
    served?: ServedFrom,
  ): void {
    if (!this.#pending.delete(call) && outcome !== "refused" && this.#closed) return;
    const record: ToolCallRecord = {
      tool: call.tool,
      ms: round(performance.now() - call.started),
      ok: outcome === "ok",
      outcome,
    };
    // Upstream error texts can be megabytes (a path argument echoed back); they are shown,
    // redacted and stored, so they are cut first, on a word boundary.
    if (error) {
      record.error = error.length > MAX_CALL_ERROR_CHARS
        ? `${cutText(error, MAX_CALL_ERROR_CHARS)}… [truncated]`
        : error;
    }
    if (warning) record.warning = cutText(warning, MAX_CALL_ERROR_CHARS);
    if (served) record[served] = true;
    this.calls.push(record);
  }

  /**
   * Refuses a call to something that is not an available tool: counted against
   * `maxCalls` like any attempt and recorded with the id cut to
   * {@linkcode MAX_RECORDED_ID_CHARS}. `message` gets that cut id, never the raw one.
   */
  #refuse(rawId: string, message: (safeId: string) => string, kind?: "permission"): Promise<never> {
    const safeId = cutId(rawId);
    const call = { tool: safeId, started: performance.now() };
    if (++this.#attempts > this.#options.maxCalls) {
      // Past the limit, attempts are counted in one record instead of one record each, so
      // a loop of refused calls cannot grow the response, the audit or the metrics.
      const text = this.#overLimit();
      if (this.#overLimitRecord) {
        this.#overLimitRecord.count++;
        this.#overLimitRecord.record.error = `${text} (${this.#overLimitRecord.count} attempts)`;
      } else {
        this.#record({ tool: OVER_LIMIT_ID, started: call.started }, "refused", text);
        this.#overLimitRecord = { record: this.calls[this.calls.length - 1], count: 1 };
      }
      return Promise.reject(new BridgeError(text));
    }
    const text = this.#closed ? "the execution has ended" : message(safeId);
    this.#record(call, "refused", text);
    return Promise.reject(new BridgeError(text, kind));
  }

  #overLimit(): string {
    return `this execution reached its limit of ${this.#options.maxCalls} tool calls`;
  }

  async #call(rawId: unknown, rawArgs: unknown, context?: RpcContext): Promise<unknown> {
    const id = typeof rawId === "string" ? rawId : "";
    if (id.length === 0 || id.length > MAX_TOOL_ID_CHARS) {
      return this.#refuse(
        id,
        () => `a tool id is a string of 1 to ${MAX_TOOL_ID_CHARS} characters`,
        "permission",
      );
    }
    const tool = this.#options.tool(id);
    const allowed = this.#options.allowed(id);
    if (!tool || !allowed) {
      const down = !tool && allowed
        ? this.#options.serverDown?.(id.slice(0, Math.max(0, id.indexOf("."))))
        : undefined;
      // A known server that is down: say so, so the code can retry or carry on. Unknown
      // and forbidden look alike, so the code cannot probe what exists.
      return down
        ? this.#refuse(id, (safeId) => `tool ${safeId} is unavailable: ${down}`)
        : this.#refuse(
          id,
          (safeId) => `tool ${safeId} is not available to this execution`,
          "permission",
        );
    }
    if (this.#attempts + 1 > this.#options.maxCalls || this.#closed) {
      return this.#refuse(id, () => "the execution has ended");
    }
    this.#attempts++;
    const call: PendingCall = { tool: id, started: performance.now() };
    const args = rawArgs === undefined ? {} : rawArgs;
    if (typeof args !== "object" || args === null || Array.isArray(args)) {
      const message = `${id}: arguments must be an object`;
      this.#record(call, "refused", message);
      throw new BridgeError(message);
    }
    const validate = validatorFor(tool.inputSchema);
    if (validate && !validate(args)) {
      const message = `${id}: invalid arguments: ${describeAjvError(validate)}`;
      this.#record(call, "refused", message);
      throw new BridgeError(message);
    }
    // Placeholders become their values here, before the call waits or reaches the server:
    // a call whose restored arguments are too large is refused like one with bad arguments.
    const used = new Map<string, string>();
    let realArgs = args as Record<string, unknown>;
    try {
      realArgs = this.#options.restorePii?.(realArgs, used) ?? realArgs;
    } catch (error) {
      const message = `${id}: ${error instanceof Error ? error.message : String(error)}`;
      this.#record(call, "refused", message);
      throw new BridgeError(message);
    }
    for (const [value, placeholder] of used) {
      if (this.#released.has(value)) continue;
      if (this.#released.size >= MAX_RELEASED_VALUES) {
        const message = `${id}: one execution may restore at most ${MAX_RELEASED_VALUES} ` +
          "distinct placeholders";
        this.#record(call, "refused", message);
        throw new BridgeError(message);
      }
      this.#released.set(value, placeholder);
    }
    this.#pending.add(call);
    // Approval comes first: a call that waits for a person is not served, cached or sent
    // before the decision. The gate gets the call as the code sent it and shows through the
    // placeholders of values the agent wrote (one minted from its own output and put in a
    // path showed only `[SECRET_1_…]` while the real path was written, red team i2), never
    // those of values it only saw as placeholders (restored, `"x" + ph + "1"` showed an
    // SSN the agent never saw, red team j1).
    let report: ((sent: boolean) => void) | undefined;
    if (this.#options.approve) {
      try {
        report = await this.#options.approve(tool, args as Record<string, unknown>, context) ??
          undefined;
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        const kind = (error as { kind?: BridgeErrorKind }).kind ?? "tool";
        // Still pending unless the execution ended meanwhile (then it is recorded cancelled).
        if (this.#pending.has(call)) this.#record(call, "refused", message);
        throw new BridgeError(message, kind);
      }
    }
    // Whatever happens from here, an approved call's fate is told once (see `approve`).
    try {
      return await this.#send(tool, call, args as Record<string, unknown>, realArgs, report);
    } finally {
      report?.(false);
    }
  }

  /**
   * A checked (and, if it needed it, approved) call, from its slot to its record. `report` is
   * told `true` right before the call is handed to its server (or served).
   */
  async #send(
    tool: ToolInfo,
    call: PendingCall,
    args: Record<string, unknown>,
    realArgs: Record<string, unknown>,
    report: ((sent: boolean) => void) | undefined,
  ): Promise<unknown> {
    // Speculation sees the call as it goes upstream; a served one needs no slot.
    const spec = this.#options.speculation?.start(tool, args, realArgs);
    const served = await spec?.served();
    if (served?.from === "prefetched") this.#unclaimed = Math.max(0, this.#unclaimed - 1);
    const release = served ? () => {} : await this.#slot(tool.server);
    let delivered = false;
    let delivery: unknown;
    try {
      if (this.#closed) throw new BridgeError("the execution has ended");
      call.sent = true;
      report?.(true);
      // Every value restored in this execution is hidden again in what comes back, whichever
      // call returns it (a tool that stores a value and another that reads it back).
      // Nothing of it is done for an execution that has ended: nobody will see the result.
      const hide = async <T>(v: T): Promise<T> => {
        if (this.#closed) throw new BridgeError("the execution has ended");
        return this.#released.size > 0 && this.#options.retokenize
          ? await this.#options.retokenize(v, this.#released, 4, this.#abort.signal) as T
          : v;
      };
      let result: CallToolResult;
      try {
        result = served?.result ??
          await this.#options.callTool(tool.server, tool.name, realArgs, this.#abort.signal);
      } catch (error) {
        throw error instanceof Error ? rewrapError(error, await hide(error.message)) : error;
      }
      if (!served) spec?.fetched(result);
      if (this.#closed) throw new BridgeError("the execution has ended");
      let outcome: ReturnType<typeof toolCallValue>;
      try {
        outcome = toolCallValue(result, tool);
      } catch (error) {
        throw error instanceof Error ? rewrapError(error, await hide(error.message)) : error;
      }
      const value = await hide(outcome.value);
      this.#record(call, "ok", undefined, outcome.warning, served?.from);
      delivered = true;
      delivery = value;
      return value;
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      this.#record(call, "error", message, undefined, served?.from);
      throw error;
    } finally {
      release();
      spec?.end(delivered, delivery);
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

/** `error` with `message` instead of its own, keeping what the sandbox reads (`kind`, `name`). */
function rewrapError(error: Error, message: string): Error {
  if (message === error.message) return error;
  return Object.assign(new Error(message), {
    name: error.name,
    kind: (error as { kind?: string }).kind ?? "tool",
  });
}

/** An id as it may be recorded: at most {@linkcode MAX_RECORDED_ID_CHARS} characters. */
function cutId(id: string): string {
  return id.length > MAX_RECORDED_ID_CHARS ? `${cutText(id, MAX_RECORDED_ID_CHARS)}…` : id;
}

/**
 * The first `max` characters of `text` without its last, possibly cut, word (a cut value is
 * no longer recognised by redaction, which runs after), or `text` when it is short enough.
 */
function cutText(text: string, max: number): string {
  return text.length <= max ? text : dropPartialToken(text.slice(0, max));
}

/** Longest error text a call record keeps, in UTF-16 units; cut before it is redacted. */
export const MAX_CALL_ERROR_CHARS = 2000;

function round(ms: number): number {
  return Math.round(ms * 100) / 100;
}
