/**
 * The warm pool: pre-started sandbox processes waiting for code, so an execution does
 * not pay process start-up. Each process serves one execution and is then discarded.
 *
 * The pool follows the load. It keeps a *target* number of processes ready or starting,
 * between `min` and `max`: a take that finds the pool empty (or empties it) raises the
 * target by one, and after `idleMs` without such a take the target falls back by one per
 * `idleMs` step, idle processes above it are stopped. Refills start in parallel, at most
 * `maxStarting` at once (more only slow each other down on the same cores).
 *
 * A caller that finds the pool empty starts its own process (cold). Once the pool is *saturated*
 * (grown to `max` and still empty), {@linkcode WarmPool.estimateWaitMs} tells, before
 * anything is queued, how long a new request would wait for a process: the sandbox refuses
 * at once what it could not serve in time, instead of queueing it for seconds.
 *
 * @module
 */

import { SandboxProcess, type SpawnOptions } from "./process.ts";

/** How the pool sizes itself. */
export interface PoolSizing {
  /** Processes kept ready or starting when idle (0 disables the pool). */
  min: number;
  /** Processes ready or starting at most, under load (≥ `min`). */
  max: number;
  /** Time without a take that found the pool empty before the target falls by one (ms). */
  idleMs?: number;
  /** Processes starting at once at most (default: the number of cores, at least 2). */
  maxStarting?: number;
}

/** Live figures of a pool. */
export interface PoolStats {
  /** Processes ready to take code now. */
  ready: number;
  /** Processes being started. */
  starting: number;
  /** The current target (between `min` and `max`). */
  target: number;
  /** Configured bounds. */
  min: number;
  max: number;
  /** Takes served by a process that was ready. */
  hits: number;
  /** Takes that found the pool empty (the caller started its own process). */
  misses: number;
  /** Processes that became ready since the pool started. */
  started: number;
  /** Mean recent start-up time of a process, spawn to ready (ms). */
  startMs: number;
}

/** Keeps between `min` and `max` ready processes of one spawn profile. */
export class WarmPool {
  #min: number;
  #max: number;
  #idleMs: number;
  #maxStarting: number;
  #target: number;
  #options: SpawnOptions;
  #ready: SandboxProcess[] = [];
  #starting = 0;
  #closed = false;
  #failures = 0;
  #inflight = new Set<Promise<void>>();
  #retryTimer: ReturnType<typeof setTimeout> | undefined;
  #shrinkTimer: ReturnType<typeof setInterval> | undefined;
  #lastShort = 0;
  /** Mean time from spawn to ready (ms), a moving average; 100 until measured. */
  #startMs = 100;
  #stats = { hits: 0, misses: 0, started: 0 };

  /**
   * @param sizing the bounds (a number `n` means a fixed pool: `min = max = n`)
   * @param options how the processes are spawned
   */
  constructor(sizing: PoolSizing | number, options: SpawnOptions) {
    const s = typeof sizing === "number" ? { min: sizing, max: sizing } : sizing;
    this.#min = Math.max(0, s.min);
    this.#max = Math.max(this.#min, s.max);
    this.#idleMs = Math.max(1, s.idleMs ?? 30_000);
    this.#maxStarting = Math.max(1, s.maxStarting ?? Math.max(2, navigator.hardwareConcurrency));
    this.#target = this.#min;
    this.#options = options;
  }

  /** The spawn profile of the pooled processes. */
  get options(): SpawnOptions {
    return this.#options;
  }

  /** Whether the pool keeps processes at all (`max > 0`). */
  get enabled(): boolean {
    return this.#max > 0;
  }

  /** Idle processes ready to run code now. */
  get readyCount(): number {
    return this.#ready.length;
  }

