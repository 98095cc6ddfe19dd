/**
 * All upstream servers of one gateway: the merged tool catalogue, status for `/readyz`,
 * and tool calls routed to the right server.
 *
 * @module
 */

import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";

import { ServerConnection, type ServerStatus } from "./connection.ts";
import { UpstreamError } from "./errors.ts";
import type { ServerConfig, ToolInfo } from "./types.ts";

/** Options of {@linkcode UpstreamManager}. */
export interface UpstreamManagerOptions {
  /**
   * Why a tool name is unacceptable, or `undefined`: a tool whose name holds personal data
   * would put it in every tool id, metric label, audit row and generated declaration, so the
   * gateway skips it (with a warning that does not repeat the name).
   */
  rejectToolName?: (name: string) => string | undefined;
  /** Limit for a server's start-up: spawn or connect, `initialize` and the full tool list (default 60,000 ms). */
  connectTimeoutMs?: number;
  /** Default per-call timeout (default 60,000 ms). */
  callTimeoutMs?: number;
  /**
   * After a call times out the server is sent `ping`; without an answer within this
   * many ms it counts as hung and is restarted (default 5,000 ms).
   */
  pingTimeoutMs?: number;
  /**
   * Restart delays after a failure: `initialMs · 2^n`, capped at `maxMs`, jittered down
   * to half (defaults 500 ms and 30,000 ms). The count `n` starts again once a server has
   * stayed up for `resetAfterMs` (default 30,000 ms).
   */
  restart?: { initialMs?: number; maxMs?: number; resetAfterMs?: number };
  /** Receives structured events (`event: "upstream.ready" | "upstream.failed" | …`). */
  logger?: (event: Record<string, unknown>) => void;
  /**
   * Most calls of one owner (see {@linkcode CallToolOptions.owner}) a server may have been
   * sent, had cancelled (the owner's execution ended, or the call timed out) and not
   * answered, each counted until its late answer or for `callTimeoutMs` after its
   * cancellation (5 s at a server that has not yet answered a cancelled call; see
   * `abandoned_calls.ts`); past it the owner's new calls to that server fail with reason
   * `busy`. Default: no limit.
   */
  maxAbandonedCallsPerOwner?: number;
  /**
   * Redacts the last stderr line of a stdio server that failed before it is logged (as the
   * event's `detail`); without it that line is not logged. Failure texts shown anywhere else
   * (status, `/readyz`, refusals) never hold text a server wrote.
   */
  redactLog?: (text: string) => string;
}

/** Options of one {@linkcode UpstreamManager.callTool} call. */
export interface CallToolOptions {
  /** Timeout for this call in ms (default: the manager's `callTimeoutMs`). */
  timeoutMs?: number;
  /** Cancels the call (the server is sent `notifications/cancelled`). */
  signal?: AbortSignal;
  /** Whose call it is (a tenant id), for `maxAbandonedCallsPerOwner`. */
  owner?: string;
}

/** Validates a config entry and says what is wrong with it, if anything. */
function configProblem(config: unknown): string | undefined {
  if (typeof config !== "object" || config === null) return "must be an object";
  const entry = config as Record<string, unknown>;
  const hasCommand = typeof entry.command === "string" && entry.command !== "";
  const hasUrl = typeof entry.url === "string" && entry.url !== "";
  if (hasCommand === hasUrl) return 'needs exactly one of "command" or "url"';
  if (hasUrl) {
    try {
      const url = new URL(entry.url as string);
      if (url.protocol !== "http:" && url.protocol !== "https:") return "url must be http(s)";
    } catch {
      return "url is not a valid URL";
    }
  }
  return undefined;
}

/**
 * Connects to every configured upstream MCP server (stdio subprocesses and Streamable
 * HTTP endpoints) at once and keeps the connections alive.
 *
 * A server that cannot start, crashes or hangs never takes the others down: its tools
 * leave the catalogue, calls to it fail at once with an {@linkcode UpstreamError}
 * (`kind: "tool"`), and it is restarted with exponential backoff until {@linkcode close}.
 *
 * @example
 * ```ts
 * const upstream = new UpstreamManager({
 *   filesystem: { command: "npx", args: ["-y", "@modelcontextprotocol/server-filesystem", "."] },
 * });
 * await upstream.start();
 * const result = await upstream.callTool("filesystem", "list_directory", { path: "." });
 * await upstream.close();
 * ```
 */
export class UpstreamManager {
  readonly #connections = new Map<string, ServerConnection>();
  readonly #listeners = new Set<(server: string) => void>();
  readonly #logger: (event: Record<string, unknown>) => void;
  #started?: Promise<void>;
  #closed?: Promise<void>;
  #catalogue?: ToolInfo[];
  #byId = new Map<string, ToolInfo>();

