/**
 * One upstream server: connecting, its tool list, calls, and restarts after failures.
 *
 * @module
 */

import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import {
  StreamableHTTPClientTransport,
  StreamableHTTPError,
} from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import {
  type CallToolResult,
  CallToolResultSchema,
  ErrorCode,
  McpError,
  ToolListChangedNotificationSchema,
} from "@modelcontextprotocol/sdk/types.js";

import { backoffDelay } from "./backoff.ts";
import { listAllTools } from "./catalogue.ts";
import { AbandonedCalls, abandonedCallsObserver, observeTransport } from "./abandoned_calls.ts";
import { UpstreamError } from "./errors.ts";
import { describeFailure } from "./failure_text.ts";
import { budgetedFetch } from "./http_budget.ts";
import { type BackgroundCompile, compileInBackground } from "./output_schema.ts";
import { boundedReplies } from "./http_replies.ts";
import { StdioProcessTransport } from "./stdio_transport.ts";
import type { ServerConfig, ToolInfo } from "./types.ts";
import { applyAnnotationOverrides, type ToolWarning, vetTools } from "./vet.ts";
import { settlesWithin } from "./wait.ts";

/** Where a server is in its life: see {@linkcode ServerStatus}. */
export type ServerState = "connecting" | "ready" | "failed" | "closed";

/** One server's health, as `/readyz` reports it. */
export interface ServerStatus {
  /** The config key of the server. */
  name: string;
  /** `connecting` (first start or a restart under way), `ready`, `failed` (waiting to restart), `closed`. */
  state: ServerState;
  /** How the gateway reaches it. */
  transport: "stdio" | "http";
  /** Number of tools in the catalogue from this server (0 unless ready). */
  tools: number;
  /** Why it is not ready, when it failed (the last failure while it reconnects). */
  error?: string;
  /** Restart attempts so far. */
  restarts: number;
  /**
   * Tools of its current list that were skipped, reduced or cut (see `vetTools`), each
   * with a one-line problem; empty unless ready. The other tools are served as usual.
   */
  warnings: ToolWarning[];
  /** When it entered its current state (ISO 8601). */
  since: string;
}

/** Settings a connection needs; the manager fills in the defaults. */
export interface ConnectionOptions {
  /** Limit for start-up: spawn or connect, `initialize`, and the whole tool list. */
  connectTimeoutMs: number;
  /** Default per-call timeout. */
  callTimeoutMs: number;
  /** After a call times out, how long a `ping` may take before the server counts as hung. */
  pingTimeoutMs: number;
  /** Restart delays. */
  restart: { initialMs: number; maxMs: number; resetAfterMs: number };
  /** Structured events for the gateway's log. */
  logger: (event: Record<string, unknown>) => void;
  /** Called whenever this server's contribution to the catalogue changes. */
  onToolsChanged: () => void;
  /** Why a tool name is unacceptable (it holds personal data), or `undefined`. */
  rejectToolName?: (name: string) => string | undefined;
  /** Source of jitter (tests may fix it). */
  random?: () => number;
  /**
   * Most calls of one owner (a tenant) this server may have been sent, had cancelled and
   * not answered, counted for `callTimeoutMs` after each cancellation; past it the owner's
   * new calls are refused (`busy`); a server that has not yet answered a cancelled call counts
   * each for {@linkcode UNPROVEN_ABANDON_GRACE_MS} only. Unset: no limit. See
   * `abandoned_calls.ts`.
   */
  maxAbandonedCallsPerOwner?: number;
  /**
   * Redacts text a server wrote (its last stderr line) before it goes into the log as a
   * failure's `detail`. Without it no such text is logged. It is never shown elsewhere.
   */
  redactLog?: (text: string) => string;
}

/** Version we report to upstream servers in `initialize`. */
const CLIENT_INFO = { name: "airlock", version: "0.1.0" };

