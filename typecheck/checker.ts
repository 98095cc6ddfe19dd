/**
 * The main-thread side of the type checker: one Worker holding a warm TypeScript compiler,
 * a fair queue in front of it, and the deadlines that keep a pathological program from
 * holding it.
 *
 * @module
 */

import type { CheckMessage, Diagnostic, FromWorker, ResultMessage } from "./protocol.ts";

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
   * Grace past `timeoutMs` before the worker is terminated, in ms (default 500): the
   * compiler looks at its deadline only between statements.
   */
  killGraceMs?: number;
  /** Time the worker may take to start (load TypeScript and the library), in ms (default 60 s). */
  startTimeoutMs?: number;
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
  /** Whether the worker is known to have been sent this job's declarations. */
  sentText: boolean;
  onAbort?: () => void;
}

/**
 * A long-lived TypeScript checker in a Worker, so the caller's event loop never blocks.
 *
 * Fairness: one check runs at a time; waiting checks are taken round-robin by tenant, each
 * tenant holding at most `maxPendingPerTenant` (waiting or running). Bounds: code and
 * declaration sizes are capped before anything is sent; a check has `timeoutMs` in the
 * worker, enforced by the compiler's cancellation token and, if the compiler overruns it
 * inside one statement, by terminating the worker (a new one starts and warms up; the
 * checks behind wait for it). Memory: the worker keeps `maxVersions` declaration texts.
 */
export class TypeChecker {
  readonly #o: Required<TypeCheckerOptions>;
  #worker: Worker | undefined;
  #ready: Promise<void> | undefined;
  /** Tenants with waiting jobs, in round-robin order. */
  #queues = new Map<string, Job[]>();
  /** Waiting or running jobs per tenant. */
  #pending = new Map<string, number>();
  #waiting = 0;
  #running: Job | undefined;
  #nextId = 1;
  #closed = false;
  #keys = new Map<string, string>();
  /** When each tenant with checks pending was last served (a turn counter). */
  #servedAt = new Map<string, number>();
  #turn = 0;
  #loads = 0;
  /** Worker restarts after a timeout or crash (for tests and metrics). */
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
    };
  }

  /** Starts the worker and loads the compiler and the library (idempotent). */
  warm(): Promise<void> {
    if (this.#closed) return Promise.reject(new CheckerError("failed", "the checker is closed"));
    this.#ready ??= this.#start();
    return this.#ready;
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
    // Counted from here, before any await, so concurrent calls see each other.
    this.#pending.set(request.tenant, pending + 1);
    let key: string;
    try {
      key = request.declarationsKey ?? await this.#hash(request.declarations);
    } catch (error) {
      this.#release(request.tenant);
      throw error;
    }
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
   * Waiting and running checks, worker restarts, and declaration loads (times the worker did
   * not hold a check's declarations and was sent them), for tests and metrics.
   */
  stats(): { waiting: number; running: boolean; restarts: number; loads: number } {
    return {
      waiting: this.#waiting,
      running: this.#running !== undefined,
      restarts: this.restarts,
      loads: this.#loads,
    };
  }

  /** Stops the worker; pending checks reject. */
  close(): void {
    this.#closed = true;
    this.#worker?.terminate();
    this.#worker = undefined;
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
  }

  async #hash(text: string): Promise<string> {
    const known = this.#keys.get(text);
    if (known) return known;
    const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
    const key = [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("")
      .slice(0, 32);
    // A few recent texts only: the map holds whole declaration texts.
    if (this.#keys.size >= this.#o.maxVersions) this.#keys.delete(this.#keys.keys().next().value!);
    this.#keys.set(text, key);
    return key;
  }

  #start(): Promise<void> {
    const worker = new Worker(new URL("./worker.ts", import.meta.url), { type: "module" });
    this.#worker = worker;
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        fail(new CheckerError("failed", "the type checker did not start in time"));
      }, this.#o.startTimeoutMs);
      const fail = (error: unknown) => {
        clearTimeout(timer);
        if (this.#worker === worker) {
          worker.terminate();
          this.#worker = undefined;
          this.#ready = undefined;
        }
        reject(error);
      };
      worker.onerror = (event) => {
        event.preventDefault();
        fail(new CheckerError("failed", `the type checker failed to start: ${event.message}`));
      };
      worker.onmessage = (event: MessageEvent<FromWorker>) => {
        if (event.data.type !== "ready") return;
        clearTimeout(timer);
        worker.onmessage = (e: MessageEvent<FromWorker>) => {
          if (e.data.type === "result") this.#onResult(e.data);
        };
        worker.onerror = (e) => {
          e.preventDefault();
          this.#crash(`the type checker crashed: ${e.message}`);
        };
        resolve();
      };
      worker.postMessage({
        type: "init",
        maxVersions: this.#o.maxVersions,
        maxVersionsPerTenant: this.#o.maxVersionsPerTenant,
      });
    });
  }

  /**
   * The next job: the first waiting one of the tenant served least recently (a tenant with
   * nothing pending starts afresh). O(tenants waiting).
   */
  #next(): Job | undefined {
    let chosen: string | undefined;
    let oldest = Infinity;
    for (const tenant of this.#queues.keys()) {
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
    this.warm().then(() => {
      if (this.#running || this.#closed) return;
      const job = this.#next();
      if (!job) return;
      this.#send(job, false);
    }, (error) => {
      // The worker cannot start: every waiting check fails with the reason.
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
    this.#worker!.postMessage(message);
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      // The compiler is stuck inside one statement past its budget: only terminating the
      // worker stops it. The next check waits for a new one.
      this.restarts++;
      this.#restart();
      this.#finish(job, {
        ok: false,
        timedOut: true,
        diagnostics: [],
        total: 0,
        ms: budget + this.#o.killGraceMs,
      });
    }, budget + this.#o.killGraceMs + (withText ? 2 * budget : 0));
  }

  #onResult(result: ResultMessage): void {
    const job = this.#running;
    if (!job || result.id !== this.#sentId) return;
    clearTimeout(this.#timer);
    switch (result.outcome) {
      case "missing":
        this.#loads++;
        // The worker dropped (or never had) these declarations: send them once.
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

  #crash(message: string): void {
    clearTimeout(this.#timer);
    this.restarts++;
    this.#restart();
    const job = this.#running;
    if (job) this.#fail(job, message);
  }

  #restart(): void {
    this.#worker?.terminate();
    this.#worker = undefined;
    this.#ready = undefined;
  }
}
