// A small pool of detection workers (node:worker_threads, because those can be unref'd:
// an idle pool never keeps the process alive). Detection (findPii) runs in the workers;
// callers apply the replacements themselves, so the vault stays on their thread.

import { Worker } from "node:worker_threads";
import { findPii } from "./find.ts";
import { decodeFindings } from "./findings_wire.ts";
import type { Finding, PiiType } from "./types.ts";

/** Options of {@linkcode DetectionPool}. */
export interface DetectionPoolOptions {
  /** Number of workers, started on first use (default: 2, or 1 on a one-core machine). */
  size?: number;
  /**
   * Module the workers run (default: `./detect_worker.ts`). It must answer the requests
   * described there; tests substitute one that dies.
   */
  workerUrl?: URL;
  /**
   * A request unanswered after this many milliseconds is given up: its worker is
   * terminated and the texts are detected inline (default 10 000).
   */
  timeoutMs?: number;
  /** Texts per inline slice, in UTF-16 code units, between yields to the event loop (default 65 536). */
  sliceUnits?: number;
}

/** Counters of a {@linkcode DetectionPool}, for tests and metrics. */
export interface DetectionPoolStats {
  /** Batches answered by a worker. */
  workerBatches: number;
  /** Batches detected inline on the calling thread (after a worker failed, or closed pool). */
  inlineBatches: number;
  /** Workers that died, timed out or answered with an error. */
  workerFailures: number;
  /** Workers started. */
  workersStarted: number;
}

interface Pending {
  resolve: (findings: Finding[][]) => void;
  reject: (error: Error) => void;
  texts: readonly string[];
  timer: ReturnType<typeof setTimeout>;
}

interface Slot {
  worker: Worker | null;
  /** Requests in flight, by id. */
  pending: Map<number, Pending>;
  /** UTF-16 units in flight (to pick the least loaded worker). */
  load: number;
}

const DEFAULT_TIMEOUT_MS = 10_000;
const DEFAULT_SLICE_UNITS = 65_536;
/** Failures in a row (no answer in between) after which the pool stops starting workers. */
const MAX_FAILURES_IN_A_ROW = 8;

/**
 * Runs `findPii` over batches of texts in worker threads.
 *
 * ```ts
 * const pool = new DetectionPool();
 * const [findings] = await pool.detect(["mail ann@example.com"], ["email"]);
 * pool.close();
 * ```
 *
 * A worker that dies, answers with an error or times out loses no request: the texts it
 * held are detected inline in slices of about `sliceUnits` code units that yield to the
 * event loop between them (a single text is never split, since a finding may span any
 * cut). Idle workers are unref'd; {@linkcode close} terminates them.
 */
