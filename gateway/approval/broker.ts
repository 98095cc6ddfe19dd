/**
 * The broker of pending approvals: it registers a request in the {@linkcode ApprovalStore},
 * announces it on the execution's channel, and settles it exactly once: by an answer (over
 * HTTP or from the channel), by its timeout, or by the execution ending (withdrawn).
 *
 * Who records a decision: the broker that holds the waiting call, when it wakes the call with
 * the decision it acts on (`onSettled`); the decision's `decidedBy` comes from the settled
 * record. It then confirms in the store what it acted on (`markActed`; retried each second
 * while the store cannot be reached, so the store and its row agree). An answer through another
 * replica (a shared store) is only offered to the holder, which takes it (settles the request
 * with it, atomically) when it hears of it or within a second; the answering replica reports
 * only what is known: the decision once the holder confirmed acting on it (waiting up to
 * {@linkcode TAKE_WAIT_MS} for the take, then {@linkcode ACT_WAIT_MS} for the confirmation),
 * `state_unavailable` once its withdrawal of an offer not taken succeeded (a hung or cut-off
 * holder never acts on an answer it did not take, and its own deadline decides), and otherwise
 * an {@linkcode UnconfirmedAnswer} (taken but not confirmed, or it cannot tell). A replica
 * that cannot reach the store answers `state_unavailable`. A dead replica's pending requests are
 * withdrawn (and recorded) by the broker that finds them: answering, listing or asking.
 *
 * @module
 */

import { cutText } from "../../observability/mod.ts";
import { redactText } from "../../pii/mod.ts";
import { dropPartialToken } from "../../sandbox/mod.ts";
import { GatewayError } from "../errors.ts";
import {
  type ActedApproval,
  type ApprovalAsk,
  type ApprovalStore,
  MemoryApprovalStore,
  type SettledApproval,
  type SettlementNotice,
} from "./store.ts";
import type {
  ApprovalAnswer,
  ApprovalChannel,
  ApprovalOutcome,
  ApprovalRequest,
  ApprovalStatus,
  UnconfirmedAnswer,
} from "./types.ts";
import { MAX_APPROVAL_REASON_CHARS } from "./types.ts";

/** Longest reason masked, in UTF-16 units (the API takes 500; other channels are cut here). */
const MAX_REASON_INPUT_CHARS = 4 * MAX_APPROVAL_REASON_CHARS;
/** How often waiting calls re-read their record in a shared store, ms (missed notices). */
const POLL_MS = 1000;
/**
 * How long an answer through a replica that does not hold the call waits for the holder to take
 * it, ms: the holder is told at once and also looks each second ({@linkcode POLL_MS}).
 */
export const TAKE_WAIT_MS = 2500;
/**
 * How long the answering replica then waits for the holder to confirm it acted on the answer
 * it took, ms (the holder confirms right after waking the call and recording it).
 */
export const ACT_WAIT_MS = 1500;
/** How long a holder keeps trying to confirm what it acted on while the store fails, ms. */
const CONFIRM_RETRY_MS = 15 * 60_000;
/** How often the answering replica re-reads the record while it waits for the take, ms. */
const TAKE_CHECK_MS = 250;
/** An offer not withdrawn (its replica died while waiting) lapses by itself after this, ms. */
const OFFER_TTL_MS = TAKE_WAIT_MS + 2000;

/**
 * How long a client's reply that reached a replica which did not send the elicitation is retried
 * while approvals cannot be reached or the holder does not take it yet, ms (while the request is
 * still pending and was asked of that session).
 */
export const REPLY_RETRY_MS = 60_000;

/**
 * What became of a client's reply to an approval elicitation that reached a replica which did not
 * send it ({@linkcode ApprovalBroker.answerReply}): given to the holder, which acted on it
 * (`delivered`) or took it without confirming yet or could not be told (`unconfirmed`); the request
 * ended first (`ended`); no pending request was asked of that session under that id (`unknown`: a
 * late reply, a reply to something else, another session's or tenant's id); or it could not be
 * given (`failed`: approvals unreachable, or the holder never took it, for
 * {@linkcode REPLY_RETRY_MS}).
 */
export type ReplyOutcome = "delivered" | "unconfirmed" | "ended" | "unknown" | "failed";

/** One settled request, for the audit and metrics. */
export interface ApprovalEvent {
  request: ApprovalRequest;
  outcome: ApprovalOutcome;
}

/** Where one request stands ({@linkcode ApprovalBroker.lookup}). */
export type ApprovalStanding =
  | { status: "pending" }
  | { status: "settled"; settled: SettledApproval; acted?: ActedApproval };

/** Options of an {@linkcode ApprovalBroker}. */
export interface ApprovalBrokerOptions {
  /** Where pending requests live (default: this process's memory). */
  store?: ApprovalStore;
  /**
   * Called once per request when it ends, whatever ended it, by the broker that acted on it
   * (held the call, or withdrew a dead replica's request). Must not throw.
   */
  onSettled?: (event: ApprovalEvent) => void;
}

