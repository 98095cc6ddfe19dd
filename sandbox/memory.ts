/**
 * Memory limits that cover everything a sandbox process holds: V8 heap, ArrayBuffers,
 * WebAssembly memory. `--max-old-space-size` alone covers only the heap, so each
 * process is also placed in its own cgroup v1 memory group where the host offers one,
 * or watched by polling its resident set size when it does not.
 *
 * @module
 */

import { GatewayGroup } from "./cgroup_v1.ts";
import { type Watch, watchOf } from "./supervisor.ts";

/** Which mechanism enforces the resident-memory limit. */
export type MemoryGuardMode = "cgroup" | "watchdog";

/** Watches one process's memory. */
export interface MemoryGuard {
  /** The mechanism in use. */
  readonly mode: MemoryGuardMode;
  /**
   * Starts enforcing `limitBytes` on the process `pid`. Neither guard needs the main
   * thread to act: the cgroup's limit is the kernel's, and the watchdog polls and kills on
   * the supervisor thread (`pid` must be supervised); `onExceeded` is kept for guards that
   * would need the caller to kill.
   */
  attach(pid: number, limitBytes: number, onExceeded: () => void): Promise<void>;
  /** Whether the process went over its limit (read after it exited). */
  exceeded(): Promise<boolean>;
  /** Stops watching and frees what the guard created. */
  dispose(): Promise<void>;
}

/** RSS polling interval when the supervisor thread is unavailable, in ms. */
const MAIN_THREAD_INTERVAL_MS = 10;

const group = new GatewayGroup("memory", async (base) => {
  await Deno.stat(`${base}/memory.limit_in_bytes`);
});

/**
 * Finds (once) a cgroup v1 memory directory this process may create groups in, and
 * creates `airlock-<pid>` inside it. `null` when there is none. Directories left by
 * gateways that are no longer running (a crash, `kill -9`) are removed on the way.
 */
export function cgroupBaseDir(): Promise<string | null> {
  return group.dir();
}

/**
 * Removes this process's `airlock-<pid>` cgroup directory (and any empty group left in it)
 * once no group is in use, and those of gateways no longer running; the next guard
 * creates it again. Called by `Sandbox.close`.
 */
export function releaseCgroupBase(): Promise<void> {
  return group.release();
}

/** Picks the best guard this host supports, or the one asked for. */
export async function createMemoryGuard(
  preferred: "auto" | MemoryGuardMode = "auto",
): Promise<MemoryGuard> {
  if (preferred !== "watchdog") {
    const base = await cgroupBaseDir();
    if (base) return new CgroupGuard(base);
    if (preferred === "cgroup") throw new Error("no writable cgroup v1 memory controller here");
  }
  return new RssWatchdog();
}

class CgroupGuard implements MemoryGuard {
  readonly mode = "cgroup" as const;
  #dir: string;
  #created = false;

  constructor(base: string) {
    this.#dir = group.childName(base);
  }

  async attach(pid: number, limitBytes: number): Promise<void> {
    await group.makeChild(this.#dir);
    this.#created = true;
    await Deno.writeTextFile(`${this.#dir}/memory.limit_in_bytes`, String(limitBytes));
    try {
      // Without this the process could page out to swap instead of being stopped.
      await Deno.writeTextFile(`${this.#dir}/memory.memsw.limit_in_bytes`, String(limitBytes));
    } catch { /* no swap accounting on this host */ }
    await Deno.writeTextFile(`${this.#dir}/cgroup.procs`, String(pid));
  }

  async exceeded(): Promise<boolean> {
    try {
      const oom = await Deno.readTextFile(`${this.#dir}/memory.oom_control`);
      const kills = /oom_kill (\d+)/.exec(oom);
      if (kills && Number(kills[1]) > 0) return true;
      const failcnt = await Deno.readTextFile(`${this.#dir}/memory.failcnt`);
      return Number(failcnt.trim()) > 0;
    } catch {
      return false;
    }
  }

  async dispose(): Promise<void> {
    if (!this.#created) return;
    this.#created = false;
    await group.removeChild(this.#dir);
  }
}

/**
 * Polls the process's resident set size and kills it past the limit. The polling runs on
 * the supervisor's worker thread (`supervisor.ts`), not here: a main thread busy with
 * another request must not let a process allocate gigabytes in the meantime. Only when
 * that thread is unavailable does it poll from the main thread.
 */
class RssWatchdog implements MemoryGuard {
  readonly mode = "watchdog" as const;
  #watch: Watch | undefined;
  #timer: ReturnType<typeof setInterval> | undefined;

  attach(pid: number, limitBytes: number): Promise<void> {
    const watch = this.#watch = watchOf(pid);
    if (!watch) return Promise.reject(new Error(`process ${pid} is not supervised`));
    watch.limitRss(limitBytes);
    watch.onUnsupervised(() => {
      let reading = false;
      this.#timer ??= setInterval(async () => {
        if (reading) return;
        reading = true;
        try {
          const status = await Deno.readTextFile(`/proc/${pid}/status`);
          const rss = /VmRSS:\s+(\d+) kB/.exec(status);
          if (rss && Number(rss[1]) * 1024 > limitBytes) watch.kill("memory");
        } catch {
          // The process is gone; the runner notices that on its own.
        } finally {
          reading = false;
        }
      }, MAIN_THREAD_INTERVAL_MS);
    });
    return Promise.resolve();
  }

  exceeded(): Promise<boolean> {
    return Promise.resolve(this.#watch?.verdict === "memory");
  }

  dispose(): Promise<void> {
    clearInterval(this.#timer);
    return Promise.resolve();
  }
}