  /** Live figures. */
  stats(): PoolStats {
    return {
      ready: this.#ready.length,
      starting: this.#starting,
      target: this.#target,
      min: this.#min,
      max: this.#max,
      ...this.#stats,
      startMs: Math.round(this.#startMs * 10) / 10,
    };
  }

  /** Starts filling the pool. */
  start(): void {
    if (!this.#shrinkTimer && this.#max > this.#min) {
      this.#shrinkTimer = setInterval(() => this.#shrink(), Math.min(1000, this.#idleMs));
      Deno.unrefTimer(this.#shrinkTimer as unknown as number);
    }
    this.#refill();
  }

  /**
   * Takes a ready process, or `undefined` when none is ready (then the target grows and
   * refilling starts now). After a successful take the caller calls {@link refill} once its
   * execution is over, so that a replacement does not compete for CPU with the execution it
   * was taken for.
   */
  take(): SandboxProcess | undefined {
    const process = this.#ready.shift();
    if (process) {
      this.#stats.hits++;
      // Emptied by this take: the pool is not keeping up.
      if (this.#ready.length === 0) this.#grow(false);
      return process;
    }
    this.#stats.misses++;
    this.#grow(true);
    return undefined;
  }

  /**
   * Whether the pool is saturated: grown to its maximum and still empty, so that a new
   * request would wait for a process start-up. Then {@linkcode estimateWaitMs} tells how long.
   */
  get saturated(): boolean {
    return this.enabled && this.#target >= this.#max && this.#ready.length === 0;
  }

  /**
   * How long a request that needs a process would wait for one if `ahead` others need one
   * first, in ms: 0 when enough are ready, `Infinity` when
   * the pool is disabled or closed. From the start-up capacity measured lately: `maxStarting`
   * processes at once, each taking the mean recent start-up time (which grows when the
   * cores are busy).
   */
  estimateWaitMs(ahead: number): number {
    if (!this.enabled || this.#closed) return Infinity;
    const need = ahead + 1 - this.#ready.length;
    if (need <= 0) return 0;
    return (need * this.#startMs) / this.#maxStarting;
  }

  /** Starts processes until the pool is at its target again. */
  refill(): void {
    this.#refill();
  }

  /** Kills the idle processes and stops refilling. */
  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#retryTimer);
    clearInterval(this.#shrinkTimer);
    // Processes still starting are killed by #startOne once it sees the pool is closed.
    await Promise.all(this.#inflight);
    const idle = this.#ready.splice(0);
    for (const p of idle) p.kill();
    await Promise.all(idle.map((p) => p.closed));
  }

  #grow(empty: boolean): void {
    this.#lastShort = performance.now();
    if (this.#target < this.#max) this.#target++;
    // Found empty: start now rather than after the execution (the caller starts its own).
    if (empty) this.#refill();
  }

  #shrink(): void {
    if (this.#closed || this.#target <= this.#min) return;
    if (performance.now() - this.#lastShort < this.#idleMs) return;
    this.#target--;
    this.#lastShort = performance.now();
    if (this.#ready.length > this.#target) this.#ready.pop()?.kill();
  }

  #refill(): void {
    const wanted = this.#target;
    while (
      !this.#closed && this.#starting < this.#maxStarting &&
      this.#ready.length + this.#starting < wanted
    ) {
      this.#starting++;
      const starting = this.#startOne();
      this.#inflight.add(starting);
      starting.finally(() => this.#inflight.delete(starting));
    }
  }

  async #startOne(): Promise<void> {
    let process: SandboxProcess | undefined;
    const spawned = performance.now();
    try {
      process = await SandboxProcess.spawn(this.#options);
      await process.ready;
      this.#failures = 0;
      this.#startMs = 0.8 * this.#startMs + 0.2 * (performance.now() - spawned);
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
    this.#stats.started++;
    this.#ready.push(process);
    // An idle process that dies (it should not) leaves the pool.
    process.closed.then(() => {
      const at = this.#ready.indexOf(process!);
      if (at >= 0) {
        this.#ready.splice(at, 1);
        this.#refill();
      }
    });
    // More may be wanted (several slots were free, at most maxStarting began).
    this.#refill();
  }
}
