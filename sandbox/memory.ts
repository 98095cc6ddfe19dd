/**
 * Memory limits that cover everything a sandbox process holds: V8 heap, ArrayBuffers,
 * WebAssembly memory. `--max-old-space-size` alone covers only the heap, so each
 * process is also placed in its own cgroup v1 memory group where the host offers one,
 * or watched by polling its resident set size when it does not.
 *
 * @module
 */

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

const CGROUP_V1_ROOT = "/sys/fs/cgroup/memory";

let cgroupBase: Promise<string | null> | undefined;

/**
 * Finds (once) a cgroup v1 memory directory this process may create groups in, and
 * creates `airlock-<pid>` inside it. `null` when there is none.
 */
export function cgroupBaseDir(): Promise<string | null> {
  cgroupBase ??= (async () => {
    try {
      const self = await Deno.readTextFile("/proc/self/cgroup");
      const line = self.split("\n").find((l) => /^\d+:([^:]*,)?memory(,[^:]*)?:/.test(l));
      if (!line) return null;
      const path = line.slice(line.lastIndexOf(":") + 1);
      const base = `${CGROUP_V1_ROOT}${path === "/" ? "" : path}/airlock-${Deno.pid}`;
      await Deno.mkdir(base, { recursive: true });
      await Deno.stat(`${base}/memory.limit_in_bytes`);
      return base;
    } catch {
      return null;
    }
  })();
  return cgroupBase;
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

let groupCounter = 0;

class CgroupGuard implements MemoryGuard {
  readonly mode = "cgroup" as const;
  #dir: string;

  constructor(base: string) {
    this.#dir = `${base}/exec-${++groupCounter}-${crypto.randomUUID().slice(0, 8)}`;
  }

  async attach(pid: number, limitBytes: number): Promise<void> {
    await Deno.mkdir(this.#dir);
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
    // The group can be removed only once its last process is gone; that is a matter of
    // milliseconds after the kill.
    for (let attempt = 0; attempt < 50; attempt++) {
      try {
        await Deno.remove(this.#dir);
        return;
      } catch (error) {
        if (error instanceof Deno.errors.NotFound) return;
        await new Promise((r) => setTimeout(r, 20));
      }
    }
  }
}

/**
 * Polls the process's resident set size and kills it past the limit. The polling runs on
 * the supervisor's worker thread (`supervisor.ts`), not here: a main thread busy with
 * another request must not let a process allocate gigabytes in the meantime.
 */
class RssWatchdog implements MemoryGuard {
  readonly mode = "watchdog" as const;
  #watch: Watch | undefined;

  attach(pid: number, limitBytes: number): Promise<void> {
    this.#watch = watchOf(pid);
    if (!this.#watch) return Promise.reject(new Error(`process ${pid} is not supervised`));
    this.#watch.limitRss(limitBytes);
    return Promise.resolve();
  }

  exceeded(): Promise<boolean> {
    return Promise.resolve(this.#watch?.verdict === "memory");
  }

  dispose(): Promise<void> {
    return Promise.resolve();
  }
}
