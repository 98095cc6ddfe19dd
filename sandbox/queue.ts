/**
 * A concurrency limit with a bounded waiting line: work beyond `concurrency` waits,
 * work beyond `concurrency + maxQueue` is refused at once rather than piling up.
 *
 * @module
 */

/** Thrown when the waiting line is full. */
export class QueueFullError extends Error {
  /** For clients: the gateway is saturated, retry later. */
  readonly kind = "queue_full";
  constructor(message: string) {
    super(message);
    this.name = "QueueFullError";
  }
}

/** Hands out execution slots. */
export class ExecutionQueue {
  #concurrency: number;
  #maxQueue: number;
  #active = 0;
  #waiting: Array<{ resolve: () => void; reject: (e: unknown) => void }> = [];

  /**
   * @param concurrency executions allowed to run at once
   * @param maxQueue executions allowed to wait for a slot
   */
  constructor(concurrency: number, maxQueue: number) {
    this.#concurrency = Math.max(1, concurrency);
    this.#maxQueue = Math.max(0, maxQueue);
  }

  /** Executions running now. */
  get active(): number {
    return this.#active;
  }

  /** Executions waiting for a slot. */
  get depth(): number {
    return this.#waiting.length;
  }

  /**
   * Waits for a slot. Returns the function that gives it back (call it exactly once).
   * @throws QueueFullError when the waiting line is full
   */
  async acquire(signal?: AbortSignal): Promise<() => void> {
    if (this.#active < this.#concurrency) {
      this.#active++;
      return this.#releaser();
    }
    if (this.#waiting.length >= this.#maxQueue) {
      throw new QueueFullError(
        `the sandbox is busy: ${this.#active} executions running and ${this.#waiting.length} waiting`,
      );
    }
    await new Promise<void>((resolve, reject) => {
      const entry = { resolve, reject };
      this.#waiting.push(entry);
      signal?.addEventListener("abort", () => {
        const at = this.#waiting.indexOf(entry);
        if (at >= 0) {
          this.#waiting.splice(at, 1);
          reject(signal.reason);
        }
      }, { once: true });
    });
    return this.#releaser();
  }

  #releaser(): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.#waiting.shift();
      // The slot passes straight to the next waiter, so `active` stays the same.
      if (next) next.resolve();
      else this.#active--;
    };
  }
}
