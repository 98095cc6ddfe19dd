/**
 * An MCP client transport that runs an upstream server as a subprocess and speaks
 * newline-delimited JSON-RPC over its stdin and stdout.
 *
 * We do not use the SDK's `StdioClientTransport` because it always passes on part of
 * the gateway's environment, lets stderr through to ours by default, and kills only the
 * direct child: `npx` servers run as grandchildren and would outlive it. Here the child
 * gets only `PATH`, `HOME` and its configured variables, runs in its own process group
 * (so closing takes down everything it started), and its stderr is kept as a short tail
 * for diagnostics.
 *
 * @module
 */

import type { Transport } from "@modelcontextprotocol/sdk/shared/transport.js";
import { type JSONRPCMessage, JSONRPCMessageSchema } from "@modelcontextprotocol/sdk/types.js";

import type { StdioServerConfig } from "./types.ts";
import { settlesWithin } from "./wait.ts";
import { LocalTransportError } from "./failure_text.ts";

/** Longest stderr line kept for a failure's log detail, in UTF-16 units. */
const MAX_STDERR_DETAIL_CHARS = 300;

/** How many stderr lines a transport keeps by default. */
export const DEFAULT_STDERR_LINES = 50;

/** Longest line of stdout we accept before declaring the server broken (bytes of text). */
/**
 * Longest message a server may write, in UTF-16 units (about 8 MiB of ASCII JSON). A longer
 * one is read past and dropped, never parsed: parsing runs on the gateway's shared event loop
 * (about 5 ms per MiB), and its size is the caller's choice (a tool's arguments ask for it).
 * The request it answered fails with a clear error; the server keeps running, for every
 * other tenant.
 */
