/**
 * The in-memory backend: one process's token buckets and in-flight counters, as the
 * gateway has always kept them. No I/O; every answer is ready at once.
 *
 * @module
 */

import type { LeaseDecision, RateDecision, SharedState, StateHealth } from "./types.ts";

interface Bucket {
  tokens: number;
  updated: number;
}

/** Options of {@linkcode MemoryState}. */
export interface MemoryStateOptions {
  /** Clock in ms (tests inject one); default `performance.now`. */
  now?: () => number;
}

/** Shared state for a single process. */
export class MemoryState implements SharedState {
  /** Always `memory`. */
  readonly backend = "memory";
  #buckets = new Map<string, Bucket>();
  #inFlight = new Map<string, number>();
  #now: () => number;

  constructor(options: MemoryStateOptions = {}) {
    this.#now = options.now ?? (() => performance.now());
  }

  /** Synchronous form of {@linkcode takeToken}, for callers on the hot path. */
  takeTokenNow(key: string, capacity: number, windowMs: number, cost = 1): RateDecision {
    const need = Math.min(Math.max(1, cost), capacity);
    const perMs = capacity / windowMs;
    const now = this.#now();
    const bucket = this.#buckets.get(key) ?? { tokens: capacity, updated: now };
    bucket.tokens = Math.min(capacity, bucket.tokens + (now - bucket.updated) * perMs);
    bucket.updated = now;
    this.#buckets.set(key, bucket);
    if (bucket.tokens < need) {
      return {
        allowed: false,
        retryAfterMs: Math.max(1, Math.ceil((need - bucket.tokens) / perMs)),
      };
    }
    bucket.tokens -= need;
    return { allowed: true, retryAfterMs: 0 };
  }

  takeToken(key: string, capacity: number, windowMs: number, cost = 1): Promise<RateDecision> {
    return Promise.resolve(this.takeTokenNow(key, capacity, windowMs, cost));
  }

  /** Synchronous form of {@linkcode acquireSlot}. */
  acquireSlotNow(key: string, max: number): LeaseDecision {
    const current = this.#inFlight.get(key) ?? 0;
    if (current >= max) return { acquired: false, current };
    this.#inFlight.set(key, current + 1);
    let released = false;
    return {
      acquired: true,
      lease: {
        release: () => {
          if (released) return;
          released = true;
          this.#inFlight.set(key, (this.#inFlight.get(key) ?? 1) - 1);
        },
      },
    };
  }

  acquireSlot(key: string, max: number): Promise<LeaseDecision> {
    return Promise.resolve(this.acquireSlotNow(key, max));
  }

  health(): StateHealth {
    return { backend: "memory", up: true };
  }

  probe(): Promise<StateHealth> {
    return Promise.resolve(this.health());
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}
