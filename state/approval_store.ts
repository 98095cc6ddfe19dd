/**
 * Pending human approvals in Redis, so that a request pending on replica A can be answered
 * through replica B: records per tenant with a cap, settled exactly once by a Lua script, and
 * every settlement published on a channel so the replica holding the waiting call wakes at once
 * (pub/sub on a second connection). Fits the gateway's `ApprovalStore` seam structurally; this
 * module knows only the fields it needs.
 *
 * What Redis holds: the request as the approver sees it (the tool id and its arguments, already
 * redacted by the gateway, which may still name people, places or health data detection does
 * not catch) and, for an hour after settling, the decision with the approver's reason: both
 * sealed with AES-256-GCM under a key derived from the vault key (bound to tenant, id and kind
 * of record), so Redis holds neither in clear. Tenant ids, approval ids (random UUIDs) and
 * request times are in clear, as the rest of the shared state's.
 *
 * Who holds each call: the replica that added a request holds the waiting call and is the one
 * that acts on its decision. It keeps a lease per request (a key naming it, renewed while it
 * waits) and listens on a channel of its own. A person's answer through another replica is only
 * offered to the holder (while it lives: a dead holder's request, lease lapsed, is withdrawn
 * instead, and one whose holder has no connection to Redis is refused for now); the holder takes
 * it (settles the request with it, in one script) and acts on it, or the answering replica
 * withdraws the offer (one `DEL`) when the holder did not take it in time. Whichever comes
 * first wins, so an answer is settled only by a holder that took it. Having acted, the holder
 * confirms what it did (`markActed`, sealed, kept with its settled decision, within the same
 * per-tenant bound): the answering
 * replica reports a decision only once confirmed, since a take whose reply is lost settles the
 * record while the holder, never told, ends the call at its deadline.
 *
 * @module
 */

import type { RedisConnection } from "./connection.ts";
import {
  APPROVAL_ABANDONED,
  APPROVAL_ACTED,
  APPROVAL_ADD,
  APPROVAL_ASK,
  APPROVAL_ORPHANS,
  APPROVAL_REAP_TAKEN,
  APPROVAL_RENEW,
  APPROVAL_SETTLE,
} from "./scripts.ts";
import {
  decryptValue,
  deriveVaultKeys,
  encryptValue,
  parseVaultKey,
  type VaultKeys,
} from "./vault_crypto.ts";

/** The fields of an approval request this store relies on. */
export interface StoredApprovalRequest {
  id: string;
  tenant: string;
  /** ms since the epoch. */
  requestedAt: number;
  /** ms since the epoch: the record is kept until a little after this. */
  expiresAt: number;
}

/** A settled approval as remembered. */
export interface StoredSettlement<S extends string, A> {
  status: S;
  at: number;
  answer?: A;
}

/** Options of {@linkcode RedisApprovalStore}. */
export interface RedisApprovalStoreOptions {
  /** Key prefix (as the state's). */
  keyPrefix: string;
  /** The vault master key text (`AIRLOCK_VAULT_KEY`): 64 hex digits or base64 of 32 bytes. */
  masterKey: string;
  /** How long a settled id is remembered, ms (default 1 hour). */
  settledTtlMs?: number;
  /**
   * Settled decisions kept whole (with the approver's reason) per tenant, newest first (default
   * 5); older ones keep only their brief form (status and answer without the reason).
   */
  maxSettledPerTenant?: number;
  /** Settled decisions remembered at all per tenant, brief or whole (default 128). */
  maxBriefPerTenant?: number;
  /** Receives subscription failures (for logs). */
  onError?: (error: unknown) => void;
  /**
   * How long a request's holder lease lasts without renewal, ms (default 5,000): a replica
   * that died or cannot reach Redis this long has its requests withdrawn by the next reader.
   * The broker renews every second.
   */
  leaseMs?: number;
}

/** Why {@linkcode RedisApprovalStore.offer} offered nothing although the request is pending. */
export type UnsettledReason =
  /** The holder's lease lapsed (it died): the request should be withdrawn. */
  | "orphaned"
  /** The holder does not listen now (its connection is down, or it was just killed). */
  | "unreachable"
  /** Another answer is already offered to the holder (it has not taken it yet). */
  | "busy";