/** What a call asks for; the broker adds the id and the times. */
export type NewApprovalRequest = Omit<ApprovalRequest, "id" | "requestedAt" | "expiresAt">;

/** Options of one {@linkcode ApprovalBroker.request}. */
export interface RequestOptions {
  /** How long to wait for a decision, in ms; then the outcome is `timeout`. */
  timeoutMs: number;
  /** The tenant's cap on pending requests; over it the outcome is `over_capacity` at once. */
  maxPending: number;
  /** How to reach a person; without one the request can only be answered over HTTP. */
  channel?: ApprovalChannel;
  /** Aborting it withdraws the request (the execution ended). */
  signal?: AbortSignal;
  /**
   * What became of the call once approved: resolves `true` once it was handed to its server,
   * `false` when it was stopped before (the execution ended while it waited for a slot). The
   * holder confirms `approved` only on `true` and `not_sent` on `false` (or a rejection), so no
   * approver, `GET` or confirmation says an approved call ran that never reached its server.
   * Absent: `approved` is confirmed once the call is woken.
   */
  sent?: Promise<boolean>;
}

interface Waiter {
  request: ApprovalRequest;
  resolve(outcome: ApprovalOutcome): void;
  cleanup(): void;
  sent?: Promise<boolean>;
}

/** Holds tool calls that wait for a person and settles each exactly once. */
export class ApprovalBroker {
  /** The registry of pending requests. */
  readonly store: ApprovalStore;
  #onSettled: (event: ApprovalEvent) => void;
  #waiters = new Map<string, Waiter>();
  #pendingByTenant = new Map<string, number>();
  #unsubscribe: (() => void) | undefined;
  #unsubscribeOffers: (() => void) | undefined;
  /** Takes in flight by this broker (the holder), by request id: its deadline waits for one. */
  #taking = new Map<string, Promise<unknown>>();
  /** Answers offered through this broker, waiting for their take: key → wake the wait. */
  #takes = new Map<string, () => void>();
  #poller: ReturnType<typeof setInterval> | undefined;
  #polling = false;
  /**
   * Writes the store refused (unreachable), retried each second until `until` (ms): what this
   * broker did with a request (a confirmation), or the settling of a request it gave up on
   * registering (its add may have landed). Key → the write; a later one for a key replaces it.
   */
  #unconfirmed = new Map<string, { write: () => Promise<void>; until: number }>();
  #confirmer: ReturnType<typeof setInterval> | undefined;
  #confirming = false;
  /** Approved calls woken here whose send is not known yet: key → what will be confirmed. */
  #sending = new Map<string, Promise<ActedApproval>>();
  /**
   * Requests settled here whose confirmation has not landed yet: key → which. Their leases are
   * renewed with the waiting ones', so a holder that dies before confirming is found (N2-5).
   */
  #settledHere = new Map<string, { tenant: string; id: string }>();
  /** Closed: replies still being given stop retrying. */
  #closed = false;

