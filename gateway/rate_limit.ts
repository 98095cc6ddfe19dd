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

/** Token buckets and in-flight counters, one per tenant. */
export class RateLimiter {
  readonly #state: SharedState;

  /** @param state where buckets and counters live (default: this process's memory) */
  constructor(state: SharedState = new MemoryState()) {
    this.#state = state;
  }

  /**
   * Takes one request from the tenant's budget.
   * @throws GatewayError `rate_limited` with `retryAfter` seconds when none is left;
   *   `state_unavailable` when shared state cannot be reached
   */
  async take(tenant: Tenant): Promise<void> {
    if (!Number.isFinite(tenant.requestsPerMinute)) return;
    const capacity = tenant.requestsPerMinute;
    const decision = await shared(this.#state.takeToken(tenant.id, capacity, MINUTE_MS));
    if (!decision.allowed) {
      throw new GatewayError(
        "rate_limited",
        `tenant ${tenant.id} is over its limit of ${capacity} requests per minute`,
        { retryAfter: Math.max(1, Math.ceil(decision.retryAfterMs / 1000)) },
      );
    }
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