export class DetectionPool {
  #slots: Slot[];
  #workerUrl: URL;
  #timeoutMs: number;
  #sliceUnits: number;
  #nextId = 1;
  #closed = false;
  #failuresInARow = 0;
  #stats: DetectionPoolStats = {
    workerBatches: 0,
    inlineBatches: 0,
    workerFailures: 0,
    workersStarted: 0,
  };

  /** Creates the pool; no worker starts before the first {@linkcode detect}. */
  constructor(options: DetectionPoolOptions = {}) {
    const size = options.size ?? Math.min(2, Math.max(1, navigator.hardwareConcurrency ?? 1));
    if (!Number.isInteger(size) || size < 1) {
      throw Object.assign(new RangeError("pool size must be a positive integer"), {
        kind: "invalid_option",
      });
    }
    this.#slots = Array.from(
      { length: size },
      () => ({ worker: null, pending: new Map(), load: 0 }),
    );
    this.#workerUrl = options.workerUrl ?? new URL("./detect_worker.ts", import.meta.url);
    this.#timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.#sliceUnits = options.sliceUnits ?? DEFAULT_SLICE_UNITS;
  }

  /** A snapshot of the counters. */
  get stats(): DetectionPoolStats {
    return { ...this.#stats };
  }

  /**
   * Findings of `findPii(text, types)` for each of `texts`, in order. The texts are split
   * into one contiguous batch per worker of about equal size. Never rejects because of
   * a worker; rejects only when `findPii` itself throws.
   */
  async detect(texts: readonly string[], types: readonly PiiType[]): Promise<Finding[][]> {
    if (texts.length === 0) return [];
    const batches = this.#split(texts);
    const results = await Promise.all(batches.map((batch) => this.#detectBatch(batch, types)));
    return results.flat();
  }

  /**
   * Terminates the workers. Requests in flight finish inline; later {@linkcode detect}
   * calls run inline too. Idempotent.
   */
  close(): void {
    this.#closed = true;
    for (const slot of this.#slots) this.#retire(slot, "detection pool closed", false);
  }

  /** Same as {@linkcode close}, for `using pool = new DetectionPool()`. */
  [Symbol.dispose](): void {
    this.close();
  }

  /** Contiguous batches, one per worker, of about equal total length. */
  #split(texts: readonly string[]): string[][] {
    let total = 0;
    for (const t of texts) total += t.length;
    const target = Math.ceil(total / this.#slots.length);
    const batches: string[][] = [];
    let batch: string[] = [];
    let size = 0;
    for (const t of texts) {
      batch.push(t);
      size += t.length;
      if (size >= target && batches.length < this.#slots.length - 1) {
        batches.push(batch);
        batch = [];
        size = 0;
      }
    }
    if (batch.length > 0) batches.push(batch);
    return batches;
  }

  async #detectBatch(texts: string[], types: readonly PiiType[]): Promise<Finding[][]> {
    const slot = this.#closed || this.#failuresInARow >= MAX_FAILURES_IN_A_ROW
      ? undefined
      : this.#leastLoaded();
    if (slot !== undefined) {
      try {
        const found = await this.#post(slot, texts, types);
        this.#stats.workerBatches++;
        return found;
      } catch {
        // The worker died, timed out or failed: detect here instead (below).
      }
    }
    this.#stats.inlineBatches++;
    return await detectInSlices(texts, types, this.#sliceUnits);
  }

  #leastLoaded(): Slot {
    let best = this.#slots[0];
    for (const slot of this.#slots) if (slot.load < best.load) best = slot;
    return best;
  }

  #post(slot: Slot, texts: string[], types: readonly PiiType[]): Promise<Finding[][]> {
    const worker = slot.worker ?? this.#start(slot);
    const id = this.#nextId++;
    let units = 0;
    for (const t of texts) units += t.length;
    return new Promise<Finding[][]>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#retire(slot, `detection worker timed out after ${this.#timeoutMs} ms`, true);
      }, this.#timeoutMs);
      slot.pending.set(id, { resolve, reject, texts, timer });
      slot.load += units;
      worker.ref();
      try {
        worker.postMessage({ id, texts, types: [...types] });
      } catch (error) {
        // Not sent (nothing here should fail to clone, but a lost request must not linger
        // until its timer retires a healthy worker).
        clearTimeout(timer);
        slot.pending.delete(id);
        reject(error as Error);
      }
    }).finally(() => {
      slot.load -= units;
      if (slot.pending.size === 0) slot.worker?.unref();
    });
  }

  #start(slot: Slot): Worker {
    const worker = new Worker(this.#workerUrl);
    this.#stats.workersStarted++;
    slot.worker = worker;
    worker.unref();
    worker.on("message", (message: { id: number; findings?: Int32Array; error?: string }) => {
      const pending = slot.pending.get(message.id);
      if (pending === undefined) return;
      slot.pending.delete(message.id);
      clearTimeout(pending.timer);
      if (message.findings === undefined) {
        this.#stats.workerFailures++;
        pending.reject(new Error(message.error ?? "detection worker failed"));
        return;
      }
      try {
        pending.resolve(decodeFindings(message.findings, pending.texts));
        this.#failuresInARow = 0;
      } catch (error) {
        pending.reject(error as Error);
      }
    });
    const fail = (reason: string) => {
      if (slot.worker === worker) this.#retire(slot, reason, true);
    };
    worker.on("error", (error: unknown) => fail(`detection worker failed: ${String(error)}`));
    worker.on("exit", (code: number) => fail(`detection worker exited with code ${code}`));
    return worker;
  }

  /** Terminates the slot's worker and rejects what it held (the callers go inline). */
  #retire(slot: Slot, reason: string, failure: boolean): void {
    const worker = slot.worker;
    slot.worker = null;
    if (worker !== null) {
      if (failure) {
        this.#stats.workerFailures++;
        this.#failuresInARow++;
      }
      worker.terminate().catch(() => {});
    }
    const pending = [...slot.pending.values()];
    slot.pending.clear();
    for (const p of pending) {
      clearTimeout(p.timer);
      p.reject(Object.assign(new Error(reason), { kind: "internal" }));
    }
  }
}

/**
 * `findPii` over `texts` on this thread, yielding to the event loop (a zero-delay timer,
 * so I/O callbacks run too) after each slice of about `sliceUnits` code units.
 */
export async function detectInSlices(
  texts: readonly string[],
  types: readonly PiiType[],
  sliceUnits: number = DEFAULT_SLICE_UNITS,
): Promise<Finding[][]> {
  const out: Finding[][] = [];
  let units = 0;
  for (const text of texts) {
    if (units >= sliceUnits) {
      await new Promise((resolve) => setTimeout(resolve, 0));
      units = 0;
    }
    out.push(findPii(text, types));
    units += text.length;
  }
  return out;
}
