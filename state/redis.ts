/**
 * The Redis backend: token buckets and in-flight leases shared by every replica, each
 * decision one atomic Lua script.
 *
 * @module
 */

import { RedisConnection, type RedisConnectionOptions } from "./connection.ts";
import { ACQUIRE_SLOT, RENEW_SLOTS, TAKE_TOKEN } from "./scripts.ts";
import type { LeaseDecision, RateDecision, SharedState, StateHealth } from "./types.ts";

/** Options of {@linkcode RedisState}. */
export interface RedisStateOptions extends RedisConnectionOptions {
  /** Prefix of every key (default `airlock:`), so several deployments can share a Redis. */
  keyPrefix?: string;
  /**
   * Life of an in-flight lease in ms (default 15,000). Held leases are renewed every third
   * of it (and at once when Redis comes back); a replica that dies stops renewing, and its
   * slots come back within this time. A lease that lapsed while Redis was unreachable is
   * re-established by the next renewal: its execution still runs, so it counts again.
   */
  leaseMs?: number;
}

interface HeldLease {
  key: string;
  id: string;
}

/** Shared state in Redis. */
export class RedisState implements SharedState {
  /** Always `redis`. */
  readonly backend = "redis";
  /** The connection, shared with the other Redis stores of this gateway. */
  readonly connection: RedisConnection;
  /** The key prefix. */
  readonly keyPrefix: string;
  readonly #leaseMs: number;
  readonly #held = new Set<HeldLease>();
  /**
   * Acquisitions that failed here (timed out) but may still land in Redis: removed with the
   * next acquisition or renewal that reaches Redis, so no lease is held by nobody.
   */
  readonly #orphans = new Set<HeldLease>();
  readonly #renewTimer: ReturnType<typeof setInterval>;

  constructor(options: RedisStateOptions) {
    this.connection = new RedisConnection({
      ...options,
      onChange: (health) => {
        options.onChange?.(health);
        // Back after an outage: re-establish held leases at once, not a renewal period later.
        if (health.up) this.#renew();
      },
    });
    this.keyPrefix = options.keyPrefix ?? "airlock:";
    this.#leaseMs = options.leaseMs ?? 15_000;
    this.#renewTimer = setInterval(() => this.#renew(), Math.max(50, this.#leaseMs / 3));
    Deno.unrefTimer(this.#renewTimer as unknown as number);
  }

  async takeToken(
    key: string,
    capacity: number,
    windowMs: number,
    cost = 1,
  ): Promise<RateDecision> {
    const [allowed, retry] = await this.connection.script(
      TAKE_TOKEN,
      [`${this.keyPrefix}rate:${key}`],
      [capacity, windowMs, Math.min(Math.max(1, cost), capacity)],
    ) as [number, number];
    return { allowed: allowed === 1, retryAfterMs: allowed === 1 ? 0 : Math.max(1, retry) };
  }

  async acquireSlot(key: string, max: number): Promise<LeaseDecision> {
    const held: HeldLease = { key: `${this.keyPrefix}inflight:${key}`, id: crypto.randomUUID() };
    const mine = [...this.#held].filter((h) => h.key === held.key).map((h) => h.id);
    const orphans = [...this.#orphans].filter((h) => h.key === held.key);
    let acquired: number, current: number;
    try {
      [acquired, current] = await this.connection.script(
        ACQUIRE_SLOT,
        [held.key],
        [max, this.#leaseMs, held.id, mine.length, ...mine, ...orphans.map((h) => h.id)],
      ) as [number, number];
    } catch (error) {
      // It may still run in Redis (a stall, not an outage): remove it once Redis answers.
      this.#orphans.add(held);
      // Sent now on the same connection, Redis runs the removal right after the script.
      this.connection.run((c) => c.zRem(held.key, held.id))
        .then(() => this.#orphans.delete(held), () => {});
      throw error;
    }
    for (const o of orphans) this.#orphans.delete(o);
    if (acquired !== 1) return { acquired: false, current };
    this.#held.add(held);
    let released = false;
    return {
      acquired: true,
      lease: {
        release: () => {
          if (released) return;
          released = true;
          this.#held.delete(held);
          // Unreachable Redis: the lease expires by itself within leaseMs.
          this.connection.run((c) => c.zRem(held.key, held.id)).catch(() => {});
        },
      },
    };
  }

  health(): StateHealth {
    return this.connection.health();
  }

  async probe(): Promise<StateHealth> {
    const health = this.connection.health();
    if (!health.up) return health;
    try {
      await this.connection.run((c) => c.ping());
      return health;
    } catch (error) {
      return { backend: "redis", up: false, error: (error as Error).message };
    }
  }

  async close(): Promise<void> {
    clearInterval(this.#renewTimer);
    await this.connection.close();
  }

  #renew(): void {
    if (this.#orphans.size > 0) {
      const orphans = [...this.#orphans];
      this.connection.run(async (c) => {
        for (const o of orphans) await c.zRem(o.key, o.id);
      }).then(() => orphans.forEach((o) => this.#orphans.delete(o)), () => {});
    }
    if (this.#held.size === 0) return;
    const held = [...this.#held];
    this.connection.script(
      RENEW_SLOTS,
      held.map((h) => h.key),
      [this.#leaseMs, ...held.map((h) => h.id)],
    ).catch(() => {
      // Redis is down: the leases may lapse; the next renewal that reaches it re-establishes
      // them (their executions still run), as does this replica's next acquisition.
    });
  }
}
