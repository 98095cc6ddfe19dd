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

import { UpstreamError } from "./errors.ts";
import type { StdioServerConfig } from "./types.ts";
import { settlesWithin } from "./wait.ts";
import { LocalTransportError } from "./failure_text.ts";
import { dropPartialToken } from "../sandbox/mod.ts";
import {
  droppedMessageId,
  droppedReplyError,
  ID_WINDOW_CHARS,
  MAX_MESSAGE_CHARS,
  replyOverBounds,
  TOO_LONG,
} from "./reply_bounds.ts";

export { MAX_MESSAGE_CHARS, MAX_MESSAGE_VALUES } from "./reply_bounds.ts";

/** Longest stderr line kept for a failure's log detail, in UTF-16 units. */
const MAX_STDERR_DETAIL_CHARS = 300;

/** How many stderr lines a transport keeps by default. */
export const DEFAULT_STDERR_LINES = 50;

/**
 * Most bytes of messages waiting to be written to one server's stdin, by default (32 MiB:
 * several of the largest tool calls a sandbox may make, 4 MiB each). A server that reads
 * its input keeps this near zero (a pipe takes hundreds of MiB a second); one that stopped
 * reading, or reads slower than executions call it, would otherwise make the gateway hold
 * every call sent its way. A message past it is refused at once, never queued.
 */
export const DEFAULT_MAX_QUEUED_BYTES = 32 * 1024 * 1024;
/**
 * How long a write may make no progress before `onstall` is called, by default (ms). The
 * connection passes its call timeout: a server that takes none of its input for as long as
 * a call may take is checked like one whose call timed out.
 */
export const DEFAULT_STALL_MS = 60_000;
/**
 * Bytes handed to the pipe per write. A pipe holds 64 KiB; writing in slices this size
 * shows progress (a slow reader is not a stalled one) and keeps a message that has not
 * been started whole, so it can still be dropped when its call is cancelled.
 */
const WRITE_SLICE_BYTES = 64 * 1024;

/** Options of {@linkcode StdioProcessTransport} beyond the server's config. */
export interface StdioProcessOptions {
  /** How many trailing stderr lines to keep (default {@linkcode DEFAULT_STDERR_LINES}). */
  stderrLines?: number;
  /** How long `close()` waits for the server to exit after stdin is closed (default 500 ms). */
  graceMs?: number;
  /** The server's config key, for error messages (default: its command). */
  server?: string;
  /**
   * Most bytes waiting to be written to stdin (default {@linkcode DEFAULT_MAX_QUEUED_BYTES});
   * a message that would pass it is refused (`ping` excepted: it is tiny, one at a time,
   * and is how a stalled server gets found out).
   */
  maxQueuedBytes?: number;
  /**
   * Whose message is being sent (a tenant), read when `send()` is called; unset or undefined:
   * the gateway's own. Each owner may have at most `maxQueuedBytesPerOwner` waiting, and the
   * queue is written one message per owner in turn, so one tenant's large calls neither fill
   * the queue nor hold everyone else's behind them (red team, 2026-11-30: another tenant's
   * small calls went from 2.6 ms to 694 ms p50, its 1.5 MB calls were refused).
   */
  ownerOf?: () => string | undefined;
  /** Most bytes one owner may have waiting (default: a quarter of `maxQueuedBytes`). */
  maxQueuedBytesPerOwner?: number;
  /** See {@linkcode onstall} (ms; default {@linkcode DEFAULT_STALL_MS}). */
  stallMs?: number;
  /**
   * Called when a write to stdin has made no progress for `stallMs`, and again every
   * `stallMs` while it stays stuck: the server may have stopped reading its input (a wedged
   * event loop), which no call timeout reveals when the calls are cancelled first.
   */
  onstall?: () => void;
}

