/**
 * The session read cache and write epochs shared by replicas (`state.url`), over the Redis
 * store of `state/` (`RedisReadCache`): what {@linkcode SpeculationRun} uses beside this
 * process's own {@linkcode WriteEpochs} when state is shared.
 *
 * - A write bumps its group's shared epoch before it is sent upstream (the bridge awaits
 *   {@linkcode SharedReadCache.beginWrite}), so every replica's kept reads of the group are void
 *   before the write can take effect, let alone answer; the group's cache stays off while the
 *   write is in flight and, when its server did not answer, `unsettledMs` after.
 * - A look-up reads the entry and the epoch in one round trip; a result is kept only when the
 *   epoch is still the one seen before it was fetched (checked inside Redis).
 * - Redis unreachable or slow (its command deadline): a look-up is a miss, nothing is kept,
 *   the call goes upstream; never a stale result, never a failed execution. Each failure is
 *   counted (`airlock_speculation_cache_failures_total`) and the first of an outage is logged.
 *   A write whose bump failed is owed: until its end (the bump, and for a write its server did
 *   not answer the `unsettledMs` hold) reaches Redis, this replica serves and keeps nothing of
 *   the group; owed ends are paid as soon as Redis is reachable again (on reconnect, and
 *   retried every second), not only at this replica's next cache use (another replica that
 *   still reaches Redis may serve what it kept before that write until then: README, "Running
 *   several replicas", bounds). A begin that timed out may still have run in Redis: its end
 *   names the same write, so a late begin never keeps the group's cache off by itself.
 * - Holds this replica placed (writes in flight, unanswered writes within `unsettledMs`) are
 *   placed again when Redis comes back, so a Redis restarted empty does not drop them.
 *
 * @module
 */

import type { CallToolResult } from "../../upstream/mod.ts";
import type { ReadCacheRef } from "../../state/mod.ts";
import { type CacheLimits, resultChars } from "./cache.ts";
import type { WriteEpochs } from "./epochs.ts";

/** The Redis store's operations the cache uses (`RedisReadCache` of `state/`). */
export interface SharedCacheBackend {
  lookup(ref: ReadCacheRef): Promise<{ value?: string; epoch?: number }>;
  epoch(group: string): Promise<number | undefined>;
  put(ref: ReadCacheRef, value: string, epoch: number, ttlMs: number): Promise<number>;
  beginWrite(group: string, id: string, holdMs: number): Promise<void>;
  endWrite(group: string, id: string, answered: boolean, unsettledMs: number): Promise<void>;
  bump(group: string): Promise<void>;
  /** Calls `listener` each time Redis is reachable again; returns the unsubscriber. */
  onReconnect?(listener: () => void): () => void;
}

/** Most owed ends kept per group; past it the oldest answered ones go (their bump is kept). */
const MAX_OWED_PER_GROUP = 256;
/** Pause between attempts to pay owed ends while Redis does not answer, ms. */
const OWED_RETRY_MS = 1000;

/** Per-tenant counters of the shared cache, as this replica saw them. */
export interface SharedCacheCounts {
  hits: number;
  misses: number;
  evictions: number;
}

/** Options of {@linkcode SharedReadCache}. */
export interface SharedReadCacheOptions {
  /** Bounds: `maxCharsPerEntry` is checked here, the tenant's caps inside Redis. */
  limits: CacheLimits;
  /** How long an unanswered write keeps its group's cache off, ms (as {@linkcode WriteEpochs}). */
  unsettledMs: number;
  /** Log sink (a failure of the shared cache, its recovery). */
  log?: (event: Record<string, unknown>) => void;
}

/** The shared read cache of one replica. */
export class SharedReadCache {
  readonly #store: SharedCacheBackend;
  readonly #epochs: WriteEpochs;
  readonly #limits: CacheLimits;
  readonly #unsettledMs: number;
  readonly #log: (event: Record<string, unknown>) => void;
  /**
   * Ends of writes (or resets) that could not reach Redis, by group: write id → answered. Paid
   * (`endWrite`) before anything else of the cache, on reconnect and on a retry timer.
   */
  readonly #owed = new Map<string, Map<string, boolean>>();
  /** This replica's writes in flight, by group. */
  readonly #inFlight = new Map<string, number>();
  /** Until when (ms, this clock) this replica's unanswered writes hold each group's cache off. */
  readonly #holdUntil = new Map<string, number>();
  /** A name for this replica's re-placed holds (one per group in Redis). */
  readonly #holdId = `hold:${crypto.randomUUID()}`;
  #retry: ReturnType<typeof setTimeout> | undefined;
  #unsubscribe: (() => void) | undefined;
  #closed = false;
  /** Stores in flight, by entry: a look-up of the same entry waits for them. */
  readonly #pending = new Map<string, Promise<unknown>>();
  readonly #counts = new Map<string, SharedCacheCounts>();
  #failures = 0;
  #failing = false;