/** An answer offered to the holder: when it was given (the `at` its record will carry, ms). */
export interface StoredOffer {
  at: number;
}

/** An offer as the holder hears of it: which request, and the offer's id (to take that one). */
export interface OfferNotice {
  tenant: string;
  id: string;
  offer: string;
}

/**
 * The lease a holder keeps on a request it settled until it confirms what it did, ms (at least:
 * renewals then set the usual lease): a holder cut off for a few seconds (its take's reply
 * lost, its deadline passing) still confirms before anyone reaps it as dead.
 */
const TAKEN_LEASE_MS = 15_000;

/**
 * Who was asked a pending approval over MCP (an elicitation on one session), so a client's reply
 * that reaches another replica can be given to the holder as the same approver.
 */
export interface StoredAsk {
  /** The MCP session the elicitation was sent on: only a reply on it counts. */
  session: string;
  /** The `decidedBy` the holder gives that session's answers (`mcp-client:…`). */
  approver: string;
}

/** Longest MCP session id noted with an ask, in UTF-16 units (the gateway's are UUIDs). */
const MAX_ASK_SESSION_CHARS = 256;
/** Longest approver identity noted with an ask, in UTF-16 units. */
const MAX_ASK_APPROVER_CHARS = 256;

/** Most orphaned ids one {@linkcode RedisApprovalStore.orphans} returns. */
const MAX_ORPHANS = 32;

/** Longest request record stored, in UTF-8 bytes of JSON before sealing (arguments are cut before). */
const MAX_RECORD_BYTES = 64 * 1024;
/** Longest settled record kept whole, in UTF-8 bytes of JSON before sealing; a longer one is kept brief. */
const MAX_SETTLED_BYTES = 4 * 1024;
const encoder = new TextEncoder();

/**
 * Pending approvals shared by replicas: requests `R`, their statuses `S`, answers `A`, and the
 * statuses a holder confirms it acted on, `T` (the request's, or more: an approved call not sent).
 */
export class RedisApprovalStore<
  R extends StoredApprovalRequest,
  S extends string,
  A,
  T extends string = S,
