/**
 * A bounded write-behind queue: records are accepted at once and written in batches a
 * moment later, off the response path. Nothing is dropped for lack of room: when the queue
 * is full, {@linkcode WriteBehind.push} returns a promise that resolves once the record has
 * a place (backpressure: the caller waits instead of the record being lost). A batch whose
 * write fails is reported to `onError` and not retried (a broken store must not stall every
 * execution behind it; the same as a failed synchronous write before).
 *
 * @module
 */

/** Options of a {@linkcode WriteBehind}. */
export interface WriteBehindOptions<T = unknown> {
  /** Records held before `push` applies backpressure (default 10,000). */
  maxPending?: number;
  /** Records per write call (default 500). */
  batchSize?: number;
  /** How long a first record waits for others to share its batch, in ms (default 5). */
  delayMs?: number;
  /** A write failed; `count` records of that batch are not stored. */
  onError?: (error: unknown, count: number) => void;
  /**
   * Whether a record counts in `written` and `failed` (and in `onError`'s count); default:
   * every one. (The audit's progress entries do not: they are not records of their own.)
   */
  counted?: (record: T) => boolean;
}

/** Figures for metrics. */
export interface WriteBehindStats {
  /** Records accepted and not yet written. */
  pending: number;
  /** Records written so far. */
  written: number;
  /** Records whose write failed. */
  failed: number;
  /** Times `push` had to wait for room. */
  backpressured: number;
}

/**
 * Write-behind in front of a batch writer. The writer may be synchronous (SQLite: then
 * {@linkcode flushSync} is available) or asynchronous.
 */
export class WriteBehind<T> {
  readonly #write: (batch: T[]) => void | Promise<void>;
  readonly #maxPending: number;
  readonly #batchSize: number;
  readonly #delayMs: number;
  readonly #onError: (error: unknown, count: number) => void;
  readonly #counted: ((record: T) => boolean) | undefined;
  #pending: T[] = [];
  /** Pushes waiting for room, in arrival order. */
  #waiting: Array<() => void> = [];
  #timer: ReturnType<typeof setTimeout> | undefined;
  #draining: Promise<void> | undefined;
  #stats = { written: 0, failed: 0, backpressured: 0 };

  /** @param write stores one batch (in order); may throw or reject */
  constructor(write: (batch: T[]) => void | Promise<void>, options: WriteBehindOptions<T> = {}) {
    this.#write = write;
    this.#maxPending = Math.max(1, options.maxPending ?? 10_000);
    this.#batchSize = Math.max(1, options.batchSize ?? 500);
    this.#delayMs = Math.max(0, options.delayMs ?? 5);
    this.#onError = options.onError ?? (() => {});
    this.#counted = options.counted;
  }

  /** Live figures. */
  stats(): WriteBehindStats {
    return { pending: this.#pending.length + this.#waiting.length, ...this.#stats };
  }

  /**
   * Queues one record. Returns `undefined` when it was accepted at once, or a promise that
   * resolves when it has been accepted (the queue was full: wait for it).
   */
  push(record: T): Promise<void> | undefined {
    if (this.#pending.length < this.#maxPending && this.#waiting.length === 0) {
      this.#pending.push(record);
      this.#schedule();
      return undefined;
    }
    this.#stats.backpressured++;
    const accepted = new Promise<void>((resolve) => {
      this.#waiting.push(() => {
        this.#pending.push(record);
        resolve();
      });
    });
    this.#schedule(true);
    return accepted;
  }

  /** Writes everything queued so far (including pushes waiting for room). */
  async flush(): Promise<void> {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    while (this.#pending.length > 0 || this.#waiting.length > 0 || this.#draining) {
      if (this.#draining) await this.#draining;
      else await this.#drain();
    }
  }

  /**
   * Writes everything queued now, synchronously. Only for a synchronous writer; an
   * asynchronous one is flushed with {@linkcode flush}.
   * @throws TypeError when the writer returned a promise
   */
  flushSync(): void {
    if (this.#draining) throw new TypeError("an asynchronous write is in progress; use flush()");
    clearTimeout(this.#timer);
    this.#timer = undefined;
    while (this.#pending.length > 0 || this.#waiting.length > 0) {
      const batch = this.#take();
      let result: void | Promise<void>;
      try {
        result = this.#write(batch);
      } catch (error) {
        this.#failed(error, this.#count(batch));
        continue;
      }
      if (result instanceof Promise) {
        // Not ours to block on: account for it and let flush() see it.
        this.#draining = result.then(
          () => void (this.#stats.written += this.#count(batch)),
          (error) => this.#failed(error, this.#count(batch)),
        ).finally(() => this.#draining = undefined);
        throw new TypeError("the writer is asynchronous; use flush()");
      }
      this.#stats.written += this.#count(batch);
    }
  }

  #schedule(now = false): void {
    if (this.#draining || (this.#timer !== undefined && !now)) return;
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#drain();
    }, now ? 0 : this.#delayMs);
  }

  /** Moves one batch out of the queue and admits waiting pushes into the room it made. */
  #take(): T[] {
    const batch = this.#pending.splice(0, this.#batchSize);
    while (this.#waiting.length > 0 && this.#pending.length < this.#maxPending) {
      this.#waiting.shift()!();
    }
    return batch;
  }

  #drain(): Promise<void> {
    this.#draining ??= (async () => {
      try {
        while (this.#pending.length > 0 || this.#waiting.length > 0) {
          const batch = this.#take();
          try {
            await this.#write(batch);
            this.#stats.written += this.#count(batch);
          } catch (error) {
            this.#failed(error, this.#count(batch));
          }
        }
      } finally {
        this.#draining = undefined;
      }
    })();
    return this.#draining;
  }

  /** The records of `batch` that count (see `WriteBehindOptions.counted`). */
  #count(batch: T[]): number {
    const counted = this.#counted;
    if (!counted) return batch.length;
    let n = 0;
    for (const record of batch) if (counted(record)) n++;
    return n;
  }

  #failed(error: unknown, count: number): void {
    this.#stats.failed += count;
    try {
      this.#onError(error, count);
    } catch { /* a failing error sink changes nothing */ }
  }
}
