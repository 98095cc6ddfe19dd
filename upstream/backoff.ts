/**
 * Restart delays: exponential, capped, with jitter so that many servers that failed
 * together do not all retry in the same instant.
 *
 * @module
 */

/** Bounds of the restart delay. */
export interface BackoffOptions {
  /** Delay before the first restart, in ms. */
  initialMs: number;
  /** Largest delay, in ms. */
  maxMs: number;
}

/**
 * The delay before restart number `attempt` (0 for the first): `initialMs · 2^attempt`,
 * capped at `maxMs`, then scaled by a random factor in [0.5, 1) ("equal jitter"), so the
 * delay never drops below half the nominal value and never exceeds the cap.
 *
 * @param attempt how many restarts failed in a row before this one
 * @param options the bounds
 * @param random a source of numbers in [0, 1); `Math.random` unless a test fixes it
 */
export function backoffDelay(
  attempt: number,
  options: BackoffOptions,
  random: () => number = Math.random,
): number {
  const exponent = Math.min(Math.max(0, Math.floor(attempt)), 30);
  const nominal = Math.min(options.maxMs, options.initialMs * 2 ** exponent);
  return Math.round(nominal * (0.5 + random() * 0.5));
}
