/**
 * Where pending approvals live: a small seam ({@linkcode ApprovalStore}) so that a shared
 * backend (Redis, for several replicas) can replace the in-memory one. The store keeps the
 * records, arbitrates who settles a request first, and tells every broker that subscribed
 * about each settlement, so the replica holding the call wakes it whichever replica took the
 * answer.
 *
 * @module
 */

import type { ApprovalAnswer, ApprovalRequest, ApprovalStatus } from "./types.ts";

/** How a settled approval ended, remembered for a while so a late answer gets 409, not 404. */
export interface SettledApproval {
  status: ApprovalStatus;
  /** When it was settled, in ms since the epoch. */
  at: number;
  /** The person's answer, for `approved` and `denied`. */
  answer?: ApprovalAnswer;
}

/** One settlement, as a store announces it to its subscribers. */
export interface SettlementNotice extends SettledApproval {
  tenant: string;
  id: string;
}

/**
 * Why {@linkcode ApprovalStore.offer} offered nothing although the request is pending: its
 * holder (the replica whose call waits) is gone, its lease lapsed (`orphaned`: withdraw it), does
 * not listen now (`unreachable`: try again), or has another answer offered (`busy`).
 */
export type UnsettledReason = "orphaned" | "unreachable" | "busy";

/** An answer offered to the holder of a call: when it was given (its record's `at`, ms). */
export interface ApprovalOffer {
  at: number;
}

/**
 * What became of a call whose request was settled, beyond the request's own statuses:
 * `not_sent` (approved, but the call was stopped before it was sent to its server: the
 * execution ended first, while it waited for a slot or in between; it never reached the server);
 * `unknown` (approved, and the replica holding the call died before confirming what it did:
 * whether the call was sent is not known; set by the replica that found it gone).
 */
export type ActedStatus = ApprovalStatus | "not_sent" | "unknown";

/**
 * What the replica holding a call did with its request, as it confirms it: the status it acted
 * on and when, ms. `approved` is confirmed only once the call was handed to its server (the
 * call ran); `not_sent` when it was approved but stopped before that; any other status once it
 * has woken the call with it and recorded its row (`timeout`: it ended the call at its
 * deadline, whatever the request's record says).
 */
export interface ActedApproval {
  status: ActedStatus;
  at: number;
}

/**
 * Who was asked a pending request over MCP: an elicitation sent on one session, whose answers the
 * holder records as `approver`. Kept so that the client's reply, reaching another replica (a
 * round-robin balancer), is given to the holder as the same approver, and only from that session.
 */
export interface ApprovalAsk {
  /** The MCP session the elicitation was sent on. */
  session: string;
  /** The `decidedBy` of that session's answers, e.g. `mcp-client:key:sha256:<16 hex>`. */
  approver: string;
}

/**
 * The registry of pending approvals, per tenant. Every method is asynchronous so that a
 * networked store fits; each must be atomic for one id (two settles of the same id: exactly
 * one gets the request back).
 */
