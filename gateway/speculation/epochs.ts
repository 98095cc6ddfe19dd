/**
 * Write epochs, shared by every tenant and session of this gateway process: a counter that
 * goes up when a call that is not read-only starts and again when it ends, and the number of
 * such calls in flight. A prefetched or cached read is served (or kept) only when the epoch is
 * still the one it was fetched under and no write is in flight, so no result read before a
 * write is ever served after it, whoever (tenant, session, execution) made the write.
 *
 * Which writes void which reads: servers can share state the gateway cannot see (two
 * filesystem servers over one directory, a git server beside a filesystem server), so by
 * default every server is in one group: a write to any server voids every server's reads. A
 * server the operator lists in `speculation.isolatedServers` has its own epoch: only writes to
 * it void its reads (and its writes void only its own reads). Epochs are global across tenants
 * on purpose (correctness first): upstream data is shared by tenants, so a tenant's write voids
 * the reads every other tenant has kept, and the `cached` mark can tell a tenant that someone
 * wrote (README, "Speculation", limits).
 *
 * A write that ended without an answer from its server (cancelled, timed out, the connection
 * lost) may still take effect there later, at a server that ignores `notifications/cancelled`.
 * For `unsettledMs` after such a write nothing of its group is served or kept. A server whose
 * connection restarts (or that fails) gets a new epoch: what it returned before is void.
 *
 * @module
 */

/** The group of every server that is not isolated. */
const SHARED = "\0shared";

/** Write epochs of the upstream servers. */
export class WriteEpochs {
  #epoch = new Map<string, number>();
  #writing = new Map<string, number>();
  #unsettledUntil = new Map<string, number>();
  readonly #unsettledMs: number;
  readonly #now: () => number;
  readonly #isolated: ReadonlySet<string>;

  /**
   * @param unsettledMs how long after an unanswered write the reads of its group are not
   *   served or kept (ms)
   * @param now clock in ms (tests)
   * @param isolated servers that share no state with any other (each its own group)
   */
  constructor(
    unsettledMs = 30_000,
    now: () => number = () => Date.now(),
    isolated: Iterable<string> = [],
  ) {
    this.#unsettledMs = unsettledMs;
    this.#now = now;
    this.#isolated = new Set(isolated);
  }

  /** The group whose writes void the reads of `server`. */
  group(server: string): string {
    return this.#isolated.has(server) ? server : SHARED;
  }

  /** The current epoch of `server`'s group (0 before its first write). */
  of(server: string): number {
    return this.#epoch.get(this.group(server)) ?? 0;
  }

  /** Whether a result of `server` fetched under `epoch` may be served (or kept) now. */
  current(server: string, epoch: number): boolean {
    const group = this.group(server);
    if ((this.#epoch.get(group) ?? 0) !== epoch || (this.#writing.get(group) ?? 0) !== 0) {
      return false;
    }
    const until = this.#unsettledUntil.get(group);
    if (until === undefined) return true;
    if (until > this.#now()) return false;
    this.#unsettledUntil.delete(group);
    return true;
  }

  /**
   * A write to `server` starts; returns the function that ends it (idempotent), told whether
   * the server answered the write (whatever the answer).
   */
  beginWrite(server: string): (answered: boolean) => void {
    const group = this.group(server);
    this.#bump(group);
    this.#writing.set(group, (this.#writing.get(group) ?? 0) + 1);
    let ended = false;
    return (answered) => {
      if (ended) return;
      ended = true;
      const left = (this.#writing.get(group) ?? 1) - 1;
      if (left > 0) this.#writing.set(group, left);
      else this.#writing.delete(group);
      if (!answered) {
        const until = this.#now() + this.#unsettledMs;
        this.#unsettledUntil.set(group, Math.max(until, this.#unsettledUntil.get(group) ?? 0));
      }
      this.#bump(group);
    };
  }

  /** `server` restarted or failed: everything it returned before is void. */
  reset(server: string): void {
    this.#bump(this.group(server));
  }

  #bump(group: string): void {
    this.#epoch.set(group, (this.#epoch.get(group) ?? 0) + 1);
  }
}
