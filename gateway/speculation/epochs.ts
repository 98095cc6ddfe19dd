/**
 * Write epochs per upstream server, shared by every tenant and session of this gateway
 * process: a counter that goes up when a call that is not read-only starts and again when it
 * ends, and the number of such calls in flight. A prefetched or cached read is served only
 * when the epoch of its server is still the one it was fetched under and no write to that
 * server is in flight, so no result read before a write is ever served after it, whoever
 * (tenant, session, execution) made the write.
 *
 * @module
 */

/** Write epochs of the upstream servers. */
export class WriteEpochs {
  #epoch = new Map<string, number>();
  #writing = new Map<string, number>();

  /** The current epoch of `server` (0 before its first write). */
  of(server: string): number {
    return this.#epoch.get(server) ?? 0;
  }

  /** Whether a result fetched under `epoch` may be served now. */
  current(server: string, epoch: number): boolean {
    return this.of(server) === epoch && (this.#writing.get(server) ?? 0) === 0;
  }

  /** A write to `server` starts; returns the function that ends it (idempotent). */
  beginWrite(server: string): () => void {
    this.#bump(server);
    this.#writing.set(server, (this.#writing.get(server) ?? 0) + 1);
    let ended = false;
    return () => {
      if (ended) return;
      ended = true;
      const left = (this.#writing.get(server) ?? 1) - 1;
      if (left > 0) this.#writing.set(server, left);
      else this.#writing.delete(server);
      this.#bump(server);
    };
  }

  #bump(server: string): void {
    this.#epoch.set(server, this.of(server) + 1);
  }
}