export interface ApprovalStore {
  /**
   * Adds a pending request unless its tenant already has `maxPerTenant` pending.
   * @returns whether it was added
   */
  add(request: ApprovalRequest, maxPerTenant: number): Promise<boolean>;
  /** A pending request of `tenant`, or `undefined` (unknown, settled, or another tenant's). */
  get(tenant: string, id: string): Promise<ApprovalRequest | undefined>;
  /** The pending requests of `tenant`, oldest first. */
  list(tenant: string): Promise<ApprovalRequest[]>;
  /**
   * Ends a pending request of `tenant` with `status` (any answer offered meanwhile is void). A
   * store shared by replicas may reject after it settled (a reply lost): the holder learns the
   * decision from the store anyway.
   * @returns the request when it was pending (this caller settled it), else `undefined`
   */
  settle(
    tenant: string,
    id: string,
    status: ApprovalStatus,
    answer?: ApprovalAnswer,
  ): Promise<ApprovalRequest | undefined>;
  /**
   * A shared store: offers a person's answer, taken through a replica that does not hold the
   * call, to the replica that does. Nothing is settled until the holder takes it
   * ({@linkcode take}); the offer lapses after `ttlMs` or when withdrawn. Optional: without it
   * such an answer settles the request directly (one process).
   * @returns the offer; an {@linkcode UnsettledReason}; `undefined` when not pending
   */
  offer?(
    tenant: string,
    id: string,
    status: ApprovalStatus,
    answer: ApprovalAnswer,
    ttlMs: number,
  ): Promise<ApprovalOffer | UnsettledReason | undefined>;
  /**
   * The holder takes the answer offered for a call it holds: the request is settled with it,
   * only while that offer (`offer`, the id it heard of) stands and `deadline` (the request's
   * `expiresAt`) has not passed on the store's clock. Present with `offer`.
   * @returns the request and the decision, or `undefined` when it was not taken
   */
  take?(
    tenant: string,
    id: string,
    offer: string,
    deadline: number,
  ): Promise<{ request: ApprovalRequest; settlement: SettledApproval } | undefined>;
  /** The id of the offer standing for a request, if any. Present with `offer`. */
  pendingOffer?(tenant: string, id: string): Promise<string | undefined>;
  /**
   * Withdraws an offer unless the holder took it first (atomic against `take`). Present with
   * `offer`.
   * @returns whether an offer stood and is now withdrawn
   */
  withdrawOffer?(tenant: string, id: string): Promise<boolean>;
  /**
   * Calls `listener` when an answer is offered for a call this store's user holds, so it takes
   * it at once (the broker also tries each second: notices may be missed). Present with `offer`.
   * @returns a function that ends the listening
   */
  onOffer?(listener: (offer: { tenant: string; id: string; offer: string }) => void): () => void;
  /**
   * The holder confirms what it did with a request (after waking the call and recording it; for
   * `approved`, once the call was sent or stopped before it was), so a replica that offered an
   * answer, or `GET /v1/approvals/{id}`, reports only what is known. Replaces an earlier
   * confirmation (the holder's is the last word). Kept within the store's per-tenant bound on
   * settled requests. Present with `offer`; the in-memory store keeps it too.
   */
  markActed?(tenant: string, id: string, acted: ActedApproval): Promise<void>;
  /** What the holder confirmed it did with a request, if it did (and it is remembered). */
  acted?(tenant: string, id: string): Promise<ActedApproval | undefined>;
  /**
   * A shared store: notes who was asked a pending request over MCP, while it is pending (gone
   * when it is settled or expires: at most one per pending request). Optional: without it a
   * reply reaches only the replica that sent the elicitation.
   * @returns whether it was noted (false: the request is not pending)
   */
  markAsked?(tenant: string, id: string, ask: ApprovalAsk): Promise<boolean>;
  /** Who was asked a pending request over MCP, if it still is pending and was asked so. */
  asked?(tenant: string, id: string): Promise<ApprovalAsk | undefined>;
  /** How a recently settled request of `tenant` ended, or `undefined` when not remembered. */
  settled(tenant: string, id: string): Promise<SettledApproval | undefined>;
  /**
   * Calls `listener` for every settlement made through this store by any of its users (a
   * shared store: by any replica), so the broker that holds the waiting call wakes it.
   * Optional: without it, a request can only be settled by the broker that holds it.
   * @returns a function that ends the subscription
   */
  subscribe?(listener: (notice: SettlementNotice) => void): () => void;
  /**
   * Renews the holder leases of the requests this broker waits on (a shared store: they
   * show that the holder lives). Called every second while calls wait. Optional.
   */
  renew?(held: Array<{ tenant: string; id: string }>): Promise<void>;
  /**
   * Pending requests of `tenant` whose holder is gone (a dead replica's): whoever finds them
   * withdraws and records them. Optional (one process: a holder never outlives its store).
   */
  orphans?(tenant: string): Promise<string[]>;
  /**
   * Settled requests of `tenant` whose holder died before confirming what it did (a shared
   * store keeps the holder's lease until it confirms): whoever finds them settles what is known
   * ({@linkcode reapTaken}). Present with `orphans`.
   */
  abandoned?(tenant: string): Promise<string[]>;
  /**
   * Confirms `acted` for one of {@linkcode abandoned}'s requests, once.
   * @returns the request when this caller reaped it (it records it), else `undefined`
   */
  reapTaken?(
    tenant: string,
    id: string,
    acted: ActedApproval,
  ): Promise<ApprovalRequest | undefined>;
}

