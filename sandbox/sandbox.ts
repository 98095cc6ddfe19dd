/**
 * The sandbox as the gateway sees it: a queue, a warm pool, and single-use processes.
 *
 * @module
 */

import { SandboxUsers, type UidRange } from "./users.ts";
import type { MemoryGuardMode } from "./memory.ts";
import { createMemoryGuard, releaseCgroupBase } from "./memory.ts";
import { releaseCpuCgroupBase } from "./cpu_limit.ts";
import { WarmPool } from "./pool.ts";
import { type ProcessOutcome, SandboxProcess } from "./process.ts";
import { ExecutionQueue, QueueFullError } from "./queue.ts";
import { estimateStartMs, HoldHistory } from "./wait_estimate.ts";
import { type OrphanGuard, orphanGuard } from "./spawn.ts";
import { releaseSupervisor, retainSupervisor, supervisorHealthy } from "./supervisor.ts";
import { unavailable } from "./unavailable.ts";
import type { RunRequest, RunResult, SandboxGrants, SandboxLimits } from "./types.ts";

/** Configuration of a {@link Sandbox}. */
export interface SandboxOptions extends SandboxLimits, SandboxGrants {
  /** Executions running at once. */
  concurrency: number;
  /** Executions allowed to wait for a slot; more are refused. */
  queue: number;
  /** Idle pre-started processes to keep when idle (0 disables the warm pool). */
  poolSize: number;
  /** Processes the pool may grow to under load (default `poolSize`: a fixed pool). */
  poolMax?: number;
  /** Time without the pool running dry before it shrinks by one process (ms, default 30,000). */
  poolIdleMs?: number;
  /**
   * Longest expected wait before an execution starts (ms): a request that would wait longer
   * for a slot (behind the waiters ahead of it in the tenant-fair order, as the running
   * executions are expected to end from their own tenant's recent hold times; see
   * wait_estimate.ts) or, once the pool is saturated (grown to `poolMax` and empty), for a
   * process start-up, is refused at once with `QueueFullError` instead of being queued.
   * Unset: no such refusal (only the `queue` bound). The gateway's configuration sets 1000.
   */
  maxWaitMs?: number;
  /** Memory enforcement; `auto` uses a cgroup where the host offers one. */
  memoryGuard?: "auto" | MemoryGuardMode;
  /** The Deno executable; the gateway's own by default. */
  denoPath?: string;
  /** Processes per runtime-directory generation (bounds the shared Deno cache). */
  generationSize?: number;
  /**
   * Runs each process under a user id of its own from this range (`users.ts`); needs a gateway
   * running as root, and at least `2 × (concurrency + poolMax) + 2` ids. Absent: the gateway's user.
   */
  uidRange?: UidRange;
}

/** Live figures for health checks and metrics. */
export interface SandboxStats {
  /** Executions running. */
  active: number;
  /** Executions waiting for a slot. */
  queued: number;
  /** Idle warm processes. */
  poolReady: number;
  /** The pool's current target size (between `poolSize` and `poolMax`). */
  poolSize: number;
  /** Processes the pool is starting now. */
  poolStarting: number;
  /** The most processes the pool may keep ready or starting. */
  poolMax: number;
  /** Executions served by a process that was ready (warm). */
  poolHits: number;
  /**
   * Executions that started their own process: the pool was empty, disabled, or does not
   * hold their profile (memory limit, grants).
   */
  coldStarts: number;
  /** Executions refused at once because they could not start within `maxWaitMs`. */
  refused: number;
  /** How resident memory is enforced. */
  memoryGuard: MemoryGuardMode | "unknown";
  /**
   * Where deadlines and the RSS watchdog run: `thread` (the supervisor worker, immune to a
   * busy main thread) or `main` (the worker failed; limits may fire late).
   */
  supervisor: "thread" | "main";
  /**
   * How sandboxes are kept from outliving the gateway: `pdeathsig` (setpriv), `reaper`
   * (setpriv missing: a watcher process), or `none` (a crashed gateway leaves running
   * sandboxes behind).
   */
  orphanGuard: OrphanGuard;
}