  constructor(options: ApprovalBrokerOptions = {}) {
    this.store = options.store ?? new MemoryApprovalStore();
    this.#onSettled = options.onSettled ?? (() => {});
    // A shared store tells this broker about answers taken by other replicas.
    this.#unsubscribe = this.store.subscribe?.((notice) => {
      this.#wake(notice);
      this.#takes.get(takeKey(notice.tenant, notice.id))?.();
    });
    // Answers offered for calls held here (given through other replicas) are taken at once.
    this.#unsubscribeOffers = this.store.onOffer?.(({ tenant, id, offer }) =>
      void this.#take(tenant, id, offer)
    );
  }

  /**
   * Registers a request, announces it and waits until it is settled. Never rejects: every
   * way it can end is an {@linkcode ApprovalOutcome}.
   */
  async request(input: NewApprovalRequest, options: RequestOptions): Promise<ApprovalOutcome> {
    const now = Date.now();
    const request: ApprovalRequest = {
      ...input,
      id: crypto.randomUUID(),
      requestedAt: now,
      expiresAt: now + options.timeoutMs,
    };
    if (options.signal?.aborted) return this.#unasked(request, "withdrawn");
    // A dead replica's requests of this tenant are withdrawn and recorded by whoever finds them.
    this.#reap(request.tenant).catch(() => {});
    let added: boolean;
    try {
      added = await this.store.add(request, options.maxPending);
    } catch {
      // The registry failed: nobody can be asked, but that is a fault, not a policy case:
      // denied whatever `onUnavailable` says.
      const answer: ApprovalAnswer = {
        approve: false,
        reason: "the approval could not be registered",
        decidedBy: "airlock",
      };
      this.#settleUnregistered(request, answer);
      return this.#unasked(request, "denied", answer);
    }
    if (!added) return this.#unasked(request, "over_capacity");
    return await new Promise<ApprovalOutcome>((resolve) => {
      const asking = new AbortController();
      const onAbort = () => void this.#end(request.tenant, request.id, "withdrawn");
      const timer = setTimeout(
        () => void this.#end(request.tenant, request.id, "timeout"),
        options.timeoutMs,
      );
      this.#waiters.set(request.id, {
        request,
        resolve,
        sent: options.sent,
        cleanup: () => {
          clearTimeout(timer);
          options.signal?.removeEventListener("abort", onAbort);
          asking.abort();
        },
      });
      this.#count(request.tenant, +1);
      this.#startPolling();
      options.signal?.addEventListener("abort", onAbort, { once: true });
      if (options.signal?.aborted) onAbort();
      const failed = () => {
        // A person was asked and the asking failed (the client refused the request, went
        // away, reported an error): that is a denial, never "nobody could be asked" (which
        // `onUnavailable: "allow"` would let through), unless the request already ended.
        if (asking.signal.aborted) return;
        void this.#settleHeld(request.tenant, request.id, "denied", {
          approve: false,
          reason: "the approver's client did not answer the request",
          scope: "call",
          decidedBy: options.channel?.approver ?? "channel",
        });
      };
      try {
        const asked = options.channel?.ask?.(request, asking.signal);
        asked?.then((answer) => {
          if (answer) void this.#answerAsked(request, answer);
        }, failed);
      } catch {
        failed();
      }
    });
  }

  /**
   * Answers a pending request of `tenant`.
   * @throws GatewayError `not_found` for an id that is unknown or another tenant's (the two
   *   look alike); `conflict` for one that was already answered, expired or withdrawn (a dead
   *   replica's request is withdrawn here, and recorded), or that ended otherwise while the
   *   answer was offered (or the holder took it and ended the call otherwise: its confirmed
   *   status); `state_unavailable` (retry after 1 s) when the store cannot be reached (an answer
   *   to a call held here may still have been taken: this replica then acts on it and records
   *   it), or the replica holding the call does not listen now, or did not take the answer
   *   within {@linkcode TAKE_WAIT_MS} and the offer is withdrawn (it never acts on it)
   * @returns the outcome the holder acted on, or an {@linkcode UnconfirmedAnswer} when the
   *   call is held by another replica and what became of the answer is not known yet
   */
  async answer(
    tenant: string,
    id: string,
    answer: ApprovalAnswer,
  ): Promise<ApprovalOutcome | UnconfirmedAnswer> {
    const clean: ApprovalAnswer = {
      approve: answer.approve,
      scope: answer.scope ?? "call",
      decidedBy: answer.decidedBy,
    };
    // The approver's own words may hold personal data: masked before they are stored (a
    // shared store) or shown to the code.
    if (answer.reason) {
      // Bounded before it is masked (the detectors' work), losing its last, possibly partial,
      // word: half a card number is no longer one to them. Masking lengthens it; the masked
      // text is then cut to its bound where no mask is split, and the cut is marked.
      const reason = answer.reason.length > MAX_REASON_INPUT_CHARS
        ? dropPartialToken(answer.reason.slice(0, MAX_REASON_INPUT_CHARS))
        : answer.reason;
      clean.reason = cutText(
        redactText(reason, { mode: "mask" }).text,
        MAX_APPROVAL_REASON_CHARS,
      );
    }
    const status = answer.approve ? "approved" : "denied";
    // Held elsewhere, in a shared store: offered to the holder, which acts on it if it takes it.
    const held = this.#waiters.get(id)?.request.tenant === tenant;
    if (!held && this.store.offer) return await this.#offer(tenant, id, status, clean);
    const result = await reach(() => this.store.settle(tenant, id, status, clean));
    if (result) {
      const outcome: ApprovalOutcome = { status, decidedAt: Date.now(), answer: clean };
      // The store may have woken the waiter already (its notice); this is then a no-op.
      this.#wake({ tenant, id, status, at: outcome.decidedAt, answer: clean });
      return await this.#sentOrUnconfirmed(tenant, id, outcome, clean);
    }
    return await this.#notPending(tenant, id);
  }

  /**
   * An answer this broker settled for a call it holds: an approved call is reported approved
   * only once it was sent to its server (waiting up to {@linkcode ACT_WAIT_MS}: it may wait for
   * a slot), as not sent when the execution ended first, else as unconfirmed (`GET` tells).
   * @throws GatewayError `conflict` when the approved call was stopped before it was sent
   */
  async #sentOrUnconfirmed(
    tenant: string,
    id: string,
    outcome: ApprovalOutcome,
    answer: ApprovalAnswer,
  ): Promise<ApprovalOutcome | UnconfirmedAnswer> {
    const sending = this.#sending.get(takeKey(tenant, id));
    if (!sending) {
      // Woken by the store's notice before this answer got here: what it confirmed, if it did.
      if (outcome.status !== "approved" || !this.store.acted) return outcome;
      const acted = await this.store.acted(tenant, id).catch(() => undefined);
      if (acted?.status === "not_sent") throw new GatewayError("conflict", actedOtherwise(acted));
      return outcome;
    }
    let timer: ReturnType<typeof setTimeout> | undefined;
    const acted = await Promise.race([
      sending,
      new Promise<undefined>((r) => timer = setTimeout(() => r(undefined), ACT_WAIT_MS)),
    ]).finally(() => clearTimeout(timer));
    if (acted?.status === "approved") return outcome;
    if (acted) throw new GatewayError("conflict", actedOtherwise(acted));
    return {
      status: "unconfirmed",
      decision: "approved",
      taken: "taken",
      answer,
      offeredAt: outcome.decidedAt,
    };
  }

  /**
   * Notes that a pending request of `tenant` is being put to the client of MCP session
   * `ask.session` (an elicitation), whose answers are recorded as `ask.approver`, so that the
   * client's reply reaching another replica is given to this one ({@linkcode answerReply}). Best
   * effort: a store that cannot note it (one process, unreachable) leaves the reply to the replica
   * that sent the elicitation. Call it before the elicitation is sent.
   * @returns whether it was noted
   */
  async noteAsked(tenant: string, id: string, ask: ApprovalAsk): Promise<boolean> {
    if (!this.store.markAsked) return false;
    try {
      return await this.store.markAsked(tenant, id, ask);
    } catch {
      return false;
    }
  }

  /**
   * A client's reply to an approval elicitation that reached this replica although another one
   * sent it (a round-robin balancer): given to the holder through the offer path as the answer of
   * the approver the holder noted (`noteAsked`), only when the reply came on the session that was
   * asked. Retried each second while approvals cannot be reached or the holder does not take it
   * yet (busy, not listening), for up to {@linkcode REPLY_RETRY_MS} and only while the request is
   * pending. Never rejects.
   * @param id the reply's JSON-RPC id (the approval's id, as the holder sent it)
   * @param answerFor the reply as an answer of `approver`
   */
  async answerReply(
    tenant: string,
    session: string,
    id: string,
    answerFor: (approver: string) => ApprovalAnswer,
  ): Promise<ReplyOutcome> {
    if (!this.store.asked) return "unknown";
    const until = Date.now() + REPLY_RETRY_MS;
    let found = false;
    while (!this.#closed) {
      let ask: ApprovalAsk | undefined | null = null;
      try {
        ask = await this.store.asked(tenant, id);
      } catch { /* unreachable: retried */ }
      if (ask !== null) {
        // Gone after it was found: the request ended meanwhile (settled, expired).
        if (ask === undefined || ask.session !== session) return found ? "ended" : "unknown";
        found = true;
        try {
          const given = await this.answer(tenant, id, answerFor(ask.approver));
          return given.status === "unconfirmed" ? "unconfirmed" : "delivered";
        } catch (error) {
          if (!(error instanceof GatewayError)) return "failed";
          if (error.kind === "conflict" || error.kind === "not_found") return "ended";
          if (error.kind !== "state_unavailable") return "failed";
        }
      }
      if (Date.now() + POLL_MS > until) break;
      await new Promise((r) => setTimeout(r, POLL_MS));
    }
    return "failed";
  }

  /**
   * An answer to a call held by another replica: offered to it, then reported as what the holder
   * did with it once it confirmed acting on it, or withdrawn when it did not take it within
   * {@linkcode TAKE_WAIT_MS} (503, only once the withdrawal succeeded: it may be hung or cut off
   * from the store; its own deadline decides). A take and a withdrawal racing are decided by the
   * store (one of them wins). Taken but not confirmed in time, or not known: unconfirmed.
   */
  async #offer(
    tenant: string,
    id: string,
    status: "approved" | "denied",
    answer: ApprovalAnswer,
  ): Promise<ApprovalOutcome | UnconfirmedAnswer> {
    let offered;
    try {
      offered = await this.store.offer!(tenant, id, status, answer, OFFER_TTL_MS);
    } catch (error) {
      if (error instanceof GatewayError) throw error;
      // The offer may have reached Redis with its reply lost: then the holder may take it. Not
      // "not taken": unknown, and said so (a 202 would also answer for Redis being down).
      throw new GatewayError(
        "state_unavailable",
        "approvals cannot be reached now; the answer may still have been given to the replica " +
          "holding the call: GET /v1/approvals/{id} tells",
        { retryAfter: 1 },
      );
    }
    if (offered === "unreachable" || offered === "busy") {
      throw new GatewayError(
        "state_unavailable",
        offered === "busy"
          ? "another answer to this approval is being given to the replica holding the call; try again"
          : "the replica holding this call does not answer now; try again",
        { retryAfter: 1 },
      );
    }
    if (offered === "orphaned") {
      await reach(() => this.#withdrawOrphan(tenant, id));
      throw new GatewayError(
        "conflict",
        "this approval is no longer pending (withdrawn: the replica holding the call is gone)",
      );
    }
    if (offered === undefined) return await this.#notPending(tenant, id);
    const key = takeKey(tenant, id);
    const deadline = Date.now() + TAKE_WAIT_MS;
    try {
      while (Date.now() < deadline) {
        // Woken early by the settlement's notice; else re-read every TAKE_CHECK_MS.
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, Math.min(TAKE_CHECK_MS, deadline - Date.now()));
          this.#takes.set(key, () => {
            clearTimeout(timer);
            resolve();
          });
        });
        const settled = await this.store.settled(tenant, id).catch(() => undefined);
        if (settled) return await this.#confirmed(tenant, id, settled, status, answer, offered.at);
      }
    } finally {
      this.#takes.delete(key);
    }
    const unknown: UnconfirmedAnswer = {
      status: "unconfirmed",
      decision: status,
      taken: "unknown",
      answer,
      offeredAt: offered.at,
    };
    const notTaken = new GatewayError(
      "state_unavailable",
      "the replica holding the call did not take the answer; try again",
      { retryAfter: 1 },
    );
    let withdrawn: boolean;
    try {
      withdrawn = await this.store.withdrawOffer!(tenant, id);
    } catch {
      // Neither withdrawn nor known to be taken (the holder may take it until it lapses): "not
      // taken" would be a guess. A later answer tells.
      return unknown;
    }
    // Known not taken: the holder can no longer take it.
    if (withdrawn) throw notTaken;
    // Taken (or the request ended otherwise) just before the withdrawal: report that.
    const settled = await this.store.settled(tenant, id).catch(() => undefined);
    if (settled) return await this.#confirmed(tenant, id, settled, status, answer, offered.at);
    return unknown;
  }

  /**
   * The request was settled while an answer was offered: by that answer (the holder took it),
   * then reported once the holder confirms what it did with it (up to {@linkcode ACT_WAIT_MS});
   * or otherwise (`conflict`).
   * @throws GatewayError `conflict` when the request ended otherwise, or the holder took the
   *   answer and confirmed it ended the call otherwise (its deadline passed first)
   */
  async #confirmed(
    tenant: string,
    id: string,
    settled: SettledApproval,
    status: "approved" | "denied",
    answer: ApprovalAnswer,
    offeredAt: number,
  ): Promise<ApprovalOutcome | UnconfirmedAnswer> {
    const outcome = reported(settled, status, offeredAt);
    // A store that keeps no confirmations settles only where the call is held (one process).
    if (!this.store.acted) return outcome;
    const deadline = Date.now() + ACT_WAIT_MS;
    while (true) {
      const acted = await this.store.acted(tenant, id).catch(() => undefined);
      if (acted?.status === status) return outcome;
      if (acted) throw new GatewayError("conflict", actedOtherwise(acted));
      const left = deadline - Date.now();
      if (left <= 0) break;
      await new Promise((r) => setTimeout(r, Math.min(TAKE_CHECK_MS, left)));
    }
    return { status: "unconfirmed", decision: status, taken: "taken", answer, offeredAt };
  }

  /**
   * Why an answer settled nothing: 409 for a request that ended, 404 for an unknown one.
   * @throws GatewayError always
   */
  async #notPending(tenant: string, id: string): Promise<never> {
    const settled = await reach(() => this.store.settled(tenant, id));
    if (settled && this.store.acted) {
      // What the holder confirmed it did, which may differ from the record (a take whose reply
      // it never got: it ended the call at its deadline); or that it has not confirmed yet.
      const acted = await reach(() => this.store.acted!(tenant, id));
      throw new GatewayError(
        "conflict",
        acted?.status === "not_sent"
          ? actedOtherwise(acted)
          : acted
          ? `this approval is no longer pending (${acted.status})`
          : `this approval is no longer pending (${settled.status}; the replica holding the ` +
            `call has not confirmed acting on it)`,
      );
    }
    if (settled) {
      throw new GatewayError("conflict", `this approval is no longer pending (${settled.status})`);
    }
    throw new GatewayError("not_found", "there is no such approval");
  }

  /**
   * The holder takes an answer offered for a call it holds (given through another replica) and
   * acts on it: wakes the call with it and records it. Only an offer heard of while the call
   * waits, and only before its deadline on the store's clock: a take held up on the wire never
   * lands for a call that ended. A take whose reply is lost is learnt from the record by the
   * poll; the call's own deadline waits for a take in flight (`#end`).
   */
  async #take(tenant: string, id: string, offer: string): Promise<void> {
    const waiter = this.#waiters.get(id);
    if (waiter?.request.tenant !== tenant || !this.store.take || this.#taking.has(id)) return;
    const taking = this.store.take(tenant, id, offer, waiter.request.expiresAt)
      .catch(() => undefined);
    this.#taking.set(id, taking);
    try {
      const taken = await taking;
      if (taken) this.#wake({ tenant, id, ...taken.settlement });
    } finally {
      this.#taking.delete(id);
    }
  }

  /**
   * The pending requests of `tenant`, oldest first; a dead replica's are withdrawn (and
   * recorded) first.
   * @throws GatewayError `state_unavailable` (retry after 1 s) when the store cannot be reached
   */
  async list(tenant: string): Promise<ApprovalRequest[]> {
    await reach(() => this.#reap(tenant));
    return await reach(() => this.store.list(tenant));
  }

  /**
   * Where a request of `tenant` stands, as the store knows it now: pending; or settled, with
   * what the replica holding the call confirmed it did (`acted`, absent until it confirms;
   * a store without confirmations settles only where the call is held, so its record is what
   * was done). A dead replica's pending requests are withdrawn (and recorded) first.
   * @returns `undefined` for an id that is unknown, another tenant's, or forgotten
   * @throws GatewayError `state_unavailable` (retry after 1 s) when the store cannot be reached
   */
  async lookup(tenant: string, id: string): Promise<ApprovalStanding | undefined> {
    await reach(() => this.#reap(tenant));
    if (await reach(() => this.store.get(tenant, id))) return { status: "pending" };
    const settled = await reach(() => this.store.settled(tenant, id));
    if (!settled) return undefined;
    const acted = this.store.acted
      ? await reach(() => this.store.acted!(tenant, id))
      : { status: settled.status, at: settled.at };
    return acted ? { status: "settled", settled, acted } : { status: "settled", settled };
  }

  /** Pending requests waiting in this process, per tenant (for the gauge). */
  pending(): Array<{ tenant: string; count: number }> {
    return [...this.#pendingByTenant].map(([tenant, count]) => ({ tenant, count }));
  }

  /**
   * Records a request that was never put to anyone (`unavailable`, `over_capacity`,
   * `withdrawn` before it began) and returns its outcome.
   */
  recordUnasked(input: NewApprovalRequest, status: ApprovalStatus): ApprovalOutcome {
    const now = Date.now();
    return this.#unasked(
      { ...input, id: crypto.randomUUID(), requestedAt: now, expiresAt: now },
      status,
    );
  }

  /** Withdraws every request waiting in this process (the gateway is closing). */
  async close(): Promise<void> {
    this.#closed = true;
    this.#unsubscribe?.();
    this.#unsubscribe = undefined;
    this.#unsubscribeOffers?.();
    this.#unsubscribeOffers = undefined;
    await Promise.all(
      [...this.#waiters].map(([id, w]) => this.#end(w.request.tenant, id, "withdrawn")),
    );
    clearInterval(this.#poller);
    this.#poller = undefined;
    // One last try for confirmations the store refused so far.
    clearInterval(this.#confirmer);
    this.#confirmer = undefined;
    await this.#retryConfirmations();
    this.#unconfirmed.clear();
    this.#settledHere.clear();
  }

  /**
   * Confirms in the store what this broker did with a request it held (woke the call with
   * `status`, recorded it), or withdrew as a dead replica's. While the store cannot be reached
   * it is retried each second (for up to {@linkcode CONFIRM_RETRY_MS}): the store then holds
   * what the holder did, as its row does.
   */
  #confirm(tenant: string, id: string, acted: ActedApproval): void {
    if (!this.store.markActed) return;
    const key = takeKey(tenant, id);
    this.#retried(key, async () => {
      await this.store.markActed!(tenant, id, acted);
      this.#settledHere.delete(key);
    });
  }

  /**
   * A request whose registering failed (the store did not answer `add`; the call was refused
   * and recorded `denied`) may still have landed, with this replica's lease: it is settled as
   * that denial, best effort and retried like a confirmation, so it is never listed as pending,
   * answered in vain or withdrawn later as a dead replica's (a second, contradicting row). When
   * it had landed, what was done is confirmed too. Nothing is recorded again.
   */
  #settleUnregistered(request: ApprovalRequest, answer: ApprovalAnswer): void {
    const { tenant, id } = request;
    this.#retried(`add\u0000${takeKey(tenant, id)}`, async () => {
      // Settled by this try, or by an earlier one whose reply was lost (its record says so).
      const settled = typeof await this.store.settle(tenant, id, "denied", answer) === "object" ||
        (await this.store.settled(tenant, id))?.status === "denied";
      if (settled) this.#confirm(tenant, id, { status: "denied", at: Date.now() });
    });
  }

  /** Runs `write` now and, while the store refuses it, each second for {@linkcode CONFIRM_RETRY_MS}. */
  #retried(key: string, write: () => Promise<void>): void {
    write().catch(() => {
      this.#unconfirmed.set(key, { write, until: Date.now() + CONFIRM_RETRY_MS });
      if (this.#confirmer !== undefined) return;
      const confirmer = setInterval(() => void this.#retryConfirmations(), POLL_MS);
      Deno.unrefTimer(confirmer);
      this.#confirmer = confirmer;
    });
  }

  async #retryConfirmations(): Promise<void> {
    if (this.#confirming) return;
    this.#confirming = true;
    try {
      for (const [key, entry] of [...this.#unconfirmed]) {
        const { write, until } = entry;
        try {
          await write();
          // Only this write: a later one for the key (the holder's last word) stays queued.
          if (this.#unconfirmed.get(key) === entry) this.#unconfirmed.delete(key);
        } catch {
          if (Date.now() > until) {
            this.#unconfirmed.delete(key);
            this.#settledHere.delete(key);
          }
        }
      }
    } finally {
      this.#confirming = false;
      if (this.#unconfirmed.size === 0) {
        clearInterval(this.#confirmer);
        this.#confirmer = undefined;
      }
    }
  }

  /**
   * Ends a waiting request by its timeout or withdrawal. When another replica settled it first
   * (its notice missed: pub/sub is at most once), the decision is read back; when the store
   * cannot be reached, the call still ends here with `status` (and is recorded so), so no
   * waiter outlives its timeout.
   */
  async #end(tenant: string, id: string, status: "timeout" | "withdrawn"): Promise<void> {
    // A take in flight may have settled it (each store call is bounded): its result first.
    await this.#taking.get(id);
    if (await this.#settleHeld(tenant, id, status)) return;
    if (!this.#waiters.has(id)) return;
    const settled = await this.store.settled(tenant, id).catch(() => undefined);
    this.#wake(settled ? { tenant, id, ...settled } : { tenant, id, status, at: Date.now() });
  }

  /**
   * With a store that announces settlements (`subscribe`: Redis, shared by replicas; the
   * in-memory one too, where a re-read is a map look-up), re-reads every waiting request's
   * record each second: a settlement whose notice this replica missed (its subscriber was
   * reconnecting) still wakes its call within about a second, and renews the holder leases
   * that tell other replicas this one lives. Runs only while calls wait here.
   */
  #startPolling(): void {
    if (!this.store.subscribe || this.#poller !== undefined) return;
    const poller = setInterval(() => void this.#poll(), POLL_MS);
    Deno.unrefTimer(poller);
    this.#poller = poller;
  }

  async #poll(): Promise<void> {
    if (this.#waiters.size === 0 && this.#settledHere.size === 0) {
      clearInterval(this.#poller);
      this.#poller = undefined;
      return;
    }
    if (this.#polling) return;
    this.#polling = true;
    try {
      const held = [...this.#waiters].map(([id, w]) => ({ tenant: w.request.tenant, id }));
      await Promise.all([
        this.store.renew?.([...held, ...this.#settledHere.values()]).catch(() => {}),
        ...held.map(async ({ tenant, id }) => {
          // An answer offered whose notice was missed is taken here.
          const offer = await this.store.pendingOffer?.(tenant, id).catch(() => undefined);
          if (offer) await this.#take(tenant, id, offer);
          const settled = await this.store.settled(tenant, id).catch(() => undefined);
          if (settled) this.#wake({ tenant, id, ...settled });
        }),
      ]);
    } finally {
      this.#polling = false;
    }
  }

  #unasked(
    request: ApprovalRequest,
    status: ApprovalStatus,
    answer?: ApprovalAnswer,
  ): ApprovalOutcome {
    const outcome: ApprovalOutcome = { status, decidedAt: Date.now() };
    if (answer) outcome.answer = answer;
    this.#emit(request, outcome);
    return outcome;
  }

  /**
   * Settles a request this broker holds (its timeout, withdrawal, or a failed asking) and
   * wakes the call. False when it was not pending or the store failed (the caller reads back).
   */
  async #settleHeld(
    tenant: string,
    id: string,
    status: ApprovalStatus,
    answer?: ApprovalAnswer,
  ): Promise<boolean> {
    let result;
    try {
      result = await this.store.settle(tenant, id, status, answer);
    } catch {
      return false;
    }
    if (typeof result !== "object") return false;
    this.#wake({ tenant, id, status, at: Date.now(), answer });
    return true;
  }

  /**
   * A person's answer from the call's own channel (MCP elicitation): retried each second
   * while the store cannot be reached and the call still waits, so a decision made during a
   * stall is taken (and recorded by this holder) rather than dropped. A request that ends
   * meanwhile (timeout, withdrawal) is recorded as that.
   */
  async #answerAsked(request: ApprovalRequest, answer: ApprovalAnswer): Promise<void> {
    while (this.#waiters.has(request.id)) {
      try {
        await this.answer(request.tenant, request.id, answer);
        return;
      } catch (error) {
        if (!(error instanceof GatewayError) || error.kind !== "state_unavailable") return;
      }
      await new Promise((r) => setTimeout(r, POLL_MS));
    }
  }

  /**
   * Withdraws and records the pending requests of `tenant` whose holder is gone, and settles
   * what is known of those it took an answer for (or settled) but died before confirming.
   */
  async #reap(tenant: string): Promise<void> {
    if (!this.store.orphans) return;
    for (const id of await this.store.orphans(tenant)) await this.#withdrawOrphan(tenant, id);
    for (const id of await this.store.abandoned?.(tenant) ?? []) {
      await this.#reapAbandoned(tenant, id);
    }
  }

  /**
   * A request its holder settled (its own deadline, or an answer it took) and then died before
   * confirming what it did: confirmed as what is known (`unknown` for an approval: the call may
   * have been sent; the request's status otherwise: nothing ran) and recorded, once, by the
   * broker that reaps it, so `GET` and the audit tell (red team rt-n2 N2-5).
   */
  async #reapAbandoned(tenant: string, id: string): Promise<void> {
    const settled = await this.store.settled(tenant, id);
    const status = settled?.status ?? "withdrawn";
    const acted: ActedApproval = {
      status: status === "approved" ? "unknown" : status,
      at: Date.now(),
    };
    const request = await this.store.reapTaken!(tenant, id, acted);
    if (!request) return;
    const note = status === "approved"
      ? "the replica holding the call died before confirming what it did: whether the call " +
        "was sent is unknown"
      : "the replica holding the call died before confirming what it did: the call did not run";
    const given = settled?.answer;
    const answer: ApprovalAnswer = given
      ? {
        ...given,
        reason: cutText(
          given.reason ? `${note}; the answer's reason: ${given.reason}` : note,
          MAX_APPROVAL_REASON_CHARS,
        ),
      }
      : { approve: false, reason: note, decidedBy: "airlock" };
    this.#emit(request, { status, decidedAt: settled?.at ?? acted.at, answer });
  }

  /**
   * Withdraws a dead replica's pending request (nobody holds its call: nothing ran) and
   * records that, once: only the broker whose settle took it records it.
   */
  async #withdrawOrphan(tenant: string, id: string): Promise<void> {
    const answer: ApprovalAnswer = {
      approve: false,
      reason: "the replica holding the call is gone",
      decidedBy: "airlock",
    };
    const request = await this.store.settle(tenant, id, "withdrawn", answer);
    if (typeof request !== "object") return;
    const decidedAt = Date.now();
    this.#emit(request, { status: "withdrawn", decidedAt, answer });
    this.#confirm(tenant, id, { status: "withdrawn", at: decidedAt });
  }

  /**
   * Resolves the call waiting here for `notice.id`, if this broker holds it, and records the
   * decision it acts on (once: the waiter is gone after).
   */
  #wake(notice: SettlementNotice): void {
    const waiter = this.#waiters.get(notice.id);
    if (!waiter || waiter.request.tenant !== notice.tenant) return;
    this.#waiters.delete(notice.id);
    this.#count(notice.tenant, -1);
    waiter.cleanup();
    const outcome: ApprovalOutcome = { status: notice.status, decidedAt: notice.at };
    if (notice.answer) outcome.answer = notice.answer;
    this.#emit(waiter.request, outcome);
    if (this.store.abandoned) {
      const key = takeKey(notice.tenant, notice.id);
      this.#settledHere.set(key, { tenant: notice.tenant, id: notice.id });
    }
    if (notice.status === "approved" && waiter.sent) {
      // Confirmed once the call was sent or stopped before: waking it is not running it.
      this.#confirmOnSend(notice.tenant, notice.id, notice.at, waiter.sent);
    } else {
      this.#confirm(notice.tenant, notice.id, { status: notice.status, at: notice.at });
    }
    waiter.resolve(outcome);
  }

  /**
   * Confirms `approved` once the woken call was handed to its server, `not_sent` when it was
   * stopped before (the execution ended, the gateway closed); meanwhile an answer at this
   * replica can wait for it (`#sending`).
   */
  #confirmOnSend(tenant: string, id: string, at: number, sent: Promise<boolean>): void {
    const key = takeKey(tenant, id);
    const acted = sent.then(
      (ran): ActedApproval =>
        ran ? { status: "approved", at } : { status: "not_sent", at: Date.now() },
      (): ActedApproval => ({ status: "not_sent", at: Date.now() }),
    );
    this.#sending.set(key, acted);
    void acted.then((done) => {
      this.#sending.delete(key);
      this.#confirm(tenant, id, done);
    });
  }

  #emit(request: ApprovalRequest, outcome: ApprovalOutcome): void {
    try {
      this.#onSettled({ request, outcome });
    } catch { /* recording never fails a call */ }
  }

  #count(tenant: string, delta: number): void {
    const next = (this.#pendingByTenant.get(tenant) ?? 0) + delta;
    if (next > 0) this.#pendingByTenant.set(tenant, next);
    else this.#pendingByTenant.delete(tenant);
  }
}

