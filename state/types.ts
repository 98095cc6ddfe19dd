/**
 * The shared-state contract: what several gateway replicas must agree on (request rates,
 * executions in flight), with a memory backend for one process and a Redis backend for many.
 *
 * @module
 */

/** The answer to one request for a token of a rate limit. */
export interface RateDecision {
  /** Whether the request may go ahead (one token was taken). */
  allowed: boolean;
  /** When refused: ms until one token is back (at least 1). 0 when allowed. */
  retryAfterMs: number;
}

/** A held in-flight slot; release it when the work ends (idempotent). */
export interface Lease {
  /** Gives the slot back. Never throws; a backend that cannot be reached lets it expire. */
  release(): void;
}

/** The answer to one request for an in-flight slot. */
export type LeaseDecision =
  | { acquired: true; lease: Lease }
  | { acquired: false; /** Slots held at the time of refusal. */ current: number };

/** Whether the state backend can be used now, for `/readyz`. */
export interface StateHealth {
  /** `memory` (one process) or `redis` (shared by replicas). */
  backend: "memory" | "redis";
  /** Whether requests that need shared state can be served now. */
  up: boolean;
  /** Why not, when `up` is false (no credentials in it). */
  error?: string;
}

/**
 * Shared state of the gateway. Keys are short ASCII ids chosen by the gateway (tenant ids
 * from the configuration), never client input.
 *
 * Every method that talks to a remote backend rejects with {@linkcode StateUnavailableError}
 * when the backend cannot answer in time: callers fail closed.
 */
export interface SharedState {
  /** Which backend this is. */
  readonly backend: "memory" | "redis";
  /**
   * Takes `cost` tokens (default 1; more than `capacity` counts as `capacity`) from the bucket
   * `key` holding at most `capacity` tokens, refilled evenly over `windowMs` (a token bucket:
   * `capacity` per window, bursts up to `capacity`). Nothing is taken when they are not all
   * there.
   */
  takeToken(
    key: string,
    capacity: number,
    windowMs: number,
    cost?: number,
  ): Promise<RateDecision>;
  /**
   * Takes one of `max` in-flight slots of `key`. On a shared backend the slot is a lease that
   * expires unless renewed, so a replica that dies does not hold it; the lease is renewed
   * while it is held.
   */
  acquireSlot(key: string, max: number): Promise<LeaseDecision>;
  /** Current health, without a round trip. */
  health(): StateHealth;
  /**
   * Health checked with a round trip (Redis: `PING` within the command deadline), so a
   * backend whose socket is open but which answers nothing (stalled) is reported down.
   * Never rejects.
   */
  probe(): Promise<StateHealth>;
  /** Closes connections and timers. Idempotent. */
  close(): Promise<void>;
}

/**
 * The shared-state backend cannot be reached or did not answer in time. Requests that need
 * it are refused (HTTP 503, kind `state_unavailable`): never served without limits.
 */
export class StateUnavailableError extends Error {
  /** What a client can act on. */
  readonly kind = "state_unavailable";
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "StateUnavailableError";
  }
}