/** One message waiting to be written (or being written) to the server's stdin. */
interface PendingWrite {
  /** The message as a line of UTF-8. */
  bytes: Uint8Array;
  /** How many of its bytes the pipe has taken. */
  written: number;
  /** Its JSON-RPC id, when it is a request (so its cancellation can find it). */
  id?: string | number;
  /** Whose it is (see `ownerOf`); `""` for the gateway's own. */
  owner: string;
  /** Settles the `send()` that queued it. */
  resolve: () => void;
  reject: (error: Error) => void;
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

/** The oldest entry of a set (its first in insertion order). */
function first<T>(set: Set<T>): T | undefined {
  for (const value of set) return value;
  return undefined;
}

/** `n` bytes as MiB with one decimal, e.g. `4.0 MiB`. */
function mib(bytes: number): string {
  return `${(bytes / (1024 * 1024)).toFixed(1)} MiB`;
}

/** The id of the request a `notifications/cancelled` message cancels, else `undefined`. */
function cancelledRequestId(message: JSONRPCMessage): string | number | undefined {
  if (!("method" in message) || message.method !== "notifications/cancelled") return undefined;
  const id = (message.params as { requestId?: unknown } | undefined)?.requestId;
  return typeof id === "string" || typeof id === "number" ? id : undefined;
}

/** The tool a `tools/call` request calls, else `undefined`. */
function toolOf(message: JSONRPCMessage): string | undefined {
  if (!("method" in message) || message.method !== "tools/call") return undefined;
  const name = (message.params as { name?: unknown } | undefined)?.name;
  return typeof name === "string" ? name.slice(0, 200) : undefined;
}

/**
 * A {@linkcode Transport} over a subprocess's stdio, for the SDK's `Client`.
 *
 * `onclose` fires once, when the process exits (crash or `close()`).
 *
 * Messages for stdin wait in a queue of at most `maxQueuedBytes` (see
 * {@linkcode StdioProcessTransport.send}); a write that makes no progress for `stallMs`
 * calls `onstall`, so a server that stopped reading can be checked and restarted.
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
  readonly #server: string;
  readonly #maxQueuedBytes: number;
  readonly #maxQueuedBytesPerOwner: number;
  readonly #ownerOf: () => string | undefined;
  /**
   * The queue by owner, owners in the order they are served: the first owner's first message
   * is written next, then that owner moves to the back.
   */
  readonly #turns = new Map<string, Set<PendingWrite>>();
  /** Bytes waiting per owner. */
  readonly #queuedByOwner = new Map<string, number>();
  readonly #stallMs: number;
  readonly #onstall?: () => void;
  /** Messages not yet wholly written, oldest first (a Set: O(1) removal from anywhere). */
  readonly #queue = new Set<PendingWrite>();
  /** The queued requests none of whose bytes were written yet, by id. */
  readonly #unsent = new Map<string | number, PendingWrite>();
  /**
   * Ids of requests the server may have seen (writing them began) and has not answered.
   * Only their cancellations are worth writing: the SDK cancels a refused request, and
   * every request of an execution once it ends, answered or not.
   */
  readonly #started = new Set<string | number>();
  /** Bytes in {@linkcode #queue} the pipe has not taken. */
  #queuedBytes = 0;
  #pumping = false;

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
    this.#server = options.server ?? config.command;
    this.#maxQueuedBytes = options.maxQueuedBytes ?? DEFAULT_MAX_QUEUED_BYTES;
    this.#maxQueuedBytesPerOwner = options.maxQueuedBytesPerOwner ??
      Math.floor(this.#maxQueuedBytes / 4);
    this.#ownerOf = options.ownerOf ?? (() => undefined);
    this.#stallMs = options.stallMs ?? DEFAULT_STALL_MS;
    this.#onstall = options.onstall;
  }

  /**
   * Whether writing the request `id` to the server's stdin has begun and it has not been
   * answered (so the server may be working on it).
   */
  wasWritten(id: string | number): boolean {
    return this.#started.has(id);
  }

