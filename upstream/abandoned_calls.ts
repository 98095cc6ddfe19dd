/**
 * The calls the gateway gave up on at one upstream server, per owner (tenant).
 *
 * A call is abandoned when the gateway sends `notifications/cancelled` for it (its execution
 * ended, or the call timed out) before the server answered. MCP lets a server ignore the
 * notification, and the gateway cannot stop it: such a server goes on working on the call
 * (red team, 2026-11-30: twenty short executions left 320 calls running at one server). The
 * ledger counts an owner's abandoned calls until the server answers them after all (its
 * late response) or until `graceMs` have passed since the cancellation, so that the
 * connection can refuse an owner's new calls while it has too many there. Other owners'
 * calls are not affected.
 *
 * A server never says whether it stopped: one that honours cancellation sends nothing (MCP: the
 * receiver should not respond), and so does a server built on the MCP SDK whose handler
 * ignores the cancellation, since the SDK drops the answer of a cancelled request but lets
 * the handler run to its end (red team, 2026-11-30: 41 writes carried out at such a server after
 * their executions ended, against a limit of 4). So every abandoned call counts: for
 * `graceMs` once the server has been seen to ignore cancellation (it answered a cancelled
 * call: {@linkcode AbandonedCalls.ignoresCancellation}), for the shorter `unprovenGraceMs`
 * before, which is what a tenant whose executions end with calls in flight at an honest server
 * pays: its next calls there may be refused for that long.
 *
 * Every entry ends: an open call when it is answered or cancelled (the SDK cancels every call
 * that times out), an abandoned one when answered or after `graceMs`, all of them when the
 * connection goes ({@linkcode AbandonedCalls.clear}).
 *
 * @module
 */

import type {
  Transport,
  TransportSendOptions,
} from "@modelcontextprotocol/sdk/shared/transport.js";
import type { JSONRPCMessage } from "@modelcontextprotocol/sdk/types.js";

/** A JSON-RPC request id. */
type RequestId = string | number;

/**
 * Cancelled calls remembered past their grace period, only to recognise a late answer (and so
 * a server that ignores cancellation); the oldest are forgotten first.
 */
const EXPIRED_IDS_KEPT = 1024;

/** See the module documentation. */
export class AbandonedCalls {
  readonly #graceMs: number;
  readonly #unprovenGraceMs: number;
  /** Calls sent and not yet answered or cancelled: id → owner. */
  readonly #open = new Map<RequestId, string>();
  /** Calls cancelled and not yet answered: id → owner and the timer that forgets them. */
  readonly #abandoned = new Map<
    RequestId,
    { owner: string; timer: ReturnType<typeof setTimeout> }
  >();
  /** Abandoned calls per owner. */
  readonly #counts = new Map<string, number>();
  /** Ids whose grace period ended unanswered (insertion order: oldest first). */
  readonly #expired = new Set<RequestId>();
  #ignoresCancellation = false;

  /**
   * @param graceMs how long after its cancellation an unanswered call still counts (ms) at a
   *   server that has answered a cancelled call
   * @param unprovenGraceMs the same before that (ms; at most `graceMs`)
   */
  constructor(graceMs: number, unprovenGraceMs = graceMs) {
    this.#graceMs = graceMs;
    this.#unprovenGraceMs = Math.min(graceMs, unprovenGraceMs);
  }

  /** A `tools/call` request with this id went out for `owner`. */
  sent(id: RequestId, owner: string): void {
    this.#open.set(id, owner);
  }

  /** The owner of the open call `id`, if it is one. */
  ownerOf(id: RequestId): string | undefined {
    return this.#open.get(id);
  }

  /** The request `id` never reached the server (its send failed): nothing to count. */
  unsent(id: RequestId): void {
    this.#open.delete(id);
  }

