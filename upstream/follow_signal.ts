/**
 * A per-call abort signal that follows a longer-lived one.
 *
 * @module
 */

/** A signal for one call and the function that detaches it from its parent. */
export interface FollowingSignal {
  /** Aborts (with the parent's reason) when the parent does; `undefined` without a parent. */
  signal: AbortSignal | undefined;
  /** Detaches from the parent; call it once the call has settled. Idempotent. */
  release(): void;
}

/**
 * Makes a signal for one call that aborts when `parent` (an execution's signal) does, and
 * that can be detached once the call settles.
 *
 * Why: the MCP SDK (`Protocol.request`, @modelcontextprotocol/sdk 1.32.2) adds an `abort`
 * listener to the signal of every request and never removes it. Handed an execution's
 * signal directly, each tool call left one listener (and the request's closure) on it until
 * the execution ended: memory linear in the calls, and `addEventListener`'s duplicate check
 * over the whole list made the calls quadratic. The SDK's listener now lands on this
 * per-call signal, which is garbage once the call is over; the parent holds one listener
 * per call in flight, removed by {@linkcode FollowingSignal.release}.
 */
export function followSignal(parent: AbortSignal | undefined): FollowingSignal {
  if (!parent) return { signal: undefined, release() {} };
  const controller = new AbortController();
  if (parent.aborted) {
    controller.abort(parent.reason);
    return { signal: controller.signal, release() {} };
  }
  const onAbort = () => controller.abort(parent.reason);
  parent.addEventListener("abort", onAbort, { once: true });
  return {
    signal: controller.signal,
    release: () => parent.removeEventListener("abort", onAbort),
  };
}
