/**
 * Per-tenant request rate (token bucket) and in-flight limits, kept in the shared state
 * (memory for one process, Redis for several replicas). Refusals carry `Retry-After`; one
 * tenant's limits never delay another tenant. When shared state cannot be reached the
 * request is refused (`state_unavailable`, 503): never served without limits.
 *
 * @module
 */

import { MemoryState, type SharedState, StateUnavailableError } from "../state/mod.ts";
import { GatewayError } from "./errors.ts";
import type { Tenant } from "./tenants.ts";

const MINUTE_MS = 60_000;

/**
 * Characters of code one request token pays for. A request's code is scanned on the event loop
 * every tenant shares (its import/export rewrite, the tool-name scan) in time linear in its
 * length, so a request of 512 Ki characters costs 8 tokens of its tenant's requests per minute,
 * not one: the rate limit bounds each tenant's share of that work (red team rt-n3 B3).
 */
export const CODE_CHARS_PER_TOKEN = 64 * 1024;

/** Request tokens code of `chars` UTF-16 units costs: at least 1, one per started 64 Ki. */
export function codeCost(chars: number): number {
  return Math.max(1, Math.ceil(chars / CODE_CHARS_PER_TOKEN));
}

/** Token buckets and in-flight counters, one per tenant. */
export class RateLimiter {
  readonly #state: SharedState;

  /** @param state where buckets and counters live (default: this process's memory) */
  constructor(state: SharedState = new MemoryState()) {
    this.#state = state;
  }

  /**
   * Takes `cost` requests (default one; at most the tenant's whole budget) from the tenant's
   * budget.
   * @throws GatewayError `rate_limited` with `retryAfter` seconds when they are not left;
   *   `state_unavailable` when shared state cannot be reached
   */
  async take(tenant: Tenant, cost = 1): Promise<void> {
    if (!Number.isFinite(tenant.requestsPerMinute)) return;
    const capacity = tenant.requestsPerMinute;
    const decision = await shared(this.#state.takeToken(tenant.id, capacity, MINUTE_MS, cost));
    if (!decision.allowed) {
      throw new GatewayError(
        "rate_limited",
        `tenant ${tenant.id} is over its limit of ${capacity} requests per minute`,
        { retryAfter: Math.max(1, Math.ceil(decision.retryAfterMs / 1000)) },
      );
    }
  }

  /**
   * Takes the rest of a request's `cost` (see {@link codeCost}) after the one request its
   * interface took: `cost - 1`, but never so much that a request could not pass on a full
   * budget (at most `requestsPerMinute - 1`).
   * @throws GatewayError as {@link take}
   */
  async charge(tenant: Tenant, cost: number): Promise<void> {
    const rest = Math.min(cost, tenant.requestsPerMinute) - 1;
    if (rest >= 1) await this.take(tenant, rest);
  }

  /**
   * Counts an execution in flight (running or queued) for the tenant, over every replica
   * sharing the state; call the returned function when it ends.
   * @throws GatewayError `rate_limited` when the tenant already has its maximum in flight;
   *   `state_unavailable` when shared state cannot be reached
   */
  async enter(tenant: Tenant): Promise<() => void> {
    const decision = await shared(this.#state.acquireSlot(tenant.id, tenant.maxConcurrent));
    if (!decision.acquired) {
      throw new GatewayError(
        "rate_limited",
        `tenant ${tenant.id} already has ${decision.current} executions in flight (its maximum)`,
        { retryAfter: 1 },
      );
    }
    return () => decision.lease.release();
  }
}

/** Maps the state's outage error to the gateway's. */
async function shared<T>(pending: Promise<T>): Promise<T> {
  try {
    return await pending;
  } catch (error) {
    if (error instanceof StateUnavailableError) {
      throw new GatewayError("state_unavailable", error.message, { retryAfter: 1 });
    }
    throw error;
  }
}
