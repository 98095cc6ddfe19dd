/**
 * Limits that hold whatever the gateway's main thread is doing. Each sandbox process gets
 * a {@link Watch}: its deadline, its cache directory's disk cap and (for the RSS watchdog)
 * its memory limit are enforced by a dedicated worker thread (`supervisor_worker.ts`) with its own event loop, which kills
 * the process group itself and writes the reason into a SharedArrayBuffer slot
 * (`verdict.ts`). The main thread reads that slot when it judges the exit, and writes the
 * same slot when it kills for a reason of its own (output budget, cancellation), so the
 * first reason wins without any ordering of messages.
 *
 * The worker runs while at least one process is watched or a `Sandbox` holds it
 * ({@link retainSupervisor}: starting it costs the main thread ~18 ms, too much for every
 * cold execution), and is terminated otherwise, so a closed sandbox leaves no thread.
 *
 * @module
 */

import type { SandboxErrorKind } from "./types.ts";
import {
  killedAtIndex,
  VERDICT_BYTES,
  VERDICT_DISK,
  VERDICT_FINISHED,
  VERDICT_NONE,
  verdictKind,
  verdictOf,
} from "./verdict.ts";
import { cpuTimeMs } from "./cpu_time.ts";

/** The parts of a `Deno.ChildProcess` a watch needs. */
export interface SupervisedChild {
  /** The process id, which is also its process group id (it runs in its own session). */
  readonly pid: number;
  /** Resolves when the process has exited. */
  readonly status: Promise<Deno.CommandStatus>;
  /** Signals the process itself (used when its group cannot be signalled). */
  kill(signal?: Deno.Signal): void;
}

const WORKER_URL = new URL("./supervisor_worker.ts", import.meta.url);
/**
 * A main-thread timer also fires this long after a deadline: it only matters when the
 * worker could not start or died, and then a late kill beats no kill.
 */
const BACKUP_DELAY_MS = 250;
/** How often a paused deadline reads the process's CPU time, in ms. */
const CPU_POLL_MS = 100;

let worker: Worker | undefined;
let workerFailed = false;
let nextId = 0;
let retained = 0;
/** Watches not yet released (by pid, for {@link watchOf}), and how many there are. */
const watches = new Map<number, Watch>();
let unreleased = 0;

/** One supervised process: its deadline, its memory limit, and why it was killed. */
export class Watch {
  /** The process id. */
  readonly pid: number;
  readonly #id: number;
  readonly #child: SupervisedChild;
  readonly #verdict: Int32Array;
  readonly #killedAt: Float64Array;
  #backup: ReturnType<typeof setTimeout> | undefined;
  #released = false;
  #registered: boolean;
  /** When the deadline passes (ms since the epoch), while it runs; see {@link pause}. */
  #deadlineAt: number | undefined;
  /** Time left of a paused deadline, in ms. */
  #remainingMs: number | undefined;
  #pauses = 0;
  /** CPU time of the process when the clock was paused, in ms; see {@link pause}. */
  #pausedCpuMs: number | undefined;
  #cpuPoll: ReturnType<typeof setInterval> | undefined;
  #onLost: (() => void)[] = [];
  /** Whether the main thread has sent the group its SIGKILL. */
  #killed = false;

  constructor(child: SupervisedChild) {
    this.pid = child.pid;
    this.#id = ++nextId;
    this.#child = child;
    const state = new SharedArrayBuffer(VERDICT_BYTES);
    this.#verdict = new Int32Array(state, 0, 1);
    this.#killedAt = new Float64Array(state, 0, killedAtIndex + 1);
    this.#registered = post({ op: "watch", id: this.#id, pid: this.pid, state });
  }

  /** Whether the worker thread enforces this process's limits (else the main thread does). */
  get supervised(): boolean {
    return this.#registered && !workerFailed;
  }

  /**
   * Calls `fallback` (now, or when the worker fails later) if the worker thread does not
   * enforce this process's limits, so a guard can fall back to polling on the main thread.
   */
  onUnsupervised(fallback: () => void): void {
    if (!this.supervised) fallback();
    else this.#onLost.push(fallback);
  }