/** Options of {@linkcode MemoryApprovalStore}. */
export interface MemoryApprovalStoreOptions {
  /** Settled ids remembered per tenant (default 1,000; the oldest is forgotten first). */
  maxSettledPerTenant?: number;
  /** How long a settled id is remembered, in ms (default 1 hour). */
  settledTtlMs?: number;
  /** The clock (tests). */
  now?: () => number;
}

/** An {@linkcode ApprovalStore} in this process's memory: one replica only. */
export class MemoryApprovalStore implements ApprovalStore {
  #listeners = new Set<(notice: SettlementNotice) => void>();
  #pending = new Map<string, Map<string, ApprovalRequest>>();
  /** Settled requests per tenant, with what the holder confirmed it did (once it did). */
  #settled = new Map<string, Map<string, SettledApproval & { acted?: ActedApproval }>>();
  #maxSettled: number;
  #ttlMs: number;
  #now: () => number;

  constructor(options: MemoryApprovalStoreOptions = {}) {
    this.#maxSettled = options.maxSettledPerTenant ?? 1000;
    this.#ttlMs = options.settledTtlMs ?? 3_600_000;
    this.#now = options.now ?? Date.now;
  }

  add(request: ApprovalRequest, maxPerTenant: number): Promise<boolean> {
    let pending = this.#pending.get(request.tenant);
    if (!pending) this.#pending.set(request.tenant, pending = new Map());
    if (pending.size >= maxPerTenant) return Promise.resolve(false);
    pending.set(request.id, request);
    return Promise.resolve(true);
  }

  get(tenant: string, id: string): Promise<ApprovalRequest | undefined> {
    return Promise.resolve(this.#pending.get(tenant)?.get(id));
  }

  list(tenant: string): Promise<ApprovalRequest[]> {
    return Promise.resolve([...this.#pending.get(tenant)?.values() ?? []]);
  }

  settle(
    tenant: string,
    id: string,
    status: ApprovalStatus,
    answer?: ApprovalAnswer,
  ): Promise<ApprovalRequest | undefined> {
    const pending = this.#pending.get(tenant);
    const request = pending?.get(id);
    if (!request) return Promise.resolve(undefined);
    pending!.delete(id);
    if (pending!.size === 0) this.#pending.delete(tenant);
    let settled = this.#settled.get(tenant);
    if (!settled) this.#settled.set(tenant, settled = new Map());
    const now = this.#now();
    const entry: SettledApproval = answer ? { status, at: now, answer } : { status, at: now };
    settled.set(id, entry);
    // Insertion order is settling order: the oldest go first, by count and by age.
    for (const [oldId, entry] of settled) {
      if (settled.size <= this.#maxSettled && now - entry.at < this.#ttlMs) break;
      settled.delete(oldId);
    }
    for (const listener of this.#listeners) {
      try {
        listener({ tenant, id, ...entry });
      } catch { /* one subscriber's failure is not the settler's */ }
    }
    return Promise.resolve(request);
  }

  subscribe(listener: (notice: SettlementNotice) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  settled(tenant: string, id: string): Promise<SettledApproval | undefined> {
    const entry = this.#remembered(tenant, id);
    if (!entry) return Promise.resolve(undefined);
    const { acted: _, ...settled } = entry;
    return Promise.resolve(settled);
  }

  /**
   * Keeps what the holder did with a settled request, with its settled record (so within the
   * same per-tenant bound); a request no longer remembered is not recorded again.
   */
  markActed(tenant: string, id: string, acted: ActedApproval): Promise<void> {
    const entry = this.#remembered(tenant, id);
    if (entry) entry.acted = { status: acted.status, at: acted.at };
    return Promise.resolve();
  }

  /** What the holder confirmed it did with a settled request, if it did. */
  acted(tenant: string, id: string): Promise<ActedApproval | undefined> {
    return Promise.resolve(this.#remembered(tenant, id)?.acted);
  }

  #remembered(tenant: string, id: string) {
    const entry = this.#settled.get(tenant)?.get(id);
    return entry && this.#now() - entry.at < this.#ttlMs ? entry : undefined;
  }
}
