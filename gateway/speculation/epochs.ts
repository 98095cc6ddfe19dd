/**
 * Write epochs per upstream server, shared by every tenant and session of this gateway
 * process: a counter that goes up when a call that is not read-only starts and again when it
 * ends, and the number of such calls in flight. A prefetched or cached read is served (or
 * kept) only when the epoch of its server is still the one it was fetched under and no write
 * to that server is in flight, so no result read before a write is ever served after it,
 * whoever (tenant, session, execution) made the write.
 *
 * A write that ended without an answer from its server (cancelled, timed out, the connection
 * lost) may still take effect there later, at a server that ignores
 * `notifications/cancelled`. For `unsettledMs` after such a write nothing of that server is
 * served or kept.
 *
 * @module
 */

/** Write epochs of the upstream servers. */
export class WriteEpochs {
  #epoch = new Map<string, number>();
  #writing = new Map<string, number>();
  #unsettledUntil = new Map<string, number>();
  readonly #unsettledMs: number;
  readonly #now: () => number;

  /**
   * @param unsettledMs how long after an unanswered write its server's reads are not served
   *   or kept (ms; the tool-call timeout is a good value)
   * @param now clock in ms (tests)
   */
  constructor(unsettledMs = 30_000, now: () => number = () => Date.now()) {
    this.#unsettledMs = unsettledMs;
    this.#now = now;
  }

  /** The current epoch of `server` (0 before its first write). */
  of(server: string): number {
    return this.#epoch.get(server) ?? 0;
  }

  /** Whether a result fetched under `epoch` may be served (or kept) now. */
  current(server: string, epoch: number): boolean {
    if (this.of(server) !== epoch || (this.#writing.get(server) ?? 0) !== 0) return false;
    const until = this.#unsettledUntil.get(server);
    if (until === undefined) return true;
    if (until > this.#now()) return false;
    this.#unsettledUntil.delete(server);
    return true;
  }

  /**
   * A write to `server` starts; returns the function that ends it (idempotent), told whether
   * the server answered the write (whatever the answer).
   */
  beginWrite(server: string): (answered: boolean) => void {
    this.#bump(server);
    this.#writing.set(server, (this.#writing.get(server) ?? 0) + 1);
    let ended = false;
    return (answered) => {
      if (ended) return;
      ended = true;
      const left = (this.#writing.get(server) ?? 1) - 1;
      if (left > 0) this.#writing.set(server, left);
      else this.#writing.delete(server);
      if (!answered) {
        const until = this.#now() + this.#unsettledMs;
        this.#unsettledUntil.set(server, Math.max(until, this.#unsettledUntil.get(server) ?? 0));
      }
      this.#bump(server);
    };
  }

  #bump(server: string): void {
    this.#epoch.set(server, this.of(server) + 1);
  }
}