  /** The worker thread failed: hand the limits to the main thread. */
  lost(): void {
    for (const fallback of this.#onLost.splice(0)) fallback();
  }

  /**
   * Kills the process group `timeoutMs` (ms) from now with the verdict `timeout`, from the
   * worker thread. A later call replaces the deadline.
   */
  deadline(timeoutMs: number): void {
    this.#pauses = 0;
    this.#stopCpuPoll();
    this.#remainingMs = undefined;
    this.#arm(timeoutMs);
  }

  /**
   * Stops the deadline's clock for waiting (the process keeps running) until the returned
   * function is called: time the process spends waiting does not count against the limit,
   * but CPU time it uses meanwhile does (code may compute while a call of its own waits):
   * polled every {@linkcode CPU_POLL_MS} ms, it kills with `timeout` once it passes the time
   * that was left, and is taken off that time on resume. Where CPU time cannot be read (no
   * `/proc`) the whole pause is free. Pauses nest: the clock runs again once every pause has
   * been resumed. Resuming twice is harmless. Without a deadline this does nothing.
   */
  pause(): () => void {
    if (this.#pauses++ === 0 && this.#deadlineAt !== undefined) {
      const remaining = Math.max(0, this.#deadlineAt - Date.now());
      this.#remainingMs = remaining;
      this.#deadlineAt = undefined;
      post({ op: "deadline", id: this.#id, at: null });
      clearTimeout(this.#backup);
      const start = cpuTimeMs(this.pid);
      this.#pausedCpuMs = start;
      if (start !== undefined) {
        this.#cpuPoll = setInterval(() => {
          const now = cpuTimeMs(this.pid);
          if (now !== undefined && now - start >= remaining) {
            this.#stopCpuPoll();
            this.kill("timeout");
          }
        }, CPU_POLL_MS);
      }
    }
    let resumed = false;
    return () => {
      if (resumed || this.#pauses === 0) return;
      resumed = true;
      if (--this.#pauses === 0 && this.#remainingMs !== undefined) {
        const start = this.#pausedCpuMs;
        const now = start === undefined ? undefined : cpuTimeMs(this.pid);
        const used = start === undefined || now === undefined ? 0 : now - start;
        this.#stopCpuPoll();
        const left = Math.max(0, this.#remainingMs - used);
        this.#remainingMs = undefined;
        if (!this.#released) this.#arm(left);
      }
    };
  }

  #stopCpuPoll(): void {
    clearInterval(this.#cpuPoll);
    this.#cpuPoll = undefined;
    this.#pausedCpuMs = undefined;
  }

  #arm(timeoutMs: number): void {
    this.#deadlineAt = Date.now() + timeoutMs;
    post({ op: "deadline", id: this.#id, at: this.#deadlineAt });
    clearTimeout(this.#backup);
    const delay = this.supervised ? BACKUP_DELAY_MS : 0;
    this.#backup = setTimeout(() => this.kill("timeout"), timeoutMs + delay);
  }

  /** Kills the process group with the verdict `memory` once its VmRSS passes `limitBytes`. */
  limitRss(limitBytes: number): void {
    post({ op: "rss", id: this.#id, limitBytes });
  }

  /**
   * Kills the process group with the verdict `output_limit` once the files under `dir`
   * (its private cache directory) pass `limitBytes` in total, polled every 100 ms.
   */
  limitDisk(dir: string, limitBytes: number): void {
    post({ op: "disk", id: this.#id, dir, limitBytes });
  }

  /**
   * Has the worker thread kill the process group at `at` (ms since the epoch) unless it has
   * exited by then, whatever the verdict: a backstop that a stalled main thread cannot
   * delay. Records no verdict. Replaces the deadline.
   */
  killAt(at: number): void {
    // Gone already: nothing to kill, and posting would start a stopped worker again.
    if (this.#released) return;
    this.#disarm();
    post({ op: "deadline", id: this.#id, at, always: true });
  }

  /**
   * Kills the whole process group now. `reason` is recorded unless a verdict is already
   * there (the first one wins).
   */
  kill(reason?: SandboxErrorKind): void {
    const code = reason && verdictOf(reason);
    if (code !== undefined) Atomics.compareExchange(this.#verdict, 0, VERDICT_NONE, code);
    // One SIGKILL to the group is enough: a sandbox cannot start processes (no permission),
    // and signalling a group costs the gateway's thread about 0.4 ms each time.
    // Once it has exited its pid (and group id) may be another process's.
    if (this.#killed || this.#released) return;
    try {
      Deno.kill(-this.pid, "SIGKILL");
      this.#killed = true;
    } catch {
      try {
        this.#child.kill("SIGKILL");
      } catch { /* already gone */ }
    }
  }

  /**
   * The main thread accepts the outcome it has: from now on no limit is recorded (the
   * process may still be killed). Call it before reading {@link verdict} for the outcome.
   */
  finish(): void {
    this.#disarm();
    Atomics.compareExchange(this.#verdict, 0, VERDICT_NONE, VERDICT_FINISHED);
  }

  /** Stops this thread's deadline: the backup timer, the CPU poll of a pause, what was left. */
  #disarm(): void {
    clearTimeout(this.#backup);
    this.#stopCpuPoll();
    this.#deadlineAt = undefined;
    this.#remainingMs = undefined;
  }

  /** Why the process was killed, if a limit or a cancellation did it. */
  get verdict(): SandboxErrorKind | undefined {
    return verdictKind(Atomics.load(this.#verdict, 0));
  }

  /** Whether the kill was for the disk cap (reported as `output_limit`, worded apart). */
  get diskExceeded(): boolean {
    return Atomics.load(this.#verdict, 0) === VERDICT_DISK;
  }

  /**
   * When the worker thread killed the process, in ms since the epoch; `undefined` when it
   * did not (for diagnostics and tests).
   */
  get killedAt(): number | undefined {
    return this.#killedAt[killedAtIndex] || undefined;
  }

  /** The process has exited: the worker forgets it, so a reused pid is never signalled. */
  release(): void {
    clearTimeout(this.#backup);
    this.#stopCpuPoll();
    if (this.#released) return;
    this.#released = true;
    unreleased--;
    // A new process may already have this pid (it was reaped before this ran).
    if (watches.get(this.pid) === this) watches.delete(this.pid);
    if (unreleased > 0 || retained > 0) {
      post({ op: "unwatch", id: this.#id });
    } else {
      stopWorker();
    }
  }
}

/**
 * Starts supervising a freshly spawned process; the watch is released by itself when the
 * process exits.
 */
export function supervise(child: SupervisedChild): Watch {
  const watch = new Watch(child);
  watches.set(child.pid, watch);
  unreleased++;
  child.status.then(() => watch.release(), () => watch.release());
  return watch;
}

/**
 * Keeps the worker thread running (and starts it now) until as many
 * {@link releaseSupervisor} calls: `Sandbox.start` and `Sandbox.close`.
 */
export function retainSupervisor(): void {
  retained++;
  if (!worker && !workerFailed) post({ op: "noop" });
}

/** Undoes one {@link retainSupervisor}; the worker stops once nothing needs it. */
export function releaseSupervisor(): void {
  retained = Math.max(0, retained - 1);
  if (retained === 0 && unreleased === 0) stopWorker();
}

function stopWorker(): void {
  worker?.terminate();
  worker = undefined;
}

/**
 * Kills every supervised process now (synchronously). For exit handlers: a process still
 * running would keep writing into a directory that is being removed.
 */
export function killAllSupervised(): void {
  for (const watch of watches.values()) watch.kill();
}

/** The watch of a live supervised process, by pid. */
export function watchOf(pid: number): Watch | undefined {
  return watches.get(pid);
}

/**
 * Whether limits are enforced off the main thread: `false` once the worker failed to
 * start or crashed (then only the main-thread backup timers remain, and RSS polling stops).
 */
export function supervisorHealthy(): boolean {
  return !workerFailed;
}

/**
 * Sends a message to the worker, starting it if need be. `false` when there is no worker:
 * it failed for good, or it could not be started now (no thread to be had: tried again
 * with the next message).
 */
function post(message: Record<string, unknown>): boolean {
  if (workerFailed) return false;
  try {
    if (!worker) {
      worker = new Worker(WORKER_URL, { type: "module" });
      worker.onerror = (event) => {
        event.preventDefault();
        failed(event.message);
      };
    }
    worker.postMessage(message);
    return true;
  } catch (error) {
    worker = undefined;
    console.error(
      `airlock sandbox: the supervisor thread could not be started (${
        error instanceof Error ? error.message : error
      }); this process's limits are enforced from the main thread`,
    );
    return false;
  }
}

function failed(reason: string): void {
  if (workerFailed) return;
  workerFailed = true;
  worker?.terminate();
  worker = undefined;
  console.error(
    `airlock sandbox: the supervisor thread failed (${reason}); limits are now enforced ` +
      "from the main thread (late while it is busy) and disk use is not capped",
  );
  for (const watch of watches.values()) watch.lost();
}
