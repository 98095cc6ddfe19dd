/**
 * The gateway's side of the type checker: a warm TypeScript compiler in its own process, a
 * warm standby process beside it, a fair queue in front of them, and the deadlines and caps
 * that keep a pathological program from holding or crashing anything but its own check.
 *
 * @module
 */

import type { CheckMessage, Diagnostic, FromChecker, ResultMessage } from "./protocol.ts";
import { createHash } from "node:crypto";
import { CheckerProcess } from "./process.ts";

/** Options of a {@link TypeChecker}; every field has a default. */
export interface TypeCheckerOptions {
  /** Time one check may take in the worker, in ms (default 2,000). */
  timeoutMs?: number;
  /** Declaration versions the worker keeps parsed (default 8, least recently used goes). */
  maxVersions?: number;
  /**
   * Versions one tenant holds at most (default 2): a tenant that sends a new version with
   * every check evicts its own, and past `maxVersions` the tenant holding most loses first.
   */
  maxVersionsPerTenant?: number;
  /** Checks one tenant may have waiting or running (default 4); past it {@link CheckerBusy}. */
  maxPendingPerTenant?: number;
  /** Checks waiting in all (default 256); past it {@link CheckerBusy}. */
  maxPending?: number;
  /** Diagnostics returned per check at most (default 20). */
  maxDiagnostics?: number;
  /** Longest diagnostic message, in UTF-16 code units (default 1,000). */
  maxMessageChars?: number;
  /** Largest code accepted, in UTF-16 code units (default 512 Ki). */
  maxCodeChars?: number;
  /** Largest declaration text accepted, in UTF-16 code units (default 8 Mi). */
  maxDeclarationChars?: number;
  /**
   * Grace past `timeoutMs` before the process is killed (SIGKILL), in ms (default 500): the
   * compiler looks at its deadline only between statements.
   */
  killGraceMs?: number;
  /**
   * Time a process may take to parse declarations it does not hold yet, in ms (default
   * 10,000); the check's own budget starts after it. Past it the process is killed.
   */
  loadTimeoutMs?: number;
  /** Time a process may take to start (load TypeScript and the library), in ms (default 60 s). */
  startTimeoutMs?: number;
  /**
   * V8 heap limit of each checker process, in MiB (default 512): a check that needs more
   * ends that process (the check's answer is `limit: "memory"`), never the caller's.
   */
  memoryMb?: number;
  /**
   * Whether a warm standby process is kept beside the active one (default true): when a
   * check is killed or crashes its process, the standby takes over at once instead of every
   * waiting check paying the seconds a new process takes to load TypeScript.
   */
  standby?: boolean;
}

/** One program to check. */
export interface CheckRequest {
  /** Who asks: checks are served round-robin between tenants, with a cap per tenant. */
  tenant: string;
  /** The declarations the code is checked against (a `.d.ts` script: its names are global). */
  declarations: string;
  /**
   * A name for this exact declaration text (its hash); the worker keeps the parsed text
   * under it. Computed (SHA-256) when omitted.
   */
  declarationsKey?: string;
  /** The caller's code: the body of an async function (top-level `await` and `return`). */
  code: string;
  /** This check's budget in ms, instead of the checker's `timeoutMs`. */
  timeoutMs?: number;
  /** Abandons the check when aborted (it then rejects with the signal's reason). */
  signal?: AbortSignal;
}

/** The outcome of a check. */
export type CheckResult =
  | {
    /** `true`: no errors. */
    ok: boolean;
    /** The errors, in the caller's code, at most `maxDiagnostics`. */
    diagnostics: Diagnostic[];
    /** Errors found in all. */
    total: number;
    /** Time the worker spent, in ms. */
    ms: number;
    timedOut?: false;
  }
  | {
    ok: false;
    /** The check did not finish within `timeoutMs`: nothing is known about the code. */
    timedOut: true;
    diagnostics: [];
    total: 0;
    ms: number;
  }
  | {
    ok: false;
    timedOut?: false;
    /**
     * The check hit a limit of the checker: `memory` (its process ran out of its heap cap,
     * or died otherwise, during this check), `depth` (the code or its types nest so deeply
     * that the compiler's stack overflowed). Nothing is known about the code.
     */
    limit: "memory" | "depth";
    diagnostics: [];
    total: 0;
    ms: number;
  };