  /**
   * Prepares one connection per server; nothing is started until {@linkcode start}.
   *
   * @param servers the config's `servers` section: key = namespace, value = how to reach it
   * @param options timeouts, restart delays and a logger
   * @throws {TypeError} when a key is empty or contains a dot, or an entry is malformed
   */
  constructor(servers: Record<string, ServerConfig>, options: UpstreamManagerOptions = {}) {
    this.#logger = options.logger ?? (() => {});
    const connectionOptions = {
      connectTimeoutMs: options.connectTimeoutMs ?? 60_000,
      callTimeoutMs: options.callTimeoutMs ?? 60_000,
      pingTimeoutMs: options.pingTimeoutMs ?? 5_000,
      restart: {
        initialMs: options.restart?.initialMs ?? 500,
        maxMs: options.restart?.maxMs ?? 30_000,
        resetAfterMs: options.restart?.resetAfterMs ?? 30_000,
      },
      logger: this.#logger,
      rejectToolName: options.rejectToolName,
      maxAbandonedCallsPerOwner: options.maxAbandonedCallsPerOwner,
      redactLog: options.redactLog,
    };
    // Sorted so that the catalogue's order does not depend on the config's.
    for (const name of Object.keys(servers).sort()) {
      if (name === "" || name.includes(".")) {
        throw new TypeError(`upstream server name "${name}" must be non-empty and without dots`);
      }
      const problem = configProblem(servers[name]);
      if (problem) throw new TypeError(`upstream server "${name}": ${problem}`);
      this.#connections.set(
        name,
        new ServerConnection(name, servers[name], {
          ...connectionOptions,
          onToolsChanged: () => this.#toolsChanged(name),
        }),
      );
    }
  }

  /**
   * Starts connecting to every server at once. Resolves when each has either become
   * ready or failed its first attempt (failed ones keep retrying in the background).
   * Never rejects; calling it again returns the same promise.
   */
  start(): Promise<void> {
    this.#started ??= Promise.all(
      [...this.#connections.values()].map((connection) => connection.start()),
    ).then(() => {});
    return this.#started;
  }

  /** The tools of every ready server: servers by name, each server's tools in its own order. */
  catalogue(): ToolInfo[] {
    if (!this.#catalogue) this.#rebuildIndex();
    return [...this.#catalogue!];
  }

  /**
   * One tool of a ready server by id (`server.tool_name`), or `undefined`.
   *
   * @param id the tool's id
   */
  tool(id: string): ToolInfo | undefined {
    if (!this.#catalogue) this.#rebuildIndex();
    return this.#byId.get(id);
  }

  /** The health of every server, by name. */
  status(): ServerStatus[] {
    return [...this.#connections.values()].map((connection) => connection.status());
  }

  /**
   * The last lines a stdio server wrote to stderr (its current or most recent process),
   * for diagnostics; empty for HTTP servers and unknown names.
   *
   * @param server the config key of the server
   */
  stderr(server: string): string[] {
    return this.#connections.get(server)?.stderrTail ?? [];
  }

  /**
   * Subscribes to catalogue changes. The listener gets the name of the server whose
   * tools changed (it became ready, failed, or sent `tools/list_changed` with a new
   * list), so an index can update that server's tools only.
   *
   * @param listener called after the change is visible in {@linkcode catalogue}
   * @returns a function that unsubscribes
   */
  onCatalogueChange(listener: (server: string) => void): () => void {
    this.#listeners.add(listener);
    return () => {
      this.#listeners.delete(listener);
    };
  }

  /**
   * Calls one tool of one server and returns the SDK's result (`content`,
   * `structuredContent`, `isError`). A result with `isError: true` is returned, not
   * thrown: the tool ran and reported a failure.
   *
   * @param server the config key of the server
   * @param name the tool's MCP name
   * @param args the tool's arguments (a JSON object)
   * @param options timeout and abort signal for this call
   * @throws {UpstreamError} (`kind: "tool"`) when the server is unknown or not ready, the
   *   tool is unknown, the arguments are not an object, or the call times out, is
   *   cancelled, loses its connection or gets a protocol error
   */
  callTool(
    server: string,
    name: string,
    args: Record<string, unknown>,
    options: CallToolOptions = {},
  ): Promise<CallToolResult> {
    const connection = this.#connections.get(server);
    if (!connection) {
      return Promise.reject(
        new UpstreamError("unknown_server", server, `unknown upstream server "${server}"`, {
          tool: name,
        }),
      );
    }
    if (typeof args !== "object" || args === null || Array.isArray(args)) {
      return Promise.reject(
        new UpstreamError(
          "invalid_arguments",
          server,
          `arguments for ${server}.${name} must be a JSON object`,
          { tool: name },
        ),
      );
    }
    return connection.callTool(name, args, options);
  }

  /**
   * Stops all restarts, closes every client and ends every stdio server's process group.
   * Resolves when all are gone. Safe to call more than once.
   */
  close(): Promise<void> {
    this.#closed ??= Promise.all(
      [...this.#connections.values()].map((connection) => connection.close()),
    ).then(() => {
      this.#catalogue = undefined;
      this.#listeners.clear();
    });
    return this.#closed;
  }

  #rebuildIndex(): void {
    this.#catalogue = [...this.#connections.values()].flatMap((c) => c.tools);
    this.#byId = new Map(this.#catalogue.map((tool) => [tool.id, tool]));
  }

  #toolsChanged(server: string): void {
    this.#rebuildIndex();
    for (const listener of [...this.#listeners]) {
      try {
        listener(server);
      } catch (error) {
        this.#logger({
          event: "upstream.listener_error",
          server,
          message: error instanceof Error ? error.message : String(error),
        });
      }
    }
  }
}
