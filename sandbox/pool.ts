/**
 * The warm pool: pre-started sandbox processes waiting for code, so an execution does
 * not pay process start-up. Each process serves one execution and is then discarded;
 * the pool refills in the background.
 *
 * @module
 */

import { SandboxProcess, type SpawnOptions } from "./process.ts";

/** Keeps `size` ready processes of one spawn profile. */
export class WarmPool {
  #size: number;
  #options: SpawnOptions;
  #ready: SandboxProcess[] = [];
  #starting = 0;
  #closed = false;
  #failures = 0;
  #inflight = new Set<Promise<void>>();
  #retryTimer: ReturnType<typeof setTimeout> | undefined;

  /**
   * @param size how many idle processes to keep
   * @param options how they are spawned
   */
  constructor(size: number, options: SpawnOptions) {
    this.#size = Math.max(0, size);
    this.#options = options;
  }

  /** The spawn profile of the pooled processes. */
  get options(): SpawnOptions {
    return this.#options;
  }

  /** Idle processes ready to run code now. */
  get readyCount(): number {
    return this.#ready.length;
  }

  /** Starts filling the pool. */
  start(): void {
    this.#refill();
  }

  /**
   * Takes a ready process, or `undefined` when none is ready. The caller calls
   * {@link refill} once its execution is over, so that starting a replacement does not
   * compete for CPU with the execution it was taken for.
   */
  take(): SandboxProcess | undefined {
    return this.#ready.shift();
  }

  /** Starts processes until the pool is full again. */
  refill(): void {
    this.#refill();
  }

  /** Kills the idle processes and stops refilling. */
  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#retryTimer);
    // Processes still starting are killed by #startOne once it sees the pool is closed.
    await Promise.all(this.#inflight);
    const idle = this.#ready.splice(0);
    for (const p of idle) p.kill();
    await Promise.all(idle.map((p) => p.closed));
  }

  #refill(): void {
    while (!this.#closed && this.#ready.length + this.#starting < this.#size) {
      this.#starting++;
      const starting = this.#startOne();
      this.#inflight.add(starting);
      starting.finally(() => this.#inflight.delete(starting));
    }
  }

  async #startOne(): Promise<void> {
    let process: SandboxProcess | undefined;
    try {
      process = await SandboxProcess.spawn(this.#options);
      await process.ready;
      this.#failures = 0;
    } catch {
      // It died before it was ready (or never started): free its files and cgroup too.
      process?.kill();
      await process?.closed.catch(() => {});
      this.#failures++;
      process = undefined;
    }
    this.#starting--;
    if (!process) {
      // Back off so a broken runtime does not turn into a spawn loop.
      if (!this.#closed) {
        this.#retryTimer = setTimeout(
          () => this.#refill(),
          Math.min(5000, 50 * 2 ** this.#failures),
        );
      }
      return;
    }
    if (this.#closed) {
      process.kill();
      await process.closed;
      return;
    }
    this.#ready.push(process);
    // An idle process that dies (it should not) leaves the pool.
    process.closed.then(() => {
      const at = this.#ready.indexOf(process!);
      if (at >= 0) {
        this.#ready.splice(at, 1);
        this.#refill();
      }
    });
  }
}
