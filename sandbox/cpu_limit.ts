/**
 * A CPU cap per sandbox process: at most one core, enforced by the kernel's CFS bandwidth
 * control (cgroup v1 `cpu` controller). A single execution can otherwise use every core:
 * Node's async crypto and zlib and WebCrypto run on the runtime's blocking thread pool,
 * so `crypto.pbkdf2` ×16 used 1.98 cores of a 2-core host. Each process gets its own
 * group `airlock-<gateway pid>/exec-…` with `cpu.cfs_quota_us` = `cpu.cfs_period_us`
 * (100 000 µs: one core's worth per period, over all its threads). The per-gateway group
 * has `cpu.shares` = {@link GATEWAY_GROUP_SHARES}: all sandboxes together weigh one nice-0
 * task, as much as the gateway, which therefore gets at least half the CPU under overload
 * (inside a cpu cgroup the kernel's autogroup does not apply, so their niceness no longer
 * would), while the sandboxes never weigh more than one ordinary process against the host's
 * other services. (128 starved them against any other busy process.)
 *
 * Where the controller is missing or not writable, this logs once and does nothing: CPU
 * is then bounded by the timeout and the concurrency limit only (README, Security model).
 *
 * @module
 */

import { GatewayGroup } from "./cgroup_v1.ts";

/** CFS period and quota of one execution's group, in µs: one core. */
const QUOTA_US = 100_000;
/** `cpu.shares` of the per-gateway group (a nice-0 task weighs 1024). */
export const GATEWAY_GROUP_SHARES = 1024;

let warned = false;

function warnOnce(why: unknown): void {
  if (warned) return;
  warned = true;
  console.error(
    `airlock: no CPU cap per execution (cgroup v1 cpu controller unavailable: ${
      why instanceof Error ? why.message : String(why)
    }); CPU is bounded by the timeout and the concurrency limit only`,
  );
}

const group = new GatewayGroup("cpu", async (base) => {
  await Deno.writeTextFile(`${base}/cpu.shares`, String(GATEWAY_GROUP_SHARES));
  // A new group's period is the kernel default; the quota below assumes it.
  const period = Number((await Deno.readTextFile(`${base}/cpu.cfs_period_us`)).trim());
  if (period !== QUOTA_US) await Deno.writeTextFile(`${base}/cpu.cfs_period_us`, "100000");
}, warnOnce);

/**
 * Finds (once) the cgroup v1 cpu directory this process is in, removes the groups of
 * gateways no longer running, and creates `airlock-<pid>` there with its shares set.
 * `null` (logged once) when there is none or it is not writable.
 */
export function cpuCgroupBaseDir(): Promise<string | null> {
  return group.dir();
}

/**
 * Removes this process's `airlock-<pid>` cpu group once no group is in use, and those of
 * gateways no longer running; the next limit creates it again. Called by `Sandbox.close`.
 */
export function releaseCpuCgroupBase(): Promise<void> {
  return group.release();
}

/** Caps one process at one core; a no-op where the host has no usable cpu controller. */
export interface CpuLimit {
  /** The group directory, or `null` when no cap is applied. */
  readonly dir: string | null;
  /**
   * Moves the process `pid` (all its threads, and the processes it starts later) into a
   * group capped at one core: one mkdir and two small writes. Never rejects: a failure is
   * logged once and leaves the process uncapped.
   */
  attach(pid: number): Promise<void>;
  /** Removes the group once the process has left it (retries for up to about 1 s). */
  dispose(): Promise<void>;
}

/** A CPU limit for one process, in this gateway's cpu group where there is one. */
export async function createCpuLimit(): Promise<CpuLimit> {
  const base = await cpuCgroupBaseDir();
  return base
    ? new CgroupCpuLimit(base)
    : { dir: null, attach: async () => {}, dispose: async () => {} };
}

class CgroupCpuLimit implements CpuLimit {
  readonly dir: string;
  #created = false;

  constructor(base: string) {
    this.dir = group.childName(base);
  }

  async attach(pid: number): Promise<void> {
    try {
      // The base may have been released by another Sandbox's close meanwhile (its shares
      // are then the default until the next gateway start: a weaker weight, never a lost
      // quota).
      await group.makeChild(this.dir);
      this.#created = true;
      await Deno.writeTextFile(`${this.dir}/cpu.cfs_quota_us`, String(QUOTA_US));
      await Deno.writeTextFile(`${this.dir}/cgroup.procs`, String(pid));
    } catch (error) {
      warnOnce(error);
    }
  }

  async dispose(): Promise<void> {
    if (!this.#created) return;
    this.#created = false;
    await group.removeChild(this.dir);
  }
}