  /** @param epochs this replica's epochs: their groups are the shared ones' groups */
  constructor(store: SharedCacheBackend, epochs: WriteEpochs, options: SharedReadCacheOptions) {
    this.#store = store;
    this.#epochs = epochs;
    this.#limits = options.limits;
    this.#unsettledMs = options.unsettledMs;
    this.#log = options.log ?? (() => {});
    this.#unsubscribe = store.onReconnect?.(() => this.#reconnected());
  }

  /** Stops the retry timer and the reconnect listener. Idempotent. */
  close(): void {
    this.#closed = true;
    clearTimeout(this.#retry);
    this.#retry = undefined;
    this.#unsubscribe?.();
  }

  /** Failed operations of the shared cache since start (each one went upstream instead). */
  get failures(): number {
    return this.#failures;
  }

  /**
   * The kept result of a call and the group's epoch (undefined: nothing may be kept, a write
   * keeps the cache off or Redis failed). Never rejects.
   */
  async lookup(
    tenant: string,
    session: string,
    key: string,
    server: string,
  ): Promise<{ result?: CallToolResult; epoch?: number }> {
    const ref = this.#ref(tenant, session, key, server);
    const counts = this.#count(tenant);
    try {
      await this.#pending.get(this.#pendingKey(ref));
      await this.#payOwed();
      const found = await this.#store.lookup(ref);
      this.#ok();
      if (found.value !== undefined) {
        counts.hits++;
        return { result: JSON.parse(found.value) as CallToolResult, epoch: found.epoch };
      }
      counts.misses++;
      return { epoch: found.epoch };
    } catch (error) {
      counts.misses++;
      this.#failed("lookup", error);
      return {};
    }
  }

  /** The group's epoch of `server` now, or undefined (write in flight, Redis failed). */
  async epoch(server: string): Promise<number | undefined> {
    try {
      await this.#payOwed();
      const epoch = await this.#store.epoch(this.#group(server));
      this.#ok();
      return epoch;
    } catch (error) {
      this.#failed("epoch", error);
      return undefined;
    }
  }

  /** Whether a result of `server` fetched under shared `epoch` may be served now. */
  async current(server: string, epoch: number | undefined): Promise<boolean> {
    return epoch !== undefined && (await this.epoch(server)) === epoch;
  }

  /**
   * Keeps `result` (in the background) when it was fetched under the group's shared `epoch`,
   * is small enough and is not an error. Never rejects.
   */
  put(
    tenant: string,
    session: string,
    key: string,
    server: string,
    result: CallToolResult,
    epoch: number | undefined,
    ttlMs: number,
  ): void {
    if (epoch === undefined || ttlMs <= 0 || result.isError) return;
    const max = this.#limits.maxCharsPerEntry;
    if (resultChars(result, max) + key.length > max) return;
    const ref = this.#ref(tenant, session, key, server);
    const pendingKey = this.#pendingKey(ref);
    const stored = (async () => {
      try {
        await this.#payOwed();
        const evicted = await this.#store.put(ref, JSON.stringify(result), epoch, ttlMs);
        this.#ok();
        if (evicted > 0) this.#count(tenant).evictions += evicted;
      } catch (error) {
        this.#failed("put", error);
      }
    })();
    this.#pending.set(pendingKey, stored);
    stored.finally(() => {
      if (this.#pending.get(pendingKey) === stored) this.#pending.delete(pendingKey);
    });
  }

  /**
   * A write to `server` starts: resolves once its group's shared epoch is bumped (or that
   * failed and is owed), to the function that ends the write (idempotent, in the background).
   * Never rejects.
   */
  async beginWrite(server: string): Promise<(answered: boolean) => void> {
    const group = this.#group(server);
    const id = crypto.randomUUID();
    this.#inFlight.set(group, (this.#inFlight.get(group) ?? 0) + 1);
    let begun = false;
    try {
      await this.#store.beginWrite(group, id, 2 * this.#unsettledMs);
      begun = true;
      this.#ok();
    } catch (error) {
      // Owed as in flight (paid as a hold); the begin may yet run in Redis (a stall): the
      // write's end names the same id, so it never outlives the write.
      this.#owe(group, id, false);
      this.#failed("write", error);
    }
    let ended = false;
    return (answered) => {
      if (ended) return;
      ended = true;
      const left = (this.#inFlight.get(group) ?? 1) - 1;
      if (left > 0) this.#inFlight.set(group, left);
      else this.#inFlight.delete(group);
      if (!answered) {
        const until = Date.now() + this.#unsettledMs;
        this.#holdUntil.set(group, Math.max(until, this.#holdUntil.get(group) ?? 0));
      }
      if (!begun) {
        this.#owe(group, id, answered);
        return;
      }
      this.#store.endWrite(group, id, answered, this.#unsettledMs).then(
        () => this.#ok(),
        (error) => {
          // Paid later (a lapsed hold would end by itself within `2 × unsettledMs`).
          this.#owe(group, id, answered);
          this.#failed("write", error);
        },
      );
    };
  }

  /** `server` restarted or failed here: every replica's kept reads of its group are void. */
  reset(server: string): void {
    const group = this.#group(server);
    this.#store.bump(group).then(() => this.#ok(), (error) => {
      this.#owe(group, "reset", true);
      this.#failed("write", error);
    });
  }