  /** `notifications/cancelled` went out for `id`: counted for its owner until answered. */
  cancelled(id: RequestId): void {
    const owner = this.#open.get(id);
    if (owner === undefined) return;
    this.#open.delete(id);
    const grace = this.#ignoresCancellation ? this.#graceMs : this.#unprovenGraceMs;
    const timer = setTimeout(() => this.#expire(id), grace);
    // A pending grace period must not keep a process (a test, a CLI run) alive.
    Deno.unrefTimer(timer);
    this.#abandoned.set(id, { owner, timer });
    this.#counts.set(owner, (this.#counts.get(owner) ?? 0) + 1);
  }

  /** A response (result or error) for `id` arrived. */
  answered(id: RequestId): void {
    this.#open.delete(id);
    if (this.#expired.delete(id)) this.#ignoresCancellation = true;
    const entry = this.#abandoned.get(id);
    if (!entry) return;
    // A late answer: the server went on working on a call it was told to drop.
    this.#ignoresCancellation = true;
    clearTimeout(entry.timer);
    this.#forget(id);
  }

  /**
   * Whether the server has answered a call after its cancellation (so it may still be working
   * on the calls it has not answered). Stays true for the ledger's connection.
   */
  get ignoresCancellation(): boolean {
    return this.#ignoresCancellation;
  }

  /** How long a call cancelled now would count (ms): the grace for what the server has shown. */
  get graceMsNow(): number {
    return this.#ignoresCancellation ? this.#graceMs : this.#unprovenGraceMs;
  }

  /** How many of `owner`'s calls are abandoned and not yet answered. */
  count(owner: string): number {
    return this.#counts.get(owner) ?? 0;
  }

  /** The connection is gone, and the server's work with it: forgets everything. */
  clear(): void {
    for (const { timer } of this.#abandoned.values()) clearTimeout(timer);
    this.#open.clear();
    this.#abandoned.clear();
    this.#counts.clear();
    this.#expired.clear();
  }

  #expire(id: RequestId): void {
    this.#forget(id);
    this.#expired.add(id);
    if (this.#expired.size > EXPIRED_IDS_KEPT) {
      this.#expired.delete(this.#expired.values().next().value!);
    }
  }

  #forget(id: RequestId): void {
    const entry = this.#abandoned.get(id);
    if (!entry) return;
    this.#abandoned.delete(id);
    const left = (this.#counts.get(entry.owner) ?? 1) - 1;
    if (left > 0) this.#counts.set(entry.owner, left);
    else this.#counts.delete(entry.owner);
  }
}

/** What {@linkcode observeTransport} reports. */
export interface TransportObserver {
  /** A message is about to be sent. */
  sent(message: unknown): void;
  /** Sending a message failed: it never reached the server. */
  failed?(message: unknown): void;
  /** A message arrived (before the client handles it). */
  received(message: unknown): void;
}

/**
 * Makes `transport` report every message it sends and receives to `observer`. Call it before
 * `Client.connect`: the SDK chains the `onmessage` it finds there before its own.
 */
export function observeTransport(transport: Transport, observer: TransportObserver): void {
  const send = transport.send.bind(transport);
  transport.send = (message: JSONRPCMessage, options?: TransportSendOptions) => {
    observer.sent(message);
    const sending = send(message, options);
    sending.catch(() => observer.failed?.(message));
    return sending;
  };
  transport.onmessage = (message: JSONRPCMessage) => observer.received(message);
}

/**
 * Feeds a connection's {@linkcode AbandonedCalls} from its transport: `tools/call` requests
 * sent while `ownerOf()` names an owner, the cancellations the client sends, the responses
 * that arrive.
 */
export function abandonedCallsObserver(
  ledger: AbandonedCalls,
  ownerOf: () => string | undefined,
  /**
   * Whether writing the request `id` to the server has begun (asked before its cancellation is
   * sent); a request cancelled while still queued never reached the server and is not counted.
   */
  written: (id: RequestId) => boolean = () => true,
): TransportObserver {
  return {
    failed(message) {
      const m = message as { id?: unknown; method?: unknown };
      if (m.method === "tools/call" && isRequestId(m.id)) ledger.unsent(m.id);
    },
    sent(message) {
      const m = message as { id?: unknown; method?: unknown; params?: { requestId?: unknown } };
      if (m.method === "tools/call" && isRequestId(m.id)) {
        const owner = ownerOf();
        if (owner !== undefined) ledger.sent(m.id, owner);
      } else if (m.method === "notifications/cancelled" && isRequestId(m.params?.requestId)) {
        const id = m.params.requestId;
        if (written(id)) ledger.cancelled(id);
        else ledger.unsent(id);
      }
    },
    received(message) {
      const m = message as { id?: unknown; method?: unknown; result?: unknown; error?: unknown };
      if (m.method === undefined && isRequestId(m.id) && ("result" in m || "error" in m)) {
        ledger.answered(m.id);
      }
    },
  };
}

function isRequestId(id: unknown): id is RequestId {
  return typeof id === "number" || typeof id === "string";
}