export const MAX_MESSAGE_CHARS = 8 * 1024 * 1024;
/** Characters kept from each end of a dropped message to find its JSON-RPC id. */
const ID_WINDOW_CHARS = 256;
/** `…,"id":5}` or `…,"id":"a-1"}` at the end of a message: where the SDK writes it. */
const TRAILING_ID = /"id"\s*:\s*(-?\d{1,16}|"[^"\\]{0,64}")\s*\}\s*$/;
/** `{"jsonrpc":"2.0","id":5,…` at the start of a message. */
const LEADING_ID = /^\s*\{\s*"jsonrpc"\s*:\s*"2\.0"\s*,\s*"id"\s*:\s*(-?\d{1,16}|"[^"\\]{0,64}")/;

/** Options of {@linkcode StdioProcessTransport} beyond the server's config. */
export interface StdioProcessOptions {
  /** How many trailing stderr lines to keep (default {@linkcode DEFAULT_STDERR_LINES}). */
  stderrLines?: number;
  /** How long `close()` waits for the server to exit after stdin is closed (default 500 ms). */
  graceMs?: number;
}

/**
 * The environment an upstream subprocess gets: `PATH` and `HOME` from the gateway (so
 * `npx` and friends work), then the server's configured variables. Nothing else of the
 * gateway's environment (API keys, tokens) reaches it.
 *
 * @param configured the server's `env` from the configuration
 */
export function childEnvironment(configured: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = {};
  for (const key of ["PATH", "HOME"]) {
    const value = Deno.env.get(key);
    if (value !== undefined) env[key] = value;
  }
  return { ...env, ...configured };
}

/**
 * A {@linkcode Transport} over a subprocess's stdio, for the SDK's `Client`.
 *
 * `onclose` fires once, when the process exits (crash or `close()`).
 */
export class StdioProcessTransport implements Transport {
  /** Set by the SDK's `Protocol`: called once when the process has exited. */
  onclose?: () => void;
  /** Set by the SDK's `Protocol`: non-fatal problems (unparseable output, write errors). */
  onerror?: (error: Error) => void;
  /** Set by the SDK's `Protocol`: each JSON-RPC message the server sends. */
  onmessage?: (message: JSONRPCMessage) => void;

  readonly #config: StdioServerConfig;
  readonly #stderrLimit: number;
  readonly #graceMs: number;
  readonly #stderr: string[] = [];
  #child?: Deno.ChildProcess;
  #writer?: WritableStreamDefaultWriter<Uint8Array>;
  #status?: Deno.CommandStatus;
  #pumps?: Promise<unknown>;
  #closing?: Promise<void>;
  #closeNotified = false;

  /**
   * Prepares the transport; the process is spawned by {@linkcode start}.
   *
   * @param config the server's command, arguments, environment and working directory
   * @param options stderr tail length and shutdown grace period
   */
  constructor(config: StdioServerConfig, options: StdioProcessOptions = {}) {
    this.#config = config;
    this.#stderrLimit = options.stderrLines ?? DEFAULT_STDERR_LINES;
    this.#graceMs = options.graceMs ?? 500;
  }

  /** The process id of the server (the leader of its process group), once started. */
  get pid(): number | undefined {
    return this.#child?.pid;
  }

  /** The last lines the server wrote to stderr, oldest first. */
  get stderrTail(): string[] {
    return [...this.#stderr];
  }

  /** How the process ended (`undefined` while it runs or before it started). */
  get exitStatus(): Deno.CommandStatus | undefined {
    return this.#status;
  }

  /**
   * How the process ended, e.g. `exited with code 1` or `killed by SIGKILL`; `undefined` while
   * it runs. Never its stderr: what a server writes there may be its callers' data (see
   * `failure_text.ts`); {@linkcode lastStderrLine} is for the operator's log, redacted.
   */
  exitDescription(): string | undefined {
    const status = this.#status;
    if (!status) return undefined;
    return status.signal ? `killed by ${status.signal}` : `exited with code ${status.code}`;
  }

  /**
   * The last non-empty line the server wrote to stderr, trimmed, at most 300 characters; a
   * line cut there loses its last, possibly partial, word (15 digits of a card number cut in
   * the middle are no longer found by redaction: red team, 2026-11-30).
   */
  lastStderrLine(): string | undefined {
    const line = this.#stderr.findLast((l) => l.trim() !== "")?.trim();
    if (line === undefined || line.length <= MAX_STDERR_DETAIL_CHARS) return line;
    const cut = line.slice(0, MAX_STDERR_DETAIL_CHARS);
    const space = cut.search(/\s\S*$/);
    return `${space > 0 ? cut.slice(0, space) : ""}…`;
  }

  /** Spawns the process. Rejects when it cannot be spawned (e.g. command not found). */
  start(): Promise<void> {
    if (this.#child) {
      return Promise.reject(new LocalTransportError("StdioProcessTransport already started"));
    }
    const { command, args = [], env, cwd } = this.#config;
    let child: Deno.ChildProcess;
    try {
      child = new Deno.Command(command, {
        args,
        env: childEnvironment(env),
        clearEnv: true,
        cwd,
        stdin: "piped",
        stdout: "piped",
        stderr: "piped",
        // Its own process group, so close() can signal everything the server started.
        detached: true,
      }).spawn();
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) {
        return Promise.reject(
          new LocalTransportError(`command not found: ${command}`, { cause: error }),
        );
      }
      const message = error instanceof Error ? error.message : String(error);
      return Promise.reject(
        new LocalTransportError(`cannot start ${command}: ${message}`, { cause: error }),
      );
    }
    this.#child = child;
    this.#writer = child.stdin.getWriter();
    const stdout = this.#readStdout(child.stdout);
    const stderr = this.#readStderr(child.stderr);
    const status = child.status.then(async (status) => {
      this.#status = status;
      // Let the last responses written before the exit be delivered first.
      await settlesWithin(stdout, 250);
      this.#notifyClose();
    });
    this.#pumps = Promise.all([stdout, stderr, status]);
    return Promise.resolve();
  }

  /** Writes one JSON-RPC message as a line on the server's stdin. */
  async send(message: JSONRPCMessage): Promise<void> {
    const writer = this.#writer;
    if (!writer || this.#closing || this.#status) throw new LocalTransportError("Not connected");
    await writer.write(new TextEncoder().encode(JSON.stringify(message) + "\n"));
  }

  /**
   * Closes stdin, gives the server a moment to exit, then sends SIGTERM and finally
   * SIGKILL to its whole process group. Resolves once the process has exited and its
   * pipes are drained. Safe to call more than once.
   */
  close(): Promise<void> {
    this.#closing ??= this.#shutdown();
    return this.#closing;
  }

  async #shutdown(): Promise<void> {
    const child = this.#child;
    if (!child) {
      this.#notifyClose();
      return;
    }
    // Not awaited: a write blocked on a full pipe would hold close() up.
    this.#writer?.close().catch(() => {});
    if (!this.#status) await settlesWithin(child.status, this.#graceMs);
    if (!this.#status) {
      this.#signalGroup(child.pid, "SIGTERM");
      await settlesWithin(child.status, 1000);
    }
    // Descendants may outlive a leader that exited on its own; they go too.
    this.#signalGroup(child.pid, this.#status ? "SIGTERM" : "SIGKILL");
    if (!this.#status) this.#signalGroup(child.pid, "SIGKILL");
    if (!(await settlesWithin(this.#pumps!, 2000))) {
      // A process that escaped the group still holds our pipes: stop reading them.
      await child.stdout.cancel().catch(() => {});
      await child.stderr.cancel().catch(() => {});
      await this.#pumps;
    }
    this.#notifyClose();
  }

  #signalGroup(pid: number, signal: Deno.Signal): void {
    try {
      Deno.kill(-pid, signal);
    } catch {
      // The group is already gone.
    }
  }

  #notifyClose(): void {
    if (this.#closeNotified) return;
    this.#closeNotified = true;
    this.onclose?.();
  }

  async #readStdout(stream: ReadableStream<Uint8Array>): Promise<void> {
    const decoder = new TextDecoder();
    // The unfinished line; only new text is searched for newlines, so a large message
    // arriving in many chunks costs linear time.
    let pending = "";
    // While a message longer than MAX_MESSAGE_CHARS is read past: its first and latest
    // characters (for its id) and its length.
    let dropping: { head: string; tail: string; chars: number } | undefined;
    try {
      for await (const chunk of stream) {
        const text = decoder.decode(chunk, { stream: true });
        let start = 0;
        let newline: number;
        while ((newline = text.indexOf("\n", start)) >= 0) {
          const piece = text.slice(start, newline);
          start = newline + 1;
          if (dropping) {
            this.#answerDropped(dropping.head, (dropping.tail + piece).slice(-ID_WINDOW_CHARS));
            dropping = undefined;
            continue;
          }
          const line = pending + piece;
          pending = "";
          this.#handleLine(line);
        }
        const rest = text.slice(start);
        if (dropping) {
          dropping.tail = (dropping.tail + rest).slice(-ID_WINDOW_CHARS);
          dropping.chars += rest.length;
        } else {
          pending += rest;
          if (pending.length > MAX_MESSAGE_CHARS) {
            dropping = {
              head: pending.slice(0, ID_WINDOW_CHARS),
              tail: pending.slice(-ID_WINDOW_CHARS),
              chars: pending.length,
            };
            pending = "";
          }
        }
      }
    } catch (error) {
      this.onerror?.(error instanceof Error ? error : new Error(String(error)));
    }
  }

  /**
   * A message too long to parse was dropped: the request it answered (its id read from the
   * message's ends, where JSON-RPC writers put it) gets an error response instead, so the
   * caller learns why at once rather than at its timeout.
   */
  #answerDropped(head: string, tail: string): void {
    this.onerror?.(new Error("server wrote an over-long line on stdout; it was dropped"));
    const found = TRAILING_ID.exec(tail) ?? LEADING_ID.exec(head);
    if (!found) return;
    let id: string | number;
    try {
      id = JSON.parse(found[1]);
    } catch {
      return;
    }
    this.onmessage?.({
      jsonrpc: "2.0",
      id,
      error: {
        code: -32603,
        message: `the server's reply was longer than ${MAX_MESSAGE_CHARS} characters; ` +
          "Airlock dropped it (ask the tool for less)",
      },
    } as JSONRPCMessage);
  }

  #handleLine(line: string): void {
    const text = line.trim();
    if (text === "") return;
    let message: JSONRPCMessage;
    try {
      message = JSONRPCMessageSchema.parse(JSON.parse(text));
    } catch {
      this.onerror?.(new Error(`ignored non-JSON-RPC output on stdout: ${text.slice(0, 200)}`));
      return;
    }
    this.onmessage?.(message);
  }

  async #readStderr(stream: ReadableStream<Uint8Array>): Promise<void> {
    const decoder = new TextDecoder();
    let partial = "";
    try {
      for await (const chunk of stream) {
        const lines = (partial + decoder.decode(chunk, { stream: true })).split("\n");
        partial = lines.pop() ?? "";
        for (const line of lines) this.#keepStderr(line);
        // A server that never ends its line must not grow this without bound.
        if (partial.length > 4096) {
          this.#keepStderr(partial);
          partial = "";
        }
      }
    } catch {
      // Stream cancelled on close: nothing to keep.
    }
    if (partial) this.#keepStderr(partial);
  }

  #keepStderr(line: string): void {
    this.#stderr.push(line.replace(/\r$/, "").slice(0, 1000));
    if (this.#stderr.length > this.#stderrLimit) this.#stderr.shift();
  }
}