  /** Counters per tenant. */
  counts(): Array<SharedCacheCounts & { tenant: string }> {
    return [...this.#counts].map(([tenant, c]) => ({ tenant, ...c }));
  }

  /** Counts an end (or a reset) owed to Redis and tries to pay it soon. */
  #owe(group: string, id: string, answered: boolean): void {
    let ends = this.#owed.get(group);
    if (!ends) {
      ends = new Map();
      this.#owed.set(group, ends);
    }
    ends.delete(id);
    ends.set(id, answered);
    if (ends.size > MAX_OWED_PER_GROUP) {
      // Every end bumps; an answered one only also removes a begin that may have run late.
      const oldest = [...ends].find(([, a]) => a)?.[0] ?? ends.keys().next().value!;
      ends.delete(oldest);
    }
    this.#schedule(0);
  }

  /** Pays what is owed now or after `ms`, again every {@linkcode OWED_RETRY_MS} until paid. */
  #schedule(ms: number): void {
    if (this.#closed || this.#retry !== undefined || this.#owed.size === 0) return;
    this.#retry = setTimeout(() => {
      this.#retry = undefined;
      this.#payOwed().then(() => this.#ok(), () => this.#schedule(OWED_RETRY_MS));
    }, ms);
    Deno.unrefTimer(this.#retry as unknown as number);
  }

  /** Redis is back: holds this replica placed may be gone (restarted empty); place them again. */
  #reconnected(): void {
    if (this.#closed) return;
    const now = Date.now();
    for (const [group, until] of [...this.#holdUntil]) {
      if (until <= now) this.#holdUntil.delete(group);
    }
    for (const group of new Set([...this.#inFlight.keys(), ...this.#holdUntil.keys()])) {
      // Unanswered: holds the group's cache off `unsettledMs` from now (a little longer than
      // the write's own hold: never shorter).
      if (!this.#owed.get(group)?.has(this.#holdId)) this.#owe(group, this.#holdId, false);
    }
    clearTimeout(this.#retry);
    this.#retry = undefined;
    this.#schedule(0);
  }

  async #payOwed(): Promise<void> {
    for (const [group, ends] of [...this.#owed]) {
      for (const [id, answered] of [...ends]) {
        await this.#store.endWrite(group, id, answered, this.#unsettledMs);
        if (ends.get(id) === answered) ends.delete(id);
      }
      if (ends.size === 0 && this.#owed.get(group) === ends) this.#owed.delete(group);
    }
  }

  #ref(tenant: string, session: string, key: string, server: string): ReadCacheRef {
    return { tenant, session, key, group: this.#group(server) };
  }

  #pendingKey(ref: ReadCacheRef): string {
    return JSON.stringify([ref.tenant, ref.session, ref.key]);
  }

  /** The Redis name of `server`'s write group: `*` for the shared one, `s:<server>` else. */
  #group(server: string): string {
    const group = this.#epochs.group(server);
    return group === server ? `s:${server}` : "*";
  }

  #count(tenant: string): SharedCacheCounts {
    let c = this.#counts.get(tenant);
    if (!c) {
      c = { hits: 0, misses: 0, evictions: 0 };
      this.#counts.set(tenant, c);
    }
    return c;
  }

  #ok(): void {
    if (!this.#failing) return;
    this.#failing = false;
    this.#log({ level: "info", msg: "speculation cache: shared state answers again" });
  }

  #failed(op: string, error: unknown): void {
    this.#failures++;
    if (this.#failing) return;
    this.#failing = true;
    this.#log({
      level: "warn",
      msg: "speculation cache: shared state failed; calls go upstream, nothing is served " +
        "from or kept in the cache until it answers",
      op,
      error: String((error as Error)?.message ?? error),
    });
  }
}