/** A check refused because the checker is saturated (per tenant or in all); retry later. */
export class CheckerBusy extends Error {
  /** For clients. */
  readonly kind = "busy";
  constructor(message: string) {
    super(message);
    this.name = "CheckerBusy";
  }
}

/** A check refused for its input (too large) or a compiler failure. */
export class CheckerError extends Error {
  /** `too_large` (the input) or `failed` (the compiler threw or could not start). */
  readonly kind: "too_large" | "failed";
  constructor(kind: "too_large" | "failed", message: string) {
    super(message);
    this.name = "CheckerError";
    this.kind = kind;
  }
}

interface Job {
  request: CheckRequest;
  key: string;
  resolve(result: CheckResult): void;
  reject(error: unknown): void;
  /** Whether the process is known to have been sent this job's declarations. */
  sentText: boolean;
  onAbort?: () => void;
}

/** One checker process and whether it has loaded the compiler. */
interface Runner {
  process: CheckerProcess;
  ready: boolean;
  /** Resolves once the process has loaded TypeScript and the library; rejects if it cannot. */
  started: Promise<void>;
  /** Set when the gateway killed it (a timeout, close): its exit is no crash of a check. */
  killed: boolean;
}

/**
 * A long-lived TypeScript checker in its own process, so the caller's event loop never
 * blocks and a check can be stopped and capped for real.
 *
 * Fairness: one check runs at a time; waiting checks are taken round-robin by tenant, each
 * tenant holding at most `maxPendingPerTenant` (waiting or running). Bounds: code and
 * declaration sizes are capped before anything is sent; a check has `timeoutMs` in the
 * process, enforced by the compiler's cancellation token and, if the compiler overruns it
 * inside one statement, by SIGKILL `killGraceMs` later. Declarations the process does not
 * hold get `loadTimeoutMs` to parse before the check's budget starts. Memory: each process
 * has a V8 heap cap of `memoryMb` and keeps `maxVersions` declaration texts.
 *
 * Another tenant's delay: a killed (or crashed) process is replaced at once by the warm
 * standby, and a new standby starts; the tenant whose check was killed gets no check taken
 * until that standby is warm, so one tenant cannot make others wait for a process to load.
 * A check therefore waits at most for the check running (`timeoutMs + killGraceMs`, plus
 * `loadTimeoutMs` when its declarations are new) and one check of each tenant ahead of it in
 * the round-robin.
 */
export class TypeChecker {
  readonly #o: Required<TypeCheckerOptions>;
  #active: Runner | undefined;
  #standby: Runner | undefined;
  /** Tenants with waiting jobs, in round-robin order. */
  #queues = new Map<string, Job[]>();
  /** Waiting or running jobs per tenant. */
  #pending = new Map<string, number>();
  /** Tenants whose check killed a process: none of theirs is taken until a standby is warm. */
  #penalized = new Set<string>();
  #waiting = 0;
  #running: Job | undefined;
  #nextId = 1;
  #closed = false;
  #keys = new Map<string, string>();
  /** When each tenant with checks pending was last served (a turn counter). */
  #servedAt = new Map<string, number>();
  #turn = 0;
  #loads = 0;
  /** Processes replaced after a timeout or crash (for tests and metrics). */
  restarts = 0;