> {
  readonly #conn: RedisConnection;
  readonly #prefix: string;
  readonly #settledTtlMs: number;
  readonly #maxSettled: number;
  readonly #maxBrief: number;
  readonly #onError: (error: unknown) => void;
  readonly #leaseMs: number;
  /** This store's holder id: its leases name it, its channel is named after it. */
  readonly #holder = crypto.randomUUID();
  readonly #listeners = new Set<
    (notice: StoredSettlement<S, A> & { tenant: string; id: string }) => void
  >();
  readonly #offerListeners = new Set<(offer: OfferNotice) => void>();
  #subscription: Promise<() => Promise<void>> | undefined;
  readonly #keys: Promise<VaultKeys>;

  /** @throws TypeError `invalid_vault_key` when the master key is not 32 bytes */
  constructor(connection: RedisConnection, options: RedisApprovalStoreOptions) {
    this.#conn = connection;
    this.#keys = deriveVaultKeys(parseVaultKey(options.masterKey), "airlock approvals v1");
    this.#prefix = options.keyPrefix;
    this.#settledTtlMs = options.settledTtlMs ?? 3_600_000;
    this.#maxSettled = options.maxSettledPerTenant ?? 5;
    this.#maxBrief = Math.max(this.#maxSettled, options.maxBriefPerTenant ?? 128);
    this.#onError = options.onError ?? (() => {});
    this.#leaseMs = options.leaseMs ?? 5000;
  }

  /** @throws StateUnavailableError */
  async add(request: R, maxPerTenant: number): Promise<boolean> {
    const json = JSON.stringify(request);
    if (encoder.encode(json).length > MAX_RECORD_BYTES) return false;
    const sealed = await encryptValue(
      await this.#keys,
      json,
      requestContext(request.tenant, request.id),
    );
    // Kept a minute past its deadline: the broker settles it as a timeout by then.
    const ttl = Math.max(1000, request.expiresAt - Date.now() + 60_000);
    const added = await this.#conn.script(
      APPROVAL_ADD,
      [
        this.#key(request.tenant, request.id),
        this.#pendingKey(request.tenant),
        this.#leaseKey(request.tenant, request.id),
      ],
      [
        sealed,
        ttl,
        request.id,
        maxPerTenant,
        `${this.#prefix}approval:${request.tenant}:`,
        request.requestedAt,
        this.#holder,
        this.#leaseMs,
        `${this.#prefix}approvalholder:${request.tenant}:`,
      ],
    );
    return added === 1;
  }

  /**
   * Renews the holder leases of requests this replica waits on, or settled without confirming
   * what it did yet (the broker calls it every second while it has any).
   * @throws StateUnavailableError
   */
  async renew(held: Array<{ tenant: string; id: string }>): Promise<void> {
    if (held.length === 0) return;
    const keys = held.flatMap(({ tenant, id }) => [
      this.#key(tenant, id),
      this.#takenKey(tenant, id),
      this.#leaseKey(tenant, id),
    ]);
    await this.#conn.script(APPROVAL_RENEW, keys, [this.#holder, this.#leaseMs]);
  }

  /**
   * Settled requests of `tenant` whose holder died before confirming what it did (its lease
   * lapsed), at most 32: the caller settles what is known ({@linkcode reapTaken}) and records it.
   * @throws StateUnavailableError
   */
  async abandoned(tenant: string): Promise<string[]> {
    const ids = await this.#conn.script(APPROVAL_ABANDONED, [this.#doneKey(tenant)], [
      `${this.#prefix}approvaltaken:${tenant}:`,
      `${this.#prefix}approvalholder:${tenant}:`,
      MAX_ORPHANS,
    ]);
    return Array.isArray(ids) ? ids.filter((id): id is string => typeof id === "string") : [];
  }

  /**
   * Confirms `acted` for a request whose holder died before confirming (see {@linkcode
   * abandoned}), once: only the caller that gets the request back records it.
   * @returns the request when this call reaped it, else `undefined`
   * @throws StateUnavailableError
   */
  async reapTaken(
    tenant: string,
    id: string,
    acted: { status: T; at: number },
  ): Promise<R | undefined> {
    const sealed = await this.#sealActed(tenant, id, acted);
    const request = await this.#conn.script(APPROVAL_REAP_TAKEN, [
      this.#takenKey(tenant, id),
      this.#leaseKey(tenant, id),
      this.#doneKey(tenant),
      this.#actedKey(tenant),
    ], [id, sealed, this.#settledTtlMs]);
    return await this.#open(request, tenant, id);
  }

  /**
   * Pending requests of `tenant` whose holder's lease lapsed (a dead replica's), at most 32:
   * the caller withdraws them (`settle(…, "withdrawn")`) and records that.
   * @throws StateUnavailableError
   */
  async orphans(tenant: string): Promise<string[]> {
    const ids = await this.#conn.script(APPROVAL_ORPHANS, [this.#pendingKey(tenant)], [
      `${this.#prefix}approval:${tenant}:`,
      `${this.#prefix}approvalholder:${tenant}:`,
      MAX_ORPHANS,
    ]);
    return Array.isArray(ids) ? ids.filter((id): id is string => typeof id === "string") : [];
  }

  /** @throws StateUnavailableError */
  async get(tenant: string, id: string): Promise<R | undefined> {
    const sealed = await this.#conn.run((c) => c.get(this.#key(tenant, id)));
    return await this.#open(sealed, tenant, id);
  }

  /**
   * The pending requests of `tenant` whose holder lives (lease held), oldest first.
   * @throws StateUnavailableError
   */
  async list(tenant: string): Promise<R[]> {
    const ids = await this.#conn.run((c) => c.zRange(this.#pendingKey(tenant), 0, -1));
    if (ids.length === 0) return [];
    const [records, leases] = await Promise.all([
      this.#conn.run((c) => c.mGet(ids.map((id) => this.#key(tenant, id)))),
      this.#conn.run((c) => c.mGet(ids.map((id) => this.#leaseKey(tenant, id)))),
    ]);
    // A request whose holder's lease lapsed cannot be acted on: not shown (it is withdrawn).
    const opened: Array<R | undefined> = await Promise.all(
      records.map((sealed, i) =>
        leases[i] === null ? undefined : this.#open(sealed, tenant, ids[i])
      ),
    );
    return opened.filter((r): r is R => r !== undefined);
  }

  /**
   * Settles a pending request once (the holder of the call: its timeout, its withdrawal, an
   * answer it took itself); an answer offered meanwhile is void. The decision is kept whole (at
   * most 4 KiB of JSON in UTF-8 bytes, the tenant's newest few) or brief (without the answer's
   * `reason`), both sealed.
   * @returns the request when this call settled it; `undefined` when it is not pending
   * @throws StateUnavailableError (the script may still have run: its reply was lost)
   */
  async settle(tenant: string, id: string, status: S, answer?: A): Promise<R | undefined> {
    const sealed = await this.#settleScript(
      tenant,
      id,
      "",
      await this.#entry(tenant, id, status, answer),
    );
    return await this.#open(sealed, tenant, id);
  }

  /**
   * Offers a person's answer to the replica holding the call (the answer came through another
   * replica): nothing is settled; the holder takes it ({@linkcode take}) and acts on it, or the
   * offer is withdrawn ({@linkcode withdrawOffer}). Offered only while the holder lives, one at
   * a time; an offer lapses by itself after `ttlMs`.
   * @returns the offer when made; an {@linkcode UnsettledReason}; `undefined` when the request
   *   is not pending
   * @throws StateUnavailableError (the offer may still have been made: it lapses after `ttlMs`)
   */
  async offer(
    tenant: string,
    id: string,
    status: S,
    answer: A | undefined,
    ttlMs: number,
  ): Promise<StoredOffer | UnsettledReason | undefined> {
    const entry = await this.#entry(tenant, id, status, answer);
    const result = await this.#settleScript(tenant, id, "offer", entry, {
      ttlMs,
      offer: crypto.randomUUID(),
    });
    if (result === 0) return "orphaned";
    if (result === 1) return "unreachable";
    if (result === 2) return "busy";
    if (result === 3) return { at: entry.at };
    return undefined;
  }

  /**
   * Takes the answer offered for a request this replica holds: settles the request with it, at
   * once and only while that offer (`offer`, its id) stands (not withdrawn, not lapsed, not
   * replaced) and `deadline` (ms since the epoch, the request's) has not passed on Redis's clock.
   * @returns the request and the decision taken, or `undefined` when it was not taken
   * @throws StateUnavailableError (the take may still have run: the decision is then in
   *   {@linkcode settled})
   */
  async take(
    tenant: string,
    id: string,
    offer: string,
    deadline: number,
  ): Promise<{ request: R; settlement: StoredSettlement<S, A> } | undefined> {
    const taken = await this.#settleScript(tenant, id, "take", undefined, { offer, deadline });
    if (!Array.isArray(taken)) return undefined;
    const [sealed, whole, brief] = taken;
    const request = await this.#open(sealed, tenant, id);
    const settlement = await this.#openSettled(whole, settledContext(tenant, id)) ??
      await this.#openSettled(brief, briefContext(tenant, id));
    return request && settlement ? { request, settlement } : undefined;
  }

  /**
   * The id of the answer offered for a request, if one stands (the holder's check each second,
   * for offers whose notice it missed).
   * @throws StateUnavailableError
   */
  async pendingOffer(tenant: string, id: string): Promise<string | undefined> {
    const offer = await this.#conn.run((c) => c.hGet(this.#offerKey(tenant, id), "o"));
    return typeof offer === "string" ? offer : undefined;
  }

  /**
   * Withdraws the answer offered for a request, unless its holder took it first (one `DEL`:
   * a take and a withdrawal cannot both win).
   * @returns whether an offer stood and is now withdrawn
   * @throws StateUnavailableError
   */
  async withdrawOffer(tenant: string, id: string): Promise<boolean> {
    return await this.#conn.run((c) => c.del(this.#offerKey(tenant, id))) === 1;
  }

  /**
   * Confirms what the holder did with a request (it woke the call and recorded it): kept sealed
   * in the tenant's confirmations, replacing an earlier one, and only while the tenant's settled
   * decisions remember the request (so confirmations are bounded per tenant as those are, and
   * forgotten with them). A holder that could not reach Redis writes it once it can again, so
   * Redis and its audit row agree.
   * @throws StateUnavailableError
   */
  async markActed(tenant: string, id: string, acted: { status: T; at: number }): Promise<void> {
    const sealed = await this.#sealActed(tenant, id, acted);
    await this.#conn.script(APPROVAL_ACTED, [
      this.#doneKey(tenant),
      this.#actedKey(tenant),
      this.#takenKey(tenant, id),
      this.#leaseKey(tenant, id),
    ], [id, sealed, this.#settledTtlMs]);
  }

  async #sealActed(tenant: string, id: string, acted: { status: T; at: number }): Promise<string> {
    return await encryptValue(
      await this.#keys,
      JSON.stringify({ status: acted.status, at: acted.at }),
      actedContext(tenant, id),
    );
  }

  /**
   * What the holder confirmed it did with a request, or `undefined` (not confirmed, or forgotten).
   * @throws StateUnavailableError
   */
  async acted(tenant: string, id: string): Promise<{ status: T; at: number } | undefined> {
    const sealed = await this.#conn.run((c) => c.hGet(this.#actedKey(tenant), id));
    const opened = await this.#openSettled(sealed, actedContext(tenant, id));
    // Sealed under this tenant's and id's context: written by `markActed`, so a `T`.
    return opened && typeof opened.status === "string" && typeof opened.at === "number"
      ? { status: opened.status as string as T, at: opened.at }
      : undefined;
  }

  /**
   * Notes who was asked a pending request over MCP (sealed, bound to tenant and id), living as
   * long as the request's record and deleted when it is settled: at most one per pending request.
   * @returns whether it was noted (false: not pending, or the ask is over its bounds)
   * @throws StateUnavailableError
   */
  async markAsked(tenant: string, id: string, ask: StoredAsk): Promise<boolean> {
    if (
      ask.session.length > MAX_ASK_SESSION_CHARS || ask.approver.length > MAX_ASK_APPROVER_CHARS
    ) return false;
    const sealed = await encryptValue(
      await this.#keys,
      JSON.stringify({ session: ask.session, approver: ask.approver }),
      askContext(tenant, id),
    );
    const noted = await this.#conn.script(
      APPROVAL_ASK,
      [this.#key(tenant, id), this.#askKey(tenant, id)],
      [sealed],
    );
    return noted === 1;
  }

  /**
   * Who was asked a pending request over MCP, or `undefined` (never asked so, settled, expired,
   * another tenant's).
   * @throws StateUnavailableError
   */
  async asked(tenant: string, id: string): Promise<StoredAsk | undefined> {
    const sealed = await this.#conn.run((c) => c.get(this.#askKey(tenant, id)));
    if (typeof sealed !== "string") return undefined;
    const json = await decryptValue(await this.#keys, sealed, askContext(tenant, id));
    if (json === undefined) return undefined;
    try {
      const { session, approver } = JSON.parse(json);
      return typeof session === "string" && typeof approver === "string"
        ? { session, approver }
        : undefined;
    } catch {
      return undefined;
    }
  }

  /** The decision records of one settlement, sealed: whole (when small enough), brief, notice. */
  async #entry(tenant: string, id: string, status: S, answer: A | undefined) {
    const at = Date.now();
    const entry: StoredSettlement<S, A> = answer === undefined
      ? { status, at }
      : { status, at, answer };
    const keys = await this.#keys;
    const json = JSON.stringify(entry);
    const whole = encoder.encode(json).length <= MAX_SETTLED_BYTES
      ? await encryptValue(keys, json, settledContext(tenant, id))
      : "";
    const brief = await encryptValue(
      keys,
      JSON.stringify(briefOf(entry)),
      briefContext(tenant, id),
    );
    // Published sealed too: the answer's reason is the approver's free text.
    const notice = JSON.stringify(
      whole === "" ? { tenant, id, sealed: brief, brief: true } : { tenant, id, sealed: whole },
    );
    return { at, whole, brief, notice };
  }

  #settleScript(
    tenant: string,
    id: string,
    mode: "" | "offer" | "take",
    entry: { whole: string; brief: string; notice: string } | undefined,
    offer: { ttlMs?: number; offer?: string; deadline?: number } = {},
  ): Promise<unknown> {
    return this.#conn.script(
      APPROVAL_SETTLE,
      [
        this.#key(tenant, id),
        this.#pendingKey(tenant),
        this.#settledKey(tenant, id),
        this.#doneKey(tenant),
        this.#briefKey(tenant),
        this.#leaseKey(tenant, id),
        this.#offerKey(tenant, id),
        this.#askKey(tenant, id),
        this.#actedKey(tenant),
        this.#takenKey(tenant, id),
      ],
      [
        id,
        entry?.whole ?? "",
        this.#settledTtlMs,
        this.#channel(),
        entry?.notice ?? "",
        entry?.brief ?? "",
        this.#maxSettled,
        this.#maxBrief,
        `${this.#prefix}approvalsettled:${tenant}:`,
        mode,
        `${this.#prefix}approvalholders:`,
        Math.max(1, Math.ceil(offer.ttlMs ?? 0)),
        JSON.stringify({ tenant, id, offer: offer.offer ?? "" }),
        offer.offer ?? "",
        Math.floor(offer.deadline ?? 0),
        `${this.#prefix}approvaltaken:${tenant}:`,
        Math.max(this.#leaseMs, TAKEN_LEASE_MS),
      ],
    );
  }

  /**
   * How a recently settled request ended: whole, or brief (no `reason`) once the tenant's newer
   * settlements pushed it out of the whole ones.
   * @throws StateUnavailableError
   */
  async settled(tenant: string, id: string): Promise<StoredSettlement<S, A> | undefined> {
    const sealed = await this.#conn.run((c) => c.get(this.#settledKey(tenant, id)));
    const whole = await this.#openSettled(sealed, settledContext(tenant, id));
    if (whole) return whole;
    const brief = await this.#conn.run((c) => c.hGet(this.#briefKey(tenant), id));
    return await this.#openSettled(brief, briefContext(tenant, id));
  }

  /**
   * Hears every settlement made by any replica (Redis pub/sub on a connection of its own,
   * opened on the first subscriber and resubscribed by the client after a reconnect).
   */
  subscribe(
    listener: (notice: StoredSettlement<S, A> & { tenant: string; id: string }) => void,
  ): () => void {
    this.#listeners.add(listener);
    // The holder channel on the same connection: while it has a subscriber, this replica lives.
    this.#subscription ??= this.#conn.subscribe(
      [this.#channel(), this.#holderChannel()],
      async (message, channel) => {
        if (channel === this.#holderChannel()) return this.#offered(message);
        if (channel !== this.#channel()) return;
        let tenant, id, sealed, brief;
        try {
          ({ tenant, id, sealed, brief } = JSON.parse(message));
        } catch {
          return;
        }
        if (typeof tenant !== "string" || typeof id !== "string") return;
        const entry = await this.#openSettled(
          sealed,
          brief === true ? briefContext(tenant, id) : settledContext(tenant, id),
        );
        if (entry === undefined) return;
        const notice = { ...entry, tenant, id };
        for (const l of this.#listeners) {
          try {
            l(notice);
          } catch (error) {
            this.#onError(error);
          }
        }
      },
    );
    this.#subscription.catch(this.#onError);
    return () => {
      this.#listeners.delete(listener);
      if (this.#listeners.size === 0 && this.#subscription) {
        const sub = this.#subscription;
        this.#subscription = undefined;
        sub.then((end) => end()).catch(() => {});
      }
    };
  }

  /**
   * Hears the answers offered to this replica for calls it holds (on its own channel): the
   * listener takes them ({@linkcode take}). Pub/sub is at most once: the holder also tries to
   * take each second. Needs {@linkcode subscribe} (the same connection).
   * @returns a function that ends the listening
   */
  onOffer(listener: (offer: OfferNotice) => void): () => void {
    this.#offerListeners.add(listener);
    return () => this.#offerListeners.delete(listener);
  }

  #offered(message: string): void {
    let tenant, id, offer;
    try {
      ({ tenant, id, offer } = JSON.parse(message));
    } catch {
      return;
    }
    if (typeof tenant !== "string" || typeof id !== "string" || typeof offer !== "string") return;
    for (const l of this.#offerListeners) {
      try {
        l({ tenant, id, offer });
      } catch (error) {
        this.#onError(error);
      }
    }
  }

  /** A request record opened, or undefined (gone, tampered, another key or tenant). */
  async #open(sealed: unknown, tenant: string, id: string): Promise<R | undefined> {
    if (typeof sealed !== "string") return undefined;
    const json = await decryptValue(await this.#keys, sealed, requestContext(tenant, id));
    return parse<R>(json, tenant);
  }

  async #openSettled(
    sealed: unknown,
    context: string,
  ): Promise<StoredSettlement<S, A> | undefined> {
    if (typeof sealed !== "string") return undefined;
    const json = await decryptValue(await this.#keys, sealed, context);
    if (json === undefined) return undefined;
    try {
      return JSON.parse(json);
    } catch {
      return undefined;
    }
  }

  #key(tenant: string, id: string): string {
    return `${this.#prefix}approval:${tenant}:${id}`;
  }

  #pendingKey(tenant: string): string {
    return `${this.#prefix}approvals:${tenant}`;
  }

  #settledKey(tenant: string, id: string): string {
    return `${this.#prefix}approvalsettled:${tenant}:${id}`;
  }

  #briefKey(tenant: string): string {
    return `${this.#prefix}approvalsbrief:${tenant}`;
  }

  #leaseKey(tenant: string, id: string): string {
    return `${this.#prefix}approvalholder:${tenant}:${id}`;
  }

  /** The tenant's confirmations of what holders did (a hash: id → sealed status). */
  #actedKey(tenant: string): string {
    return `${this.#prefix}approvalsacted:${tenant}`;
  }

  /** The tenant's settled ids, by settling time (the bound of its settled records). */
  #doneKey(tenant: string): string {
    return `${this.#prefix}approvalsdone:${tenant}`;
  }

  /** A settled request kept until its holder confirms what it did (sealed as the request). */
  #takenKey(tenant: string, id: string): string {
    return `${this.#prefix}approvaltaken:${tenant}:${id}`;
  }

  #offerKey(tenant: string, id: string): string {
    return `${this.#prefix}approvaloffer:${tenant}:${id}`;
  }

  #askKey(tenant: string, id: string): string {
    return `${this.#prefix}approvalask:${tenant}:${id}`;
  }

  #holderChannel(): string {
    return `${this.#prefix}approvalholders:${this.#holder}`;
  }

  #channel(): string {
    return `${this.#prefix}approvals:settled`;
  }
}

