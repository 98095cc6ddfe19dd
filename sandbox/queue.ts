/**
 * A concurrency limit with a bounded, fair waiting line: work beyond `concurrency`
 * waits, work beyond `concurrency + maxQueue` is refused at once rather than piling up,
 * and waiting work is served round-robin across keys (tenants), so one busy tenant
 * cannot starve the others.
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

interface Waiter {
  key: string;
  resolve: (hold: Hold) => void;
  reject: (e: unknown) => void;
}

/** A slot being held: by whom, since when. */
export interface Hold {
  /** The key (tenant) of the execution holding it. */
  readonly key: string;
  /** When it was handed out (`performance.now()`, ms). */
  readonly since: number;
}

/** Hands out execution slots. */
export class ExecutionQueue {
  #concurrency: number;
  #maxQueue: number;
  #active = 0;
  #depth = 0;
  /** Waiters per key; the Map's order is the round-robin order. */
  #waiting = new Map<string, Waiter[]>();
  /** The slots handed out and not yet given back. */
  #held = new Set<Hold>();

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
    return this.#depth;
  }

  /** The slots held now: whose and since when (for the admission estimate). */
  get holds(): ReadonlySet<Hold> {
    return this.#held;
  }

  /**
   * The waiters a new request of `key` would be served after, in the round-robin order:
   * per waiting key, in the order of the next round, how many of its waiters come first.
   * The request's own earlier waiters all do; of every other key, one per round before the
   * request's (one more if that key comes before the request's key in the round). O(keys).
   */
  waitingAhead(key = ""): [string, number][] {
    const own = this.#waiting.get(key)?.length ?? 0;
    // A key with no waiters joins at the back of the round: every other key comes first.
    let pastOwn = false;
    const ahead: [string, number][] = [];
    for (const [other, line] of this.#waiting) {
      if (other === key) {
        ahead.push([key, own]);
        pastOwn = true;
        continue;
      }
      ahead.push([other, Math.min(line.length, pastOwn ? own : own + 1)]);
    }
    return ahead;
  }

  /**
   * Waits for a slot. Returns the function that gives it back (call it exactly once).
   * @param key who is waiting (a tenant); waiters are served round-robin across keys
   * @throws QueueFullError when the waiting line is full
   */
  async acquire(signal?: AbortSignal, key = ""): Promise<() => void> {
    signal?.throwIfAborted();
    if (this.#active < this.#concurrency && this.#depth === 0) {
      this.#active++;
      return this.#releaser(this.#hold(key));
    }
    if (this.#depth >= this.#maxQueue) {
      // No counts: they are every tenant's, and would tell one tenant of the others' activity.
      throw new QueueFullError("the sandbox is busy: its queue is full");
    }
    const hold = await new Promise<Hold>((resolve, reject) => {
      const waiter = { key, resolve, reject };
      const line = this.#waiting.get(key) ?? [];
      line.push(waiter);
      this.#waiting.set(key, line);
      this.#depth++;
      signal?.addEventListener("abort", () => {
        const at = line.indexOf(waiter);
        if (at < 0) return;
        line.splice(at, 1);
        if (line.length === 0 && this.#waiting.get(key) === line) this.#waiting.delete(key);
        this.#depth--;
        reject(signal.reason);
      }, { once: true });
    });
    return this.#releaser(hold);
  }

  #hold(key: string): Hold {
    const hold = { key, since: performance.now() };
    this.#held.add(hold);
    return hold;
  }

  #releaser(hold: Hold): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#held.delete(hold);
      const next = this.#next();
      // The slot passes straight to the next waiter, so `active` stays the same.
      if (next) next.resolve(this.#hold(next.key));
      else this.#active--;
    };
  }

  /** Takes the first waiter of the first key, then moves that key to the back. */
  #next(): Waiter | undefined {
    for (const [key, line] of this.#waiting) {
      const waiter = line.shift();
      this.#waiting.delete(key);
      if (line.length > 0) this.#waiting.set(key, line);
      if (waiter) {
        this.#depth--;
        return waiter;
      }
    }
    return undefined;
  }
}