/** Runs code in single-use, permission-less Deno processes. */
export class Sandbox {
  #options: SandboxOptions;
  #queue: ExecutionQueue;
  #pool: WarmPool;
  #guardMode: MemoryGuardMode | "unknown" = "unknown";
  #running = new Set<SandboxProcess>();
  /** Every process taken for an execution until its cleanup is done (awaited by close). */
  #closing = new Set<Promise<void>>();
  #retained = false;
  #coldStarts = 0;
  #refused = 0;
  /** How long each tenant's executions held their slots lately (for admission). */
  #holdTimes = new HoldHistory();

  /** @param options limits, grants, concurrency and pool size */
  constructor(options: SandboxOptions) {
    this.#options = options;
    this.#queue = new ExecutionQueue(options.concurrency, options.queue);
    const min = Math.max(0, options.poolSize);
    this.#pool = new WarmPool({
      min,
      max: Math.max(min, options.poolMax ?? min),
      idleMs: options.poolIdleMs,
    }, {
      memoryMb: options.memoryMb,
      grants: { allowNet: options.allowNet, allowRead: options.allowRead },
      memoryGuard: options.memoryGuard,
      denoPath: options.denoPath,
      generationSize: options.generationSize,
      users: options.uidRange ? new SandboxUsers(options.uidRange) : undefined,
    });
  }

  /** The default limits of an execution. */
  get limits(): SandboxLimits {
    const { timeoutMs, memoryMb, maxOutputBytes, maxLogBytes } = this.#options;
    return { timeoutMs, memoryMb, maxOutputBytes, maxLogBytes };
  }

  /** Starts the warm pool and settles which memory guard is used. */
  async start(): Promise<void> {
    const guard = await createMemoryGuard(this.#options.memoryGuard ?? "auto");
    this.#guardMode = guard.mode;
    await guard.dispose();
    if (!this.#retained) {
      this.#retained = true;
      retainSupervisor();
    }
    this.#pool.start();
  }

  /** Live figures. */
  stats(): SandboxStats {
    const pool = this.#pool.stats();
    return {
      active: this.#queue.active,
      queued: this.#queue.depth,
      poolReady: pool.ready,
      poolSize: pool.target,
      poolStarting: pool.starting,
      poolMax: pool.max,
      poolHits: pool.hits,
      coldStarts: this.#coldStarts,
      refused: this.#refused,
      memoryGuard: this.#guardMode,
      supervisor: supervisorHealthy() ? "thread" : "main",
      orphanGuard: orphanGuard(),
    };
  }

  /**
   * Runs one execution: waits for a slot (or throws `QueueFullError`), takes a warm
   * process when its profile fits, runs the code under the limits, and discards the
   * process.
   *
   * @throws {QueueFullError} too many executions are waiting
   * @throws {SandboxUnavailableError} no process could be started (out of file
   *   descriptors, processes, disk); nothing ran, retry after `retryAfterSeconds`
   */
  async run(request: RunRequest): Promise<RunResult> {
    const limits: SandboxLimits = { ...this.limits, ...definedOnly(request.limits) };
    const pooled = this.#pool.options;
    const grants = request.grants ?? pooled.grants;
    const poolable = this.#pool.enabled && limits.memoryMb === pooled.memoryMb &&
      sameGrants(grants, pooled.grants);
    const maxWaitMs = this.#options.maxWaitMs;
    const queueKey = request.queueKey ?? "";
    if (maxWaitMs !== undefined) {
      // Admission: refuse now what could not start within maxWaitMs, rather than queueing it
      // for seconds. Two estimates, both from the request's place in the tenant-fair order
      // (never every tenant's queue): the slot (the waiters ahead of it, and when the running
      // executions free their slots, each judged by its own tenant's history), and, once the
      // pool is saturated, process start-ups (the requests ahead need one first).
      const ahead = this.#queue.waitingAhead(queueKey);
      const now = performance.now();
      const queueWaitMs = this.#queue.active < this.#options.concurrency && ahead.length === 0
        ? 0
        : estimateStartMs({
          slots: this.#options.concurrency,
          running: [...this.#queue.holds].map((h) => ({ key: h.key, heldMs: now - h.since })),
          ahead,
          requester: queueKey,
          history: this.#holdTimes,
          limitMs: maxWaitMs,
        });
      const poolWaitMs = poolable && this.#pool.saturated
        ? this.#pool.estimateWaitMs(ahead.reduce((sum, [, n]) => sum + n, 0))
        : 0;
      if (Math.max(queueWaitMs, poolWaitMs) > maxWaitMs) {
        this.#refused++;
        throw new QueueFullError(
          // No counts: they are every tenant's (see queue.ts).
          `the sandbox is at capacity: an execution could not start within ${maxWaitMs} ms`,
        );
      }
    }
    const release = await this.#queue.acquire(request.signal, queueKey);
    const slotTaken = performance.now();
    let tookFromPool = false;
    try {
      try {
        request.onAdmitted?.();
      } catch {
        // The caller's business; the execution runs either way.
      }
      let process: SandboxProcess | undefined;
      let warm = false;
      if (poolable) {
        process = this.#pool.take();
        warm = process !== undefined;
        tookFromPool = warm;
      }
      if (!process) this.#coldStarts++;
      try {
        process ??= await SandboxProcess.spawn({ ...pooled, memoryMb: limits.memoryMb, grants });
      } catch (error) {
        throw unavailable(error);
      }
      this.#running.add(process);
      const started = performance.now();
      try {
        let outcome: ProcessOutcome;
        try {
          outcome = await process.execute({
            code: request.code,
            prelude: request.prelude,
            limits,
            onRpc: request.onRpc,
            onLog: request.onLog,
            signal: request.signal,
          });
        } catch (error) {
          // execute() throws only when the process never became ready.
          throw unavailable(error);
        }
        const sandboxMs = performance.now() - started;
        const result: RunResult = { ok: !outcome.error, logs: outcome.logs, sandboxMs, warm };
        if (outcome.error) result.error = outcome.error;
        else if (outcome.json !== undefined) result.result = outcome.value;
        return result;
      } finally {
        this.#running.delete(process);
        process.retire();
        // Cleanup (temp dir, cgroup) happens after the answer, off the latency path.
        const closing = process.closed.catch(() => {});
        this.#closing.add(closing);
        closing.finally(() => this.#closing.delete(closing));
      }
    } finally {
      this.#holdTimes.record(queueKey, performance.now() - slotTaken);
      release();
      // After the answer too, like the process's kill: starting a replacement costs this
      // thread a few ms (template copy, cgroups, spawn).
      if (tookFromPool) setTimeout(() => this.#pool.refill(), 0);
    }
  }

  /**
   * Stops the pool, kills running executions, and waits until every process this sandbox
   * started has exited and its files and cgroup are removed.
   */
  async close(): Promise<void> {
    await this.#pool.close();
    const running = [...this.#running];
    for (const p of running) p.kill("cancelled");
    await Promise.all(running.map((p) => p.closed.catch(() => {})));
    await Promise.all(this.#closing);
    // The per-gateway cgroup directory goes once no sandbox of any Sandbox uses it.
    await Promise.all([releaseCgroupBase(), releaseCpuCgroupBase()]);
    if (this.#retained) {
      this.#retained = false;
      releaseSupervisor();
    }
  }
}

function sameGrants(a: SandboxGrants, b: SandboxGrants): boolean {
  const same = (x: string[], y: string[]) =>
    x.length === y.length && [...x].sort().every((v, i) => v === [...y].sort()[i]);
  return same(a.allowNet, b.allowNet) && same(a.allowRead, b.allowRead);
}

function definedOnly<T extends object>(value: T | undefined): Partial<T> {
  const out: Partial<T> = {};
  for (const [k, v] of Object.entries(value ?? {})) {
    if (v !== undefined) (out as Record<string, unknown>)[k] = v;
  }
  return out;
}