  constructor(options: TypeCheckerOptions = {}) {
    this.#o = {
      timeoutMs: options.timeoutMs ?? 2000,
      maxVersions: options.maxVersions ?? 8,
      maxVersionsPerTenant: options.maxVersionsPerTenant ?? 2,
      maxPendingPerTenant: options.maxPendingPerTenant ?? 4,
      maxPending: options.maxPending ?? 256,
      maxDiagnostics: options.maxDiagnostics ?? 20,
      maxMessageChars: options.maxMessageChars ?? 1000,
      maxCodeChars: options.maxCodeChars ?? 512 * 1024,
      maxDeclarationChars: options.maxDeclarationChars ?? 8 * 1024 * 1024,
      startTimeoutMs: options.startTimeoutMs ?? 60_000,
      killGraceMs: options.killGraceMs ?? 500,
      loadTimeoutMs: options.loadTimeoutMs ?? 10_000,
      memoryMb: options.memoryMb ?? 512,
      standby: options.standby ?? true,
    };
  }

  /** Starts the checker process (and the standby) and loads the compiler (idempotent). */
  warm(): Promise<void> {
    if (this.#closed) return Promise.reject(new CheckerError("failed", "the checker is closed"));
    this.#active ??= this.#spawn();
    if (this.#o.standby) this.#standby ??= this.#spawn();
    return this.#active.started;
  }

  /**
   * Type-checks `request.code` against `request.declarations`.
   * @throws CheckerBusy when the tenant (or everyone) has too many checks pending
   * @throws CheckerError `too_large` for oversized input, `failed` if the compiler fails
   */
  async check(request: CheckRequest): Promise<CheckResult> {
    if (request.code.length > this.#o.maxCodeChars) {
      throw new CheckerError("too_large", `code is longer than ${this.#o.maxCodeChars} characters`);
    }
    if (request.declarations.length > this.#o.maxDeclarationChars) {
      throw new CheckerError(
        "too_large",
        `the declarations are longer than ${this.#o.maxDeclarationChars} characters`,
      );
    }
    const pending = this.#pending.get(request.tenant) ?? 0;
    if (pending >= this.#o.maxPendingPerTenant) {
      throw new CheckerBusy(
        `this tenant has ${pending} type checks pending (at most ${this.#o.maxPendingPerTenant})`,
      );
    }
    if (this.#waiting >= this.#o.maxPending) {
      throw new CheckerBusy(`${this.#waiting} type checks are waiting`);
    }
    request.signal?.throwIfAborted();
    // Counted and queued in this call, with no await before: checks queue in their arrival
    // order (an asynchronous hash let a tenant's later check overtake its earlier ones).
    this.#pending.set(request.tenant, pending + 1);
    const key = request.declarationsKey ?? this.#hash(request.declarations);
    return await new Promise<CheckResult>((resolve, reject) => {
      const job: Job = { request, key, resolve, reject, sentText: false };
      const queue = this.#queues.get(request.tenant) ?? [];
      queue.push(job);
      this.#queues.set(request.tenant, queue);
      this.#waiting++;
      if (request.signal) {
        job.onAbort = () => {
          // Only a waiting job can be withdrawn; a running one finishes within its budget.
          const q = this.#queues.get(request.tenant);
          const at = q?.indexOf(job) ?? -1;
          if (at < 0) return;
          q!.splice(at, 1);
          if (q!.length === 0) this.#queues.delete(request.tenant);
          this.#waiting--;
          this.#settle(job);
          reject(request.signal!.reason);
        };
        request.signal.addEventListener("abort", job.onAbort, { once: true });
      }
      this.#pump();
    });
  }

  /**
   * Waiting and running checks, process replacements, declaration loads (times a process
   * did not hold a check's declarations and was sent them), the process ids of the active
   * and the standby process and whether the standby is warm, for tests and metrics.
   */
  stats(): {
    waiting: number;
    running: boolean;
    restarts: number;
    loads: number;
    pid?: number;
    standbyPid?: number;
    standbyReady: boolean;
  } {
    return {
      waiting: this.#waiting,
      running: this.#running !== undefined,
      restarts: this.restarts,
      loads: this.#loads,
      pid: this.#active?.process?.pid,
      standbyPid: this.#standby?.process?.pid,
      standbyReady: this.#standby?.ready ?? false,
    };
  }

  /** Kills the processes; pending checks reject. Resolves once the processes have exited. */
  close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#timer);
    const exits: Promise<unknown>[] = [];
    for (const runner of [this.#active, this.#standby]) {
      if (!runner) continue;
      runner.killed = true;
      runner.process?.kill();
      if (runner.process) exits.push(runner.process.exited);
    }
    this.#active = this.#standby = undefined;
    const error = new CheckerError("failed", "the checker is closed");
    if (this.#running) {
      this.#settle(this.#running);
      this.#running.reject(error);
      this.#running = undefined;
    }
    for (const queue of this.#queues.values()) {
      for (const job of queue) {
        this.#settle(job);
        job.reject(error);
      }
    }
    this.#queues.clear();
    this.#waiting = 0;
    return Promise.allSettled(exits).then(() => {});
  }

  /** The declarations' name: the first 32 hex digits of their SHA-256 (synchronous). */
  #hash(text: string): string {
    const known = this.#keys.get(text);
    if (known) return known;
    const key = createHash("sha256").update(text).digest("hex").slice(0, 32);
    // A few recent texts only: the map holds whole declaration texts.
    if (this.#keys.size >= this.#o.maxVersions) this.#keys.delete(this.#keys.keys().next().value!);
    this.#keys.set(text, key);
    return key;
  }

  /** Starts a process and has it load the compiler. */
  #spawn(): Runner {
    let markReady!: () => void;
    let fail!: (error: unknown) => void;
    const started = new Promise<void>((resolve, reject) => {
      markReady = resolve;
      fail = reject;
    });
    // Unhandled when nobody waits on this runner yet (a standby): observed here.
    started.catch(() => {});
    let process: CheckerProcess;
    const runner = { ready: false, started, killed: false } as Runner;
    const timer = setTimeout(() => {
      fail(new CheckerError("failed", "the type checker did not start in time"));
      runner.killed = true;
      process.kill();
    }, this.#o.startTimeoutMs);
    try {
      process = new CheckerProcess({
        memoryMb: this.#o.memoryMb,
        onMessage: (message) => {
          if (message.type === "ready") {
            clearTimeout(timer);
            runner.ready = true;
            markReady();
            this.#onReady(runner);
          } else if (runner === this.#active) this.#onMessage(message);
        },
        onExit: (status) => {
          clearTimeout(timer);
          fail(
            new CheckerError(
              "failed",
              `the type checker process exited before it was ready (${
                status.signal ?? `code ${status.code}`
              })`,
            ),
          );
          this.#onExit(runner);
        },
      });
    } catch (error) {
      clearTimeout(timer);
      fail(new CheckerError("failed", `the type checker could not start: ${error}`));
      return runner;
    }
    runner.process = process;
    process.send({
      type: "init",
      maxVersions: this.#o.maxVersions,
      maxVersionsPerTenant: this.#o.maxVersionsPerTenant,
    });
    return runner;
  }

  #onReady(runner: Runner): void {
    if (this.#closed) return;
    // A warm process exists again: tenants whose check killed one may go on.
    if (runner === this.#standby || !this.#o.standby) this.#penalized.clear();
    this.#pump();
  }

  #onExit(runner: Runner): void {
    if (runner === this.#standby) {
      // The standby died (it could not start): nobody waits for it, penalties included.
      this.#standby = undefined;
      this.#penalized.clear();
      this.#pump();
      return;
    }
    if (runner !== this.#active || this.#closed) return;
    // The active process died on its own (out of its heap cap, or a crash).
    const job = this.#running;
    if (job && !runner.killed) {
      clearTimeout(this.#timer);
      this.restarts++;
      this.#penalized.add(job.request.tenant);
      this.#promote();
      this.#finish(job, { ok: false, limit: "memory", diagnostics: [], total: 0, ms: 0 });
    } else if (!runner.ready) {
      // It never started: the next check starts a new one (its waiters were told why).
      this.#active = undefined;
    } else if (!runner.killed) {
      // Idle: the standby takes over.
      this.restarts++;
      this.#promote();
      this.#pump();
    }
  }

  /** Kills the active process (if any) and puts the standby in its place. */
  #promote(): void {
    const old = this.#active;
    if (old) {
      old.killed = true;
      old.process?.kill();
    }
    this.#active = this.#standby;
    this.#standby = undefined;
    if (this.#closed) return;
    this.#active ??= this.#spawn();
    if (this.#o.standby) this.#standby = this.#spawn();
  }

  /**
   * The next job: the first waiting one of the tenant served least recently (a tenant with
   * nothing pending starts afresh), skipping tenants whose check killed a process while no
   * standby is warm. O(tenants waiting).
   */
  #next(): Job | undefined {
    let chosen: string | undefined;
    let oldest = Infinity;
    for (const tenant of this.#queues.keys()) {
      if (this.#penalized.has(tenant)) continue;
      const served = this.#servedAt.get(tenant) ?? 0;
      if (served < oldest) {
        oldest = served;
        chosen = tenant;
      }
    }
    if (chosen === undefined) return undefined;
    const queue = this.#queues.get(chosen)!;
    const job = queue.shift()!;
    if (queue.length === 0) this.#queues.delete(chosen);
    this.#servedAt.set(chosen, ++this.#turn);
    this.#waiting--;
    return job;
  }

  #pump(): void {
    if (this.#running || this.#queues.size === 0 || this.#closed) return;
    const starting = this.warm();
    const runner = this.#active;
    starting.then(() => {
      if (this.#running || this.#closed || !this.#active?.ready) return;
      const job = this.#next();
      if (!job) return;
      this.#send(job, false);
    }, (error) => {
      if (this.#closed) return;
      if (this.#active !== runner && this.#active) return this.#pump();
      // The process cannot start: every waiting check fails with the reason.
      if (this.#active === runner) this.#active = undefined;
      this.#penalized.clear();
      let job: Job | undefined;
      while ((job = this.#next())) {
        this.#settle(job);
        job.reject(error);
      }
    });
  }

  #timer: ReturnType<typeof setTimeout> | undefined;
  #sentId = 0;

  #send(job: Job, withText: boolean): void {
    this.#running = job;
    const budget = job.request.timeoutMs ?? this.#o.timeoutMs;
    const id = this.#nextId++;
    this.#sentId = id;
    const message: CheckMessage = {
      type: "check",
      id,
      tenant: job.request.tenant,
      declarationsKey: job.key,
      code: job.request.code,
      budgetMs: budget,
      maxDiagnostics: this.#o.maxDiagnostics,
      maxMessageChars: this.#o.maxMessageChars,
    };
    if (withText) {
      message.declarations = job.request.declarations;
      job.sentText = true;
    }
    this.#active!.process.send(message);
    // With declarations to parse first, the budget starts when the process says they are
    // parsed ("loaded"); until then the load has its own deadline.
    this.#arm(job, withText ? this.#o.loadTimeoutMs : budget + this.#o.killGraceMs, withText);
  }

  /** (Re)starts the kill deadline of the running job. */
  #arm(job: Job, ms: number, loading: boolean): void {
    clearTimeout(this.#timer);
    const budget = job.request.timeoutMs ?? this.#o.timeoutMs;
    this.#timer = setTimeout(() => {
      // The compiler is stuck inside one statement past its budget: only killing its
      // process stops it. The standby takes over; this tenant waits for the next standby.
      this.restarts++;
      this.#penalized.add(job.request.tenant);
      this.#running = undefined;
      this.#promote();
      if (loading) {
        this.#fail(job, `the declarations did not load within ${this.#o.loadTimeoutMs} ms`);
        return;
      }
      this.#finish(job, {
        ok: false,
        timedOut: true,
        diagnostics: [],
        total: 0,
        ms: budget + this.#o.killGraceMs,
      });
    }, ms);
  }

  #onMessage(message: FromChecker): void {
    const job = this.#running;
    if (!job || message.type === "ready" || message.id !== this.#sentId) return;
    if (message.type === "loaded") {
      const budget = job.request.timeoutMs ?? this.#o.timeoutMs;
      return this.#arm(job, budget + this.#o.killGraceMs, false);
    }
    this.#onResult(job, message);
  }

  #onResult(job: Job, result: ResultMessage): void {
    clearTimeout(this.#timer);
    switch (result.outcome) {
      case "missing":
        this.#loads++;
        // The process dropped (or never had) these declarations: send them once.
        if (!job.sentText) return this.#send(job, true);
        return this.#fail(job, "the type checker lost the declarations");
      case "timeout":
        return this.#finish(job, {
          ok: false,
          timedOut: true,
          diagnostics: [],
          total: 0,
          ms: result.ms,
        });
      case "too_deep":
        return this.#finish(job, {
          ok: false,
          limit: "depth",
          diagnostics: [],
          total: 0,
          ms: result.ms,
        });
      case "failed":
        return this.#fail(job, `the type checker failed: ${result.error ?? "unknown error"}`);
      case "checked":
        return this.#finish(job, {
          ok: result.total === 0,
          diagnostics: result.diagnostics,
          total: result.total,
          ms: result.ms,
        });
    }
  }

  #settle(job: Job): void {
    if (job.onAbort) job.request.signal?.removeEventListener("abort", job.onAbort);
    this.#release(job.request.tenant);
  }

  #release(tenant: string): void {
    const left = (this.#pending.get(tenant) ?? 1) - 1;
    if (left > 0) this.#pending.set(tenant, left);
    else {
      this.#pending.delete(tenant);
      this.#servedAt.delete(tenant);
    }
  }

  #finish(job: Job, result: CheckResult): void {
    this.#running = undefined;
    this.#settle(job);
    job.resolve(result);
    this.#pump();
  }

  #fail(job: Job, message: string): void {
    this.#running = undefined;
    this.#settle(job);
    job.reject(new CheckerError("failed", message));
    this.#pump();
  }
}
