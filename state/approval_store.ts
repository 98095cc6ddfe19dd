/**
 * Pending human approvals in Redis, so that a request pending on replica A can be answered
 * through replica B: records per tenant with a cap, settled exactly once by a Lua script, and
 * every settlement published on a channel so the replica holding the waiting call wakes at once
 * (pub/sub on a second connection). Fits the gateway's `ApprovalStore` seam structurally; this
 * module knows only the fields it needs.
 *
 * What Redis holds: the request as the approver sees it (the tool id and its arguments, already
 * redacted by the gateway), and for an hour after settling the decision with the approver's
 * reason as given.
 *
 * @module
 */

import type { RedisConnection } from "./connection.ts";
import { APPROVAL_ADD, APPROVAL_SETTLE } from "./scripts.ts";

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
  /** How long a settled id is remembered, ms (default 1 hour). */
  settledTtlMs?: number;
  /** Receives subscription failures (for logs). */
  onError?: (error: unknown) => void;
}

/** Longest request record stored, in UTF-16 units of JSON (arguments are cut before). */
const MAX_RECORD_CHARS = 64 * 1024;

/** Pending approvals shared by replicas. */
export class RedisApprovalStore<
  R extends StoredApprovalRequest,
  S extends string,
  A,
> {
  readonly #conn: RedisConnection;
  readonly #prefix: string;
  readonly #settledTtlMs: number;
  readonly #onError: (error: unknown) => void;
  readonly #listeners = new Set<
    (notice: StoredSettlement<S, A> & { tenant: string; id: string }) => void
  >();
  #subscription: Promise<() => Promise<void>> | undefined;

  constructor(connection: RedisConnection, options: RedisApprovalStoreOptions) {
    this.#conn = connection;
    this.#prefix = options.keyPrefix;
    this.#settledTtlMs = options.settledTtlMs ?? 3_600_000;
    this.#onError = options.onError ?? (() => {});
  }

  /** @throws StateUnavailableError */
  async add(request: R, maxPerTenant: number): Promise<boolean> {
    const json = JSON.stringify(request);
    if (json.length > MAX_RECORD_CHARS) return false;
    // Kept a minute past its deadline: the broker settles it as a timeout by then.
    const ttl = Math.max(1000, request.expiresAt - Date.now() + 60_000);
    const added = await this.#conn.script(
      APPROVAL_ADD,
      [this.#key(request.tenant, request.id), this.#pendingKey(request.tenant)],
      [
        json,
        ttl,
        request.id,
        maxPerTenant,
        `${this.#prefix}approval:${request.tenant}:`,
        request.requestedAt,
      ],
    );
    return added === 1;
  }

  /** @throws StateUnavailableError */
  async get(tenant: string, id: string): Promise<R | undefined> {
    const json = await this.#conn.run((c) => c.get(this.#key(tenant, id)));
    return parse<R>(json, tenant);
  }

  /** @throws StateUnavailableError */
  async list(tenant: string): Promise<R[]> {
    const ids = await this.#conn.run((c) => c.zRange(this.#pendingKey(tenant), 0, -1));
    if (ids.length === 0) return [];
    const records = await this.#conn.run((c) => c.mGet(ids.map((id) => this.#key(tenant, id))));
    return records.map((json) => parse<R>(json, tenant)).filter((r): r is R => r !== undefined);
  }

  /** @throws StateUnavailableError */
  async settle(tenant: string, id: string, status: S, answer?: A): Promise<R | undefined> {
    const at = Date.now();
    const entry: StoredSettlement<S, A> = answer === undefined
      ? { status, at }
      : { status, at, answer };
    const json = await this.#conn.script(
      APPROVAL_SETTLE,
      [this.#key(tenant, id), this.#pendingKey(tenant), this.#settledKey(tenant, id)],
      [
        id,
        JSON.stringify(entry),
        this.#settledTtlMs,
        this.#channel(),
        JSON.stringify({ tenant, id, ...entry }),
      ],
    );
    return parse<R>(typeof json === "string" ? json : null, tenant);
  }

  /** @throws StateUnavailableError */
  async settled(tenant: string, id: string): Promise<StoredSettlement<S, A> | undefined> {
    const json = await this.#conn.run((c) => c.get(this.#settledKey(tenant, id)));
    if (typeof json !== "string") return undefined;
    try {
      return JSON.parse(json);
    } catch {
      return undefined;
    }
  }

  /**
   * Hears every settlement made by any replica (Redis pub/sub on a connection of its own,
   * opened on the first subscriber and resubscribed by the client after a reconnect).
   */
  subscribe(
    listener: (notice: StoredSettlement<S, A> & { tenant: string; id: string }) => void,
  ): () => void {
    this.#listeners.add(listener);
    this.#subscription ??= this.#conn.subscribe(this.#channel(), (message) => {
      let notice;
      try {
        notice = JSON.parse(message);
      } catch {
        return;
      }
      for (const l of this.#listeners) {
        try {
          l(notice);
        } catch (error) {
          this.#onError(error);
        }
      }
    });
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

  #key(tenant: string, id: string): string {
    return `${this.#prefix}approval:${tenant}:${id}`;
  }

  #pendingKey(tenant: string): string {
    return `${this.#prefix}approvals:${tenant}`;
  }

  #settledKey(tenant: string, id: string): string {
    return `${this.#prefix}approvalsettled:${tenant}:${id}`;
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