function takeKey(tenant: string, id: string): string {
  return `${tenant}\u0000${id}`;
}

/** The 409 text for an answer the holder took whose call it ended otherwise. */
function actedOtherwise(acted: ActedApproval): string {
  return acted.status === "not_sent"
    ? "this approval is no longer pending: it was approved, but the call was never sent to its " +
      "server (the execution ended first; not_sent)"
    : `this approval is no longer pending: the replica holding the call took the answer ` +
      `but ended the call otherwise (${acted.status})`;
}

/**
 * What the holder did with an offered answer, from the settled record: the answer itself (its
 * record carries the offer's time), or the request ended otherwise first (its own deadline).
 * @throws GatewayError `conflict` when the record holds another decision than the offered one
 */
function reported(
  settled: SettledApproval,
  status: "approved" | "denied",
  offeredAt: number,
): ApprovalOutcome {
  if (settled.status !== status || settled.at !== offeredAt) {
    throw new GatewayError("conflict", `this approval is no longer pending (${settled.status})`);
  }
  const outcome: ApprovalOutcome = { status, decidedAt: settled.at };
  if (settled.answer) outcome.answer = settled.answer;
  return outcome;
}

/**
 * Runs a store call; a failure of the store (Redis down, slow, restarting) becomes
 * `state_unavailable` with a retry hint, never an internal error.
 * @throws GatewayError `state_unavailable`, or the call's own GatewayError
 */
async function reach<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    if (error instanceof GatewayError) throw error;
    throw new GatewayError(
      "state_unavailable",
      `approvals cannot be reached now: ${(error as Error)?.message ?? String(error)}`,
      { retryAfter: 1 },
    );
  }
}
