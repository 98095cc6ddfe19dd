/**
 * Runs the literal-call scan in a Worker, so parsing an execution's code never holds the
 * gateway's event loop (the TypeScript parser's worst inputs take tens of ms per 64 Ki).
 *
 * Bounds: a scan has {@linkcode SCAN_DEADLINE_MS} from the moment the worker takes it (an
 * overrun terminates the worker, which restarts on the next scan after
 * {@linkcode OVERRUN_COOLDOWN_MS}: Deno 2.9 does not stop a Worker busy in synchronous code, so
 * the terminated thread finishes its parse, at most 64 Ki of code, before it goes; the cooldown
 * keeps such threads to about one at a time) and the worker
 * {@linkcode START_TIMEOUT_MS} to start; at most {@linkcode MAX_PENDING_PER_TENANT} scans of
 * one tenant and {@linkcode MAX_PENDING} in all wait; past them a scan is skipped. A skipped,
 * failed or late scan yields no candidates: the execution simply gets no literal prefetch.
 *
 * @module
 */

import type { CandidateCall } from "./scan.ts";

/** How long one scan may take once the worker has it, in ms. */
export const SCAN_DEADLINE_MS = 500;
/** How long the worker may take to load (the TypeScript compiler), in ms. */
export const START_TIMEOUT_MS = 20_000;
/** After an overrun, scans are skipped for this long, in ms. */
export const OVERRUN_COOLDOWN_MS = 1000;
/** Scans of one tenant waiting or running at once. */
export const MAX_PENDING_PER_TENANT = 4;
/** Scans waiting or running at once, in all. */
export const MAX_PENDING = 64;

interface Pending {
  id: number;
  code: string;
  tenant: string;
  resolve(candidates: CandidateCall[]): void;
}

/** The scan Worker and its queue. */
export class Scanner {
  #worker: Worker | undefined;
  #ready = false;
  #startTimer: ReturnType<typeof setTimeout> | undefined;
  #deadline: ReturnType<typeof setTimeout> | undefined;
  #queue: Pending[] = [];
  #running: Pending | undefined;
  #perTenant = new Map<string, number>();
  #nextId = 1;
  #closed = false;
  #waiters: Array<() => void> = [];
  #coolUntil = 0;
  /** Workers terminated for overrunning a deadline (metrics, tests). */
  restarts = 0;

  /**
   * Starts the worker now (it loads the compiler) rather than on the first scan; resolves once
   * it is ready, or has failed to start (never rejects).
   */
  warm(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    this.#start();
    if (this.#ready) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  /** The candidate calls of `code`, or none when the scan is skipped, fails or overruns. */
  scan(code: string, tenant: string): Promise<CandidateCall[]> {
    const mine = this.#perTenant.get(tenant) ?? 0;
    const pending = this.#queue.length + (this.#running ? 1 : 0);
    if (
      this.#closed || mine >= MAX_PENDING_PER_TENANT || pending >= MAX_PENDING ||
      performance.now() < this.#coolUntil
    ) {
      return Promise.resolve([]);
    }
    this.#perTenant.set(tenant, mine + 1);
    return new Promise((resolve) => {
      this.#queue.push({ id: this.#nextId++, code, tenant, resolve });
      this.#start();
      this.#pump();
    });
  }

  /** Terminates the worker; waiting scans get no candidates. */
  close(): void {
    this.#closed = true;
    this.#stop(false);
  }

  #start(): void {
    if (this.#worker) return;
    const worker = new Worker(new URL("./scan_worker.ts", import.meta.url), { type: "module" });
    this.#worker = worker;
    this.#ready = false;
    this.#startTimer = setTimeout(() => this.#stop(false), START_TIMEOUT_MS);
    worker.onmessage = (event: MessageEvent) => {
      const data = event.data as { ready?: true; id?: number; candidates?: CandidateCall[] };
      if (data.ready) {
        clearTimeout(this.#startTimer);
        this.#ready = true;
        for (const wake of this.#waiters.splice(0)) wake();
        this.#pump();
        return;
      }
      const running = this.#running;
      if (!running || running.id !== data.id) return;
      clearTimeout(this.#deadline);
      this.#running = undefined;
      this.#finish(running, Array.isArray(data.candidates) ? data.candidates : []);
      this.#pump();
    };
    worker.onerror = (event) => {
      event.preventDefault();
      this.#stop(false);
    };
  }

  #pump(): void {
    if (!this.#worker || !this.#ready || this.#running) return;
    const next = this.#queue.shift();
    if (!next) return;
    this.#running = next;
    this.#deadline = setTimeout(() => {
      // Stuck in the parser: only terminating the worker stops it.
      this.restarts++;
      this.#coolUntil = performance.now() + OVERRUN_COOLDOWN_MS;
      this.#stop(false);
    }, SCAN_DEADLINE_MS);
    this.#worker.postMessage({ id: next.id, code: next.code });
  }

  #finish(pending: Pending, candidates: CandidateCall[]): void {
    const left = (this.#perTenant.get(pending.tenant) ?? 1) - 1;
    if (left > 0) this.#perTenant.set(pending.tenant, left);
    else this.#perTenant.delete(pending.tenant);
    pending.resolve(candidates);
  }

  /**
   * Terminates the worker; the running scan gets nothing. With `restart` the waiting scans go
   * to a new worker; otherwise (closed, failed to start, overrun) they get nothing.
   */
  #stop(restart: boolean): void {
    clearTimeout(this.#startTimer);
    clearTimeout(this.#deadline);
    this.#worker?.terminate();
    this.#worker = undefined;
    this.#ready = false;
    const running = this.#running;
    this.#running = undefined;
    if (running) this.#finish(running, []);
    if (restart && !this.#closed && this.#queue.length > 0) this.#start();
    else for (const pending of this.#queue.splice(0)) this.#finish(pending, []);
    if (!this.#worker) { for (const wake of this.#waiters.splice(0)) wake(); }
  }
}
