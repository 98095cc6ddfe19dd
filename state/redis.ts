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
   * of it; a replica that dies stops renewing, and its slots come back within this time.
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
  readonly #renewTimer: ReturnType<typeof setInterval>;

  constructor(options: RedisStateOptions) {
    this.connection = new RedisConnection(options);
    this.keyPrefix = options.keyPrefix ?? "airlock:";
    this.#leaseMs = options.leaseMs ?? 15_000;
    this.#renewTimer = setInterval(() => this.#renew(), Math.max(50, this.#leaseMs / 3));
    Deno.unrefTimer(this.#renewTimer as unknown as number);
  }

  async takeToken(key: string, capacity: number, windowMs: number): Promise<RateDecision> {
    const [allowed, retry] = await this.connection.script(
      TAKE_TOKEN,
      [`${this.keyPrefix}rate:${key}`],
      [capacity, windowMs],
    ) as [number, number];
    return { allowed: allowed === 1, retryAfterMs: allowed === 1 ? 0 : Math.max(1, retry) };
  }

  async acquireSlot(key: string, max: number): Promise<LeaseDecision> {
    const held: HeldLease = { key: `${this.keyPrefix}inflight:${key}`, id: crypto.randomUUID() };
    const [acquired, current] = await this.connection.script(
      ACQUIRE_SLOT,
      [held.key],
      [max, this.#leaseMs, held.id],
    ) as [number, number];
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

  async close(): Promise<void> {
    clearInterval(this.#renewTimer);
    await this.connection.close();
  }

  #renew(): void {
    if (this.#held.size === 0) return;
    const held = [...this.#held];
    this.connection.script(
      RENEW_SLOTS,
      held.map((h) => h.key),
      [this.#leaseMs, ...held.map((h) => h.id)],
    ).catch(() => {
      // Redis is down: the leases may lapse, which only frees slots; nothing to do here.
    });
  }
}