  /** Bytes of messages waiting to be written to the server's stdin. */
  get queuedBytes(): number {
    return this.#queuedBytes;
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
   * line cut there loses what may be part of a value (`dropPartialToken`: 15 digits of a card
   * number cut in the middle are no longer found by redaction: red team, 2026-11-30).
   */
  lastStderrLine(): string | undefined {
    const line = this.#stderr.findLast((l) => l.trim() !== "")?.trim();
    if (line === undefined || line.length <= MAX_STDERR_DETAIL_CHARS) return line;
    return `${dropPartialToken(line.slice(0, MAX_STDERR_DETAIL_CHARS))}…`;
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

  /**
   * Queues one JSON-RPC message as a line for the server's stdin; resolves once the pipe
   * has taken all of it.
   *
   * The cancellation of a request none of whose bytes were written yet removes that request
   * instead (the server never saw it, so there is nothing to tell it), and the `send()`
   * that queued it resolves: a cancelled call leaves nothing queued behind it. The
   * cancellation of a request that was refused or already answered is not written either.
   *
   * @throws {UpstreamError} reason `overloaded`, at once, when the message would take the
   * bytes waiting for this server past `maxQueuedBytes`; nothing of it is queued.
   * @throws {Error} "Not connected" before `start()` or once the process exits or is closing.
   */
  send(message: JSONRPCMessage): Promise<void> {
    const writer = this.#writer;
    if (!writer || this.#closing || this.#status) {
      return Promise.reject(new LocalTransportError("Not connected"));
    }
    const cancelled = cancelledRequestId(message);
    if (cancelled !== undefined) {
      const unsent = this.#unsent.get(cancelled);
      if (unsent) this.#drop(unsent);
      // Nothing to tell a server that never saw the request or has answered it. Queued
      // behind a stalled write, such a notice would also keep the SDK's closure over the
      // request (its arguments, megabytes) alive: bytes the cap does not see.
      if (!this.#started.delete(cancelled)) return Promise.resolve();
    }
    const isPing = "method" in message && message.method === "ping";
    const owner = isPing ? "" : this.#ownerOf() ?? "";
    const owners = this.#queuedByOwner.get(owner) ?? 0;
    const ownerLimit = owner === "" ? this.#maxQueuedBytes : this.#maxQueuedBytesPerOwner;
    // A full queue refuses before the message is even serialised.
    if (!isPing && (this.#queuedBytes >= this.#maxQueuedBytes || owners >= ownerLimit)) {
      return Promise.reject(this.#overloaded(message, undefined, owner));
    }
    const bytes = new TextEncoder().encode(JSON.stringify(message) + "\n");
    if (
      !isPing && (this.#queuedBytes + bytes.length > this.#maxQueuedBytes ||
        owners + bytes.length > ownerLimit)
    ) {
      return Promise.reject(this.#overloaded(message, bytes.length, owner));
    }
    const id = "method" in message && "id" in message ? message.id : undefined;
    return new Promise<void>((resolve, reject) => {
      const entry: PendingWrite = { bytes, written: 0, id, owner, resolve, reject };
      this.#queue.add(entry);
      let turn = this.#turns.get(owner);
      if (!turn) this.#turns.set(owner, turn = new Set());
      turn.add(entry);
      this.#queuedBytes += bytes.length;
      this.#queuedByOwner.set(owner, owners + bytes.length);
      if (id !== undefined) this.#unsent.set(id, entry);
      void this.#pump(writer);
    });
  }

  /**
   * Writes the queue, one message per owner in turn (each owner's oldest first), one slice
   * at a time; one pump runs at a time.
   */
  async #pump(writer: WritableStreamDefaultWriter<Uint8Array>): Promise<void> {
    if (this.#pumping) return;
    this.#pumping = true;
    try {
      for (let entry = this.#next(); entry; entry = this.#next()) {
        if (entry.id !== undefined && this.#unsent.get(entry.id) === entry) {
          this.#unsent.delete(entry.id);
          this.#started.add(entry.id);
        }
        while (entry.written < entry.bytes.length) {
          const end = Math.min(entry.written + WRITE_SLICE_BYTES, entry.bytes.length);
          try {
            await this.#watched(writer.write(entry.bytes.subarray(entry.written, end)));
          } catch (error) {
            // The pipe broke (the server exited or closed its stdin): nothing queued can go.
            this.#failQueue(error instanceof Error ? error : new Error(String(error)));
            return;
          }
          // close() emptied the queue meanwhile and settled every send.
          if (!this.#queue.has(entry)) return;
          this.#unqueue(entry, end - entry.written);
          entry.written = end;
        }
        this.#remove(entry);
        entry.resolve();
      }
    } finally {
      this.#pumping = false;
    }
  }

  /** Awaits one write, calling `onstall` every `stallMs` it makes no progress. */
  async #watched(write: Promise<void>): Promise<void> {
    const timer = setInterval(() => {
      if (!this.#closing && !this.#status) this.#onstall?.();
    }, this.#stallMs);
    try {
      await write;
    } finally {
      clearInterval(timer);
    }
  }

  /** The message to write next: the first waiting owner's oldest; that owner goes last. */
  #next(): PendingWrite | undefined {
    for (const [owner, turn] of this.#turns) {
      const entry = first(turn);
      this.#turns.delete(owner);
      if (!entry) continue;
      // Its other messages wait for the other owners' turns.
      this.#turns.set(owner, turn);
      return entry;
    }
    return undefined;
  }

  /** `bytes` of `entry` left the queue (written, or dropped). */
  #unqueue(entry: PendingWrite, bytes: number): void {
    this.#queuedBytes -= bytes;
    const left = (this.#queuedByOwner.get(entry.owner) ?? bytes) - bytes;
    if (left > 0) this.#queuedByOwner.set(entry.owner, left);
    else this.#queuedByOwner.delete(entry.owner);
  }

  /** Takes `entry` out of the queue and its owner's turn. */
  #remove(entry: PendingWrite): void {
    this.#queue.delete(entry);
    const turn = this.#turns.get(entry.owner);
    turn?.delete(entry);
    if (turn?.size === 0) this.#turns.delete(entry.owner);
  }

  /** Removes a message none of whose bytes were written; its `send()` resolves. */
  #drop(entry: PendingWrite): void {
    this.#remove(entry);
    if (entry.id !== undefined) this.#unsent.delete(entry.id);
    this.#unqueue(entry, entry.bytes.length - entry.written);
    entry.resolve();
  }

  /** Empties the queue, failing every `send()` still waiting with `error`. */
  #failQueue(error: Error): void {
    const entries = [...this.#queue];
    this.#queue.clear();
    this.#turns.clear();
    this.#queuedByOwner.clear();
    this.#unsent.clear();
    this.#started.clear();
    this.#queuedBytes = 0;
    for (const entry of entries) entry.reject(error);
  }

  /**
   * The refusal of a message past the caps. It says how much of the caller's own is waiting,
   * never how much of other tenants' (that would tell one tenant of another's activity).
   */
  #overloaded(message: JSONRPCMessage, size: number | undefined, owner: string): UpstreamError {
    const tool = toolOf(message);
    const what = tool === undefined ? "a message" : `the call to ${this.#server}.${tool}`;
    const sizeText = size === undefined ? "" : ` (${mib(size)})`;
    const owners = this.#queuedByOwner.get(owner) ?? 0;
    const whose = owner !== "" && owners + (size ?? 0) > this.#maxQueuedBytesPerOwner
      ? `${mib(owners)} of this tenant's messages are still waiting to be written to it (at ` +
        `most ${mib(this.#maxQueuedBytesPerOwner)} per tenant)`
      : "its input queue is full";
    return new UpstreamError(
      "overloaded",
      this.#server,
      `upstream server "${this.#server}" is not taking its input fast enough: ${whose}, ` +
        `so ${what}${sizeText} was refused unsent`,
      tool === undefined ? {} : { tool },
    );
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
    // Whatever was still waiting for stdin will never be written: let it go, and drop a
    // write stuck on a pipe that something outside the group still holds open.
    this.#failQueue(new LocalTransportError("Not connected"));
    this.#writer?.abort().catch(() => {});
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
            this.#answerDropped(
              dropping.head,
              (dropping.tail + piece).slice(-ID_WINDOW_CHARS),
              TOO_LONG,
            );
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
   * A message too long (`why`: in characters or in values) to parse was dropped: the request it answered (its id read from the
   * message's ends, where JSON-RPC writers put it) gets an error response instead, so the
   * caller learns why at once rather than at its timeout.
   */
  #answerDropped(head: string, tail: string, why: string): void {
    this.onerror?.(
      new Error(`server wrote an over-long line on stdout (it ${why}); it was dropped`),
    );
    const id = droppedMessageId(head, tail);
    if (id === undefined) return;
    this.#started.delete(id);
    this.onmessage?.(droppedReplyError(id, why));
  }

  #handleLine(line: string): void {
    const text = line.trim();
    if (text === "") return;
    const over = replyOverBounds(text);
    if (over) {
      this.#answerDropped(text.slice(0, ID_WINDOW_CHARS), text.slice(-ID_WINDOW_CHARS), over);
      return;
    }
    let message: JSONRPCMessage;
    try {
      message = JSONRPCMessageSchema.parse(JSON.parse(text));
    } catch {
      this.onerror?.(new Error(`ignored non-JSON-RPC output on stdout: ${text.slice(0, 200)}`));
      return;
    }
    this.#answered(message);
    this.onmessage?.(message);
  }

  /** A response ends its request's stay in {@linkcode #started}. */
  #answered(message: JSONRPCMessage): void {
    if (!("method" in message) && "id" in message) this.#started.delete(message.id);
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