function parse<R extends StoredApprovalRequest>(
  json: string | null | undefined | unknown,
  tenant: string,
): R | undefined {
  if (typeof json !== "string") return undefined;
  try {
    const record = JSON.parse(json) as R;
    return record.tenant === tenant ? record : undefined;
  } catch {
    return undefined;
  }
}

function requestContext(tenant: string, id: string): string {
  return `airlock approval request\u0000${tenant}\u0000${id}`;
}

function settledContext(tenant: string, id: string): string {
  return `airlock approval settled\u0000${tenant}\u0000${id}`;
}

function actedContext(tenant: string, id: string): string {
  return `airlock approval acted\u0000${tenant}\u0000${id}`;
}

function askContext(tenant: string, id: string): string {
  return `airlock approval ask\u0000${tenant}\u0000${id}`;
}

function briefContext(tenant: string, id: string): string {
  return `airlock approval brief\u0000${tenant}\u0000${id}`;
}

/** A settlement without the answer's free text (`reason`): a few dozen bytes. */
function briefOf<S extends string, A>(entry: StoredSettlement<S, A>): StoredSettlement<S, A> {
  if (entry.answer === undefined || typeof entry.answer !== "object" || entry.answer === null) {
    return { status: entry.status, at: entry.at };
  }
  const { reason: _, ...rest } = entry.answer as Record<string, unknown>;
  return { status: entry.status, at: entry.at, answer: rest as A };
}
