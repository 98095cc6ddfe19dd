/**
 * Per-tenant request rate (token bucket) and in-flight limits. Refusals carry
 * `Retry-After`; one tenant's limits never delay another tenant.
 *
 * @module
 */

import { GatewayError } from "./errors.ts";
import type { Tenant } from "./tenants.ts";

interface Bucket {
  tokens: number;
  updated: number;
}

/** Token buckets and in-flight counters, one per tenant. */
export class RateLimiter {
  #buckets = new Map<string, Bucket>();
  #inFlight = new Map<string, number>();
  #now: () => number;

  /** @param now clock in ms (tests inject one) */
  constructor(now: () => number = () => performance.now()) {
    this.#now = now;
  }

  /**
   * Takes one request from the tenant's budget.
   * @throws GatewayError `rate_limited` with `retryAfter` seconds when none is left
   */
  take(tenant: Tenant): void {
    if (!Number.isFinite(tenant.requestsPerMinute)) return;
    const capacity = tenant.requestsPerMinute;
    const perMs = capacity / 60_000;
    const now = this.#now();
    const bucket = this.#buckets.get(tenant.id) ?? { tokens: capacity, updated: now };
    bucket.tokens = Math.min(capacity, bucket.tokens + (now - bucket.updated) * perMs);
    bucket.updated = now;
    this.#buckets.set(tenant.id, bucket);
    if (bucket.tokens < 1) {
      const retryAfter = Math.max(1, Math.ceil((1 - bucket.tokens) / perMs / 1000));
      throw new GatewayError(
        "rate_limited",
        `tenant ${tenant.id} is over its limit of ${capacity} requests per minute`,
        { retryAfter },
      );
    }
    bucket.tokens -= 1;
  }

  /**
   * Counts an execution in flight (running or queued) for the tenant; call the returned
   * function when it ends.
   * @throws GatewayError `rate_limited` when the tenant already has its maximum in flight
   */
  enter(tenant: Tenant): () => void {
    const current = this.#inFlight.get(tenant.id) ?? 0;
    if (current >= tenant.maxConcurrent) {
      throw new GatewayError(
        "rate_limited",
        `tenant ${tenant.id} already has ${current} executions in flight (its maximum)`,
        { retryAfter: 1 },
      );
    }
    this.#inFlight.set(tenant.id, current + 1);
    let left = false;
    return () => {
      if (left) return;
      left = true;
      this.#inFlight.set(tenant.id, (this.#inFlight.get(tenant.id) ?? 1) - 1);
    };
  }
}