/** Whether the config describes an HTTP server. */
function isHttp(config: ServerConfig): config is { url: string; headers?: Record<string, string> } {
  return "url" in config && typeof config.url === "string";
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * How long a cancelled, unanswered call counts against its tenant at a server not (yet) seen
 * to answer cancelled calls, in ms (see `abandoned_calls.ts`); `callTimeoutMs` once it has.
 */
export const UNPROVEN_ABANDON_GRACE_MS = 5_000;

/** Least time between two reads of a server's tool list after `list_changed`, in ms. */
const REFRESH_SPACING_MS = 1000;
/**
 * Least time between two reads of a tool list, as a multiple of what applying the last one
 * cost the event loop: re-indexing a 3,000-tool catalogue took about 220 ms (red team,
 * 2026-11-30), so such a list changing nonstop is read every 2.2 s, not every second.
 */
const REFRESH_COST_FACTOR = 10;

/** Transport errors logged per connection and second; the rest are only counted. */
const TRANSPORT_ERRORS_PER_SECOND = 5;

/**
 * What a transport error may say in the gateway's log. The SDK's messages embed whole
 * JSON-RPC messages (a response that arrived after its request was cancelled carries the
 * full tool result: personal data, megabytes of it), and a server's stray stdout is its
 * data too, so a log line names only the category and the size, never the payload.
 */
export function transportErrorSummary(error: unknown): { category: string; chars: number } {
  const message = messageOf(error);
  const category = /unknown message ID/i.test(message)
    ? "late_response"
    : /non-JSON-RPC output/i.test(message)
    ? "stray_output"
    : /over-long line/i.test(message)
    ? "line_too_long"
    : /over-bound reply/i.test(message)
    ? "reply_too_large"
    : /JSON|parse/i.test(message)
    ? "malformed_message"
    : "transport";
  return { category, chars: message.length };
}

/**
 * The live connection to one upstream server. It connects on `start()`, keeps the tool
 * list current (`notifications/tools/list_changed`), and after any failure (cannot start,
 * start-up timeout, crash, lost HTTP connection) tears everything down, reports
 * `failed` and tries again after an exponential, capped, jittered delay, until `close()`.
 */
export class ServerConnection {
  /** The config key of the server. */
  readonly name: string;
  readonly #config: ServerConfig;
  readonly #options: ConnectionOptions;
  #state: ServerState = "connecting";
  #since = new Date();
  #error?: string;
  #restarts = 0;
  #failuresInRow = 0;
  #readyAt = 0;
  #tools: ToolInfo[] = [];
  #warnings: ToolWarning[] = [];
  #schemaCompile: BackgroundCompile | undefined;
  #toolNames = new Set<string>();
  #client?: Client;
  #transport?: StdioProcessTransport | StreamableHTTPClientTransport;
  /** Bumped by every attempt and by close(); events of older attempts are ignored. */
  #generation = 0;
  #restartTimer?: ReturnType<typeof setTimeout>;
  #attempt?: Promise<void>;
  #refresh?: Promise<void>;
  #refreshAgain = false;
  #liveness?: Promise<void>;
  #lastStderr: string[] = [];
  /** The current connection's calls given up on, per owner (see `abandoned_calls.ts`). */
  #abandoned = new AbandonedCalls(0);
  /** The owner of the `tools/call` being sent right now (set around `client.request`). */
  #sendingFor?: string;

  /**
   * Prepares the connection; nothing happens until {@linkcode start}.
   *
   * @param name the config key of the server
   * @param config how to reach it
   * @param options timeouts, restart delays, logger and change callback
   */
  constructor(name: string, config: ServerConfig, options: ConnectionOptions) {
    this.name = name;
    this.#config = config;
    this.#options = options;
  }

  /** The server's tools while it is ready, else none. */
  get tools(): readonly ToolInfo[] {
    return this.#tools;
  }

  /** The last lines of stderr of the current (or last) subprocess; empty for HTTP servers. */
  get stderrTail(): string[] {
    return this.#transport instanceof StdioProcessTransport
      ? this.#transport.stderrTail
      : [...this.#lastStderr];
  }

  /** This server's current status. */
  status(): ServerStatus {
    const status: ServerStatus = {
      name: this.name,
      state: this.#state,
      transport: isHttp(this.#config) ? "http" : "stdio",
      tools: this.#state === "ready" ? this.#tools.length : 0,
      restarts: this.#restarts,
      since: this.#since.toISOString(),
      warnings: this.#state === "ready" ? this.#warnings.map((w) => ({ ...w })) : [],
    };
    if (this.#error !== undefined && this.#state !== "ready") status.error = this.#error;
    return status;
  }

  /** Makes the first connection attempt; resolves when it succeeded or failed (never rejects). */
  start(): Promise<void> {
    if (this.#state === "closed") return Promise.resolve();
    this.#attempt ??= this.#connect();
    return this.#attempt;
  }

  /**
   * Calls one tool. Fails fast with an {@linkcode UpstreamError} when the server is not
   * ready or does not list the tool.
   */
  async callTool(
    tool: string,
    args: Record<string, unknown>,
    options: { timeoutMs?: number; signal?: AbortSignal; owner?: string } = {},
  ): Promise<CallToolResult> {
    const client = this.#client;
    const generation = this.#generation;
    if (this.#state !== "ready" || !client) {
      const why = this.#error ? `: ${this.#error}` : "";
      throw new UpstreamError(
        "unavailable",
        this.name,
        `upstream server "${this.name}" is unavailable (${this.#state}${why})`,
        { tool },
      );
    }
    if (!this.#toolNames.has(tool)) {
      throw new UpstreamError(
        "unknown_tool",
        this.name,
        `upstream server "${this.name}" has no tool "${tool}"`,
        { tool },
      );
    }
    const owner = options.owner;
    const limit = this.#options.maxAbandonedCallsPerOwner;
    if (owner !== undefined && limit !== undefined) {
      const abandoned = this.#abandoned.count(owner);
      if (abandoned >= limit) {
        throw new UpstreamError(
          "busy",
          this.name,
          `upstream server "${this.name}" may still be working on ${abandoned} calls of this ` +
            "tenant that were cancelled (their execution ended or they timed out); at most " +
            `${limit} may be left there. Retry in ${this.#abandoned.graceMsNow / 1000} s, or ` +
            "sooner if it answers them",
          { tool },
        );
      }
    }
    const timeout = options.timeoutMs ?? this.#options.callTimeoutMs;
    try {
      // Not client.callTool(): it turns a result whose structured content does not match
      // the tool's outputSchema (even an isError one) into a protocol error, losing the
      // tool's own words. The gateway checks structured content itself.
      // The SDK writes the request to the transport before `request` returns: the transport's
      // observer tags it with its owner (see `abandoned_calls.ts`).
      this.#sendingFor = owner;
      let sending: Promise<unknown>;
      try {
        sending = client.request(
          { method: "tools/call", params: { name: tool, arguments: args } },
          CallToolResultSchema,
          { timeout, maxTotalTimeout: timeout, signal: options.signal },
        );
      } finally {
        this.#sendingFor = undefined;
      }
      return await sending as CallToolResult;
    } catch (error) {
      throw this.#callError(error, tool, timeout, options.signal, generation);
    }
  }

  #errorWindow = { start: 0, logged: 0, suppressed: 0 };

  /**
   * Logs a transport error without its payload (see {@linkcode transportErrorSummary}), at
   * most {@linkcode TRANSPORT_ERRORS_PER_SECOND} a second; a flood (thousands of late
   * responses from one execution) becomes one line with a count.
   */
  #logTransportError(error: unknown): void {
    const now = performance.now();
    const window = this.#errorWindow;
    if (now - window.start >= 1000) {
      if (window.suppressed > 0) {
        this.#options.logger({
          event: "upstream.transport_errors_suppressed",
          server: this.name,
          count: window.suppressed,
        });
      }
      this.#errorWindow = { start: now, logged: 0, suppressed: 0 };
    }
    if (this.#errorWindow.logged >= TRANSPORT_ERRORS_PER_SECOND) {
      this.#errorWindow.suppressed++;
      return;
    }
    this.#errorWindow.logged++;
    this.#options.logger({
      event: "upstream.transport_error",
      server: this.name,
      ...transportErrorSummary(error),
    });
  }

  /** Stops reconnecting, closes the client and ends the subprocess. */
  async close(): Promise<void> {
    if (this.#state === "closed") return;
    this.#generation++;
    clearTimeout(this.#restartTimer);
    this.#restartTimer = undefined;
    this.#setTools([]);
    this.#setState("closed");
    const transport = this.#transport;
    if (transport instanceof StreamableHTTPClientTransport && transport.sessionId) {
      // Ask the server to drop our session (DELETE); a server that does not answer
      // quickly is cut off by the close below.
      await settlesWithin(transport.terminateSession(), 1000);
    }
    await this.#teardown();
    // Let an attempt or refresh that was under way see the close and finish.
    await this.#attempt;
    this.#endRefreshWait?.();
    await this.#refresh;
    await this.#liveness;
  }

  async #connect(): Promise<void> {
    const generation = ++this.#generation;
    const { connectTimeoutMs, logger } = this.#options;
    this.#setState("connecting");
    logger({ event: "upstream.connecting", server: this.name, restarts: this.#restarts });
    const startedAt = performance.now();
    const transport = this.#createTransport();
    // A new connection: whatever the previous one left is gone with it.
    this.#abandoned.clear();
    const abandoned = this.#abandoned = new AbandonedCalls(
      this.#options.callTimeoutMs,
      UNPROVEN_ABANDON_GRACE_MS,
    );
    observeTransport(
      transport,
      abandonedCallsObserver(
        abandoned,
        () => this.#sendingFor,
        (id) => !(transport instanceof StdioProcessTransport) || transport.wasWritten(id),
      ),
    );
    const client = new Client(CLIENT_INFO, { capabilities: {} });
    client.setNotificationHandler(
      ToolListChangedNotificationSchema,
      () => this.#onToolListChanged(generation),
    );
    client.onclose = () => this.#onConnectionClosed(generation);
    client.onerror = (error: Error) => this.#logTransportError(error);
    this.#client = client;
    this.#transport = transport;
    this.#refreshAgain = false;

    const deadline = new AbortController();
    const timer = setTimeout(
      () => deadline.abort(new Error(`did not start within ${connectTimeoutMs} ms`)),
      connectTimeoutMs,
    );
    // The SDK's own request timeout must not cut in before ours.
    const requestOptions = { signal: deadline.signal, timeout: connectTimeoutMs + 1000 };
    try {
      await client.connect(transport, requestOptions);
      const entries = await listAllTools(client, requestOptions);
      if (generation !== this.#generation) return;
      this.#error = undefined;
      this.#readyAt = Date.now();
      const vetted = vetTools(
        this.name,
        entries,
        client.getInstructions(),
        this.#options.rejectToolName,
      );
      this.#setTools(applyAnnotationOverrides(vetted.tools, this.#config.toolAnnotations));
      this.#setWarnings(vetted.warnings);
      this.#setState("ready");
      logger({
        event: "upstream.ready",
        server: this.name,
        tools: this.#tools.length,
        ms: Math.round(performance.now() - startedAt),
        restarts: this.#restarts,
      });
      this.#options.onToolsChanged();
      if (this.#refreshAgain) this.#onToolListChanged(generation);
    } catch (error) {
      if (generation !== this.#generation) return;
      const exit = transport instanceof StdioProcessTransport
        ? transport.exitDescription()
        : undefined;
      const reason = deadline.signal.aborted
        ? messageOf(deadline.signal.reason)
        : describeFailure(error);
      await this.#fail(generation, exit ?? reason, this.#stderrDetail(transport));
    } finally {
      clearTimeout(timer);
      if (this.#attempt && generation === this.#generation) this.#attempt = undefined;
    }
  }

  #createTransport(): StdioProcessTransport | StreamableHTTPClientTransport {
    const config = this.#config;
    if (isHttp(config)) {
      return new StreamableHTTPClientTransport(new URL(config.url), {
        requestInit: { headers: { ...config.headers } },
        // Bounds the request bodies in flight, in all and per tenant; a cancelled call's POST
        // is aborted. Replies are bounded like a stdio server's messages before the SDK
        // parses them (an over-bound one fails its call).
        fetch: budgetedFetch(this.name, {
          fetch: boundedReplies(fetch, {
            ondrop: (why) =>
              this.#logTransportError(
                new Error(`server sent an over-bound reply (it ${why}); it was dropped`),
              ),
          }),
          ownerOfId: (id) => {
            try {
              return this.#abandoned.ownerOf(JSON.parse(id));
            } catch {
              return undefined;
            }
          },
        }),
      });
    }
    // A server that takes none of its input for as long as a call may take is checked (ping,
    // then restart) like one whose call timed out: cancelled calls never time out.
    const generation = this.#generation;
    return new StdioProcessTransport(config, {
      server: this.name,
      stallMs: this.#options.callTimeoutMs,
      onstall: () => this.#checkAlive(generation),
      // Each tenant's share of the queue, and its turn (see StdioProcessOptions.ownerOf).
      ownerOf: () => this.#sendingFor,
    });
  }

  /** The process exited or the connection closed while we thought it was up. */
  #onConnectionClosed(generation: number): void {
    if (generation !== this.#generation || this.#state !== "ready") return;
    const transport = this.#transport;
    const exit = transport instanceof StdioProcessTransport
      ? transport.exitDescription()
      : undefined;
    void this.#fail(generation, exit ?? "connection closed", this.#stderrDetail(transport));
  }

  /** A stdio server's last stderr line, redacted for the log (see `redactLog`). */
  #stderrDetail(transport: unknown): string | undefined {
    const redact = this.#options.redactLog;
    if (!redact || !(transport instanceof StdioProcessTransport)) return undefined;
    const line = transport.lastStderrLine();
    return line === undefined ? undefined : redact(line);
  }

  /**
   * Marks the server failed, tears the connection down and schedules a restart. `error` is
   * shown to everyone (status, `/readyz`, other tenants' refusals): words of ours only (see
   * `failure_text.ts`); `detail`, already redacted, goes into the log line alone.
   */
  async #fail(generation: number, error: string, detail?: string): Promise<void> {
    const wasReady = this.#state === "ready";
    this.#error = error;
    this.#setTools([]);
    this.#setState("failed");
    this.#options.logger({
      event: "upstream.failed",
      server: this.name,
      error,
      ...(detail === undefined ? {} : { detail }),
      restarts: this.#restarts,
    });
    if (wasReady) this.#options.onToolsChanged();
    await this.#teardown();
    if (generation !== this.#generation) return;
    const { restart } = this.#options;
    if (this.#readyAt && Date.now() - this.#readyAt >= restart.resetAfterMs) {
      this.#failuresInRow = 0;
    }
    this.#readyAt = 0;
    const delayMs = backoffDelay(this.#failuresInRow++, restart, this.#options.random);
    this.#options.logger({ event: "upstream.restart_scheduled", server: this.name, delayMs });
    this.#restartTimer = setTimeout(() => {
      this.#restartTimer = undefined;
      if (generation !== this.#generation) return;
      this.#restarts++;
      this.#attempt = this.#connect();
    }, delayMs);
  }

  async #teardown(): Promise<void> {
    this.#abandoned.clear();
    const client = this.#client;
    const transport = this.#transport;
    this.#client = undefined;
    if (transport instanceof StdioProcessTransport) {
      // Keep the stderr of the process we are about to lose for diagnostics.
      this.#lastStderr = transport.stderrTail;
    }
    try {
      await client?.close();
    } catch {
      // Closing a broken connection may fail; the process is gone either way.
    }
    // Client.close() closes the transport only if connect() got as far as installing it.
    await transport?.close().catch(() => {});
  }

  #onToolListChanged(generation: number): void {
    if (generation !== this.#generation) return;
    if (this.#state !== "ready") {
      // Still connecting: the list being fetched may predate the change; refresh once ready.
      this.#refreshAgain = true;
      return;
    }
    if (this.#refresh) {
      this.#refreshAgain = true;
      return;
    }
    // At most one refresh per REFRESH_SPACING_MS, and at least REFRESH_COST_FACTOR times what
    // the last one cost this thread apart: a server that sends list_changed every few
    // milliseconds gets its list read once a second, and a large list that changes all the
    // time holds the shared event loop at most 1/REFRESH_COST_FACTOR of the time.
    const spacing = Math.max(REFRESH_SPACING_MS, REFRESH_COST_FACTOR * this.#refreshCostMs);
    const wait = Math.max(0, this.#lastRefresh + spacing - performance.now());
    this.#refresh = new Promise<void>((resolve) => {
      // close() ends the wait at once (it awaits the refresh).
      this.#endRefreshWait = () => {
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(resolve, wait);
    }).then(() => {
      this.#endRefreshWait = undefined;
      this.#lastRefresh = performance.now();
      return this.#refreshTools(generation);
    }).finally(() => {
      this.#refresh = undefined;
      // A change announced during the refresh: read again, spaced like any other.
      if (this.#refreshAgain) this.#onToolListChanged(generation);
    });
  }

  #lastRefresh = -Infinity;
  /** What the last list applied cost this thread (ms): vetting and the catalogue change. */
  #refreshCostMs = 0;
  #endRefreshWait: (() => void) | undefined;

  /**
   * Reads the list once and applies it. A `list_changed` that arrives meanwhile is handled by
   * {@linkcode #onToolListChanged} after it, with the spacing (never right behind it: a
   * server changing its list nonstop had its list read back to back, red team 2026-11-30).
   */
  async #refreshTools(generation: number): Promise<void> {
    this.#refreshAgain = false;
    const client = this.#client;
    if (!client || generation !== this.#generation || this.#state !== "ready") return;
    try {
      const entries = await listAllTools(client, { timeout: this.#options.callTimeoutMs });
      if (generation !== this.#generation || this.#state !== "ready") return;
      // What the list costs this thread (vetting it, and everything the catalogue change
      // sets off: re-indexing, declarations) sets how long until the next read.
      const started = performance.now();
      const vetted = vetTools(
        this.name,
        entries,
        client.getInstructions(),
        this.#options.rejectToolName,
      );
      this.#setWarnings(vetted.warnings);
      const next = applyAnnotationOverrides(vetted.tools, this.#config.toolAnnotations);
      if (JSON.stringify(next) !== JSON.stringify(this.#tools)) {
        this.#setTools(next);
        this.#options.logger({
          event: "upstream.tools_changed",
          server: this.name,
          tools: next.length,
        });
        this.#options.onToolsChanged();
      }
      this.#refreshCostMs = performance.now() - started;
    } catch (error) {
      // Keep the previous list; a broken connection is handled by onclose.
      this.#options.logger({
        event: "upstream.refresh_failed",
        server: this.name,
        error: describeFailure(error),
      });
    }
  }

  /**
   * A call timed out: the tool may just be slow, or the whole server may be stuck. A
   * server that does not answer `ping` either is failed and restarted.
   */
  #checkAlive(generation: number): void {
    const client = this.#client;
    if (this.#liveness || !client) return;
    const timeoutMs = this.#options.pingTimeoutMs;
    this.#liveness = client.ping({ timeout: timeoutMs }).then(
      () => this.#options.logger({ event: "upstream.alive", server: this.name }),
      async (error: unknown) => {
        if (generation !== this.#generation || this.#state !== "ready") return;
        const why = error instanceof McpError &&
            (error as McpError).code === ErrorCode.RequestTimeout
          ? `stopped responding (no answer to ping within ${timeoutMs} ms)`
          : `stopped responding (${describeFailure(error)})`;
        await this.#fail(generation, why);
      },
    ).finally(() => {
      this.#liveness = undefined;
    });
  }

  #setTools(tools: ToolInfo[]): void {
    this.#tools = tools;
    this.#toolNames = new Set(tools.map((tool) => tool.name));
    // Every schema of the list is compiled now, in the background, never on a first call
    // (which would tell other tenants that nobody had called the tool yet).
    this.#schemaCompile?.cancel();
    this.#schemaCompile = compileInBackground(
      tools.flatMap((tool) =>
        tool.outputSchema ? [tool.inputSchema, tool.outputSchema] : [tool.inputSchema]
      ),
    );
  }

  /**
   * Keeps the warnings of the latest list and logs each one, one line per tool, when
   * the set differs from the previous list's (a refresh with the same problems is quiet).
   */
  #setWarnings(warnings: ToolWarning[]): void {
    const changed = JSON.stringify(warnings) !== JSON.stringify(this.#warnings);
    this.#warnings = warnings;
    if (!changed) return;
    for (const warning of warnings) {
      this.#options.logger({
        event: "upstream.tool_warning",
        level: "warn",
        server: this.name,
        tool: warning.tool,
        problem: warning.problem,
      });
    }
  }

  #setState(state: ServerState): void {
    if (state === this.#state && state !== "connecting") return;
    this.#state = state;
    this.#since = new Date();
  }

  #callError(
    error: unknown,
    tool: string,
    timeoutMs: number,
    signal: AbortSignal | undefined,
    generation: number,
  ): UpstreamError {
    const id = `${this.name}.${tool}`;
    const opts = { tool, cause: error };
    if (error instanceof UpstreamError) return error;
    if (signal?.aborted) {
      return new UpstreamError("cancelled", this.name, `call to ${id} was cancelled`, opts);
    }
    if (error instanceof McpError) {
      const code = (error as McpError).code;
      if (code === ErrorCode.RequestTimeout) {
        this.#checkAlive(generation);
        return new UpstreamError(
          "timeout",
          this.name,
          `call to ${id} timed out after ${timeoutMs} ms`,
          opts,
        );
      }
      if (code === ErrorCode.ConnectionClosed) {
        const transport = this.#transport;
        const exit = transport instanceof StdioProcessTransport
          ? transport.exitDescription()
          : undefined;
        return new UpstreamError(
          "connection",
          this.name,
          `upstream server "${this.name}" closed the connection during the call to ${id}` +
            (exit ? ` (${exit})` : ""),
          opts,
        );
      }
      return new UpstreamError(
        "protocol",
        this.name,
        `call to ${id} failed: ${messageOf(error)}`,
        opts,
      );
    }
    // An HTTP server that answered this request with an error status is alive: the call
    // fails, the connection stays. One tenant's request that a server answers with 500 (an
    // error page) failed the server for every tenant, ending their calls in flight (red team,
    // 2026-11-30). A 404 is the server saying our session is gone: reconnect (MCP).
    if (error instanceof StreamableHTTPError) {
      const status = (error as StreamableHTTPError).code ?? 0;
      if (status > 0 && status !== 404) {
        return new UpstreamError(
          "protocol",
          this.name,
          `call to ${id} failed: ${describeFailure(error)}`,
          opts,
        );
      }
    }
    // Anything else is a transport failure (HTTP server gone, broken pipe): reconnect.
    if (generation === this.#generation && this.#state === "ready") {
      void this.#fail(generation, `connection lost (${describeFailure(error)})`);
    }
    return new UpstreamError(
      "connection",
      this.name,
      `upstream server "${this.name}" could not be reached for ${id}: ${messageOf(error)}`,
      opts,
    );
  }
}
