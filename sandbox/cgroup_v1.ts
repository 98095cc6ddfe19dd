/**
 * What the memory and CPU guards share about cgroup v1: where this process's group of a
 * controller is, the per-gateway `airlock-<pid>` group and its per-process groups
 * ({@link GatewayGroup}: made, counted, removed), and removing those left by gateways no
 * longer running.
 *
 * @module
 */

/**
 * The cgroup v1 directory of `controller` (`memory`, `cpu`) that this process is in,
 * under `/sys/fs/cgroup/<controller>`, or `null` when it is in none.
 */
export async function controllerDir(controller: string): Promise<string | null> {
  const self = await Deno.readTextFile("/proc/self/cgroup");
  const listed = new RegExp(`^\\d+:([^:]*,)?${controller}(,[^:]*)?:`);
  const line = self.split("\n").find((l) => listed.test(l));
  if (!line) return null;
  const path = line.slice(line.lastIndexOf(":") + 1);
  return `/sys/fs/cgroup/${controller}${path === "/" ? "" : path}`;
}

/**
 * Removes `airlock-<pid>` directories of gateways that are no longer running from a cgroup
 * directory `parent`.
 */
export async function removeDeadGateways(parent: string): Promise<void> {
  try {
    for await (const entry of Deno.readDir(parent)) {
      const pid = /^airlock-(\d+)$/.exec(entry.name)?.[1];
      if (!entry.isDirectory || !pid || Number(pid) === Deno.pid) continue;
      try {
        await Deno.stat(`/proc/${pid}`);
        continue; // still running (or the pid was reused: then it stays, harmlessly)
      } catch { /* gone */ }
      await removeGroupTree(`${parent}/${entry.name}`);
    }
  } catch { /* no such directory, or not ours to read */ }
}

/**
 * Removes a cgroup directory and its child groups. cgroupfs removes a group with rmdir
 * (its control files go with it), and only when no process is left in it: a group that is
 * still in use stays.
 */
export async function removeGroupTree(dir: string): Promise<void> {
  try {
    for await (const entry of Deno.readDir(dir)) {
      if (entry.isDirectory) await Deno.remove(`${dir}/${entry.name}`).catch(() => {});
    }
    await Deno.remove(dir);
  } catch { /* in use, or already gone */ }
}

/** {@link removeGroupTree} for exit handlers, which cannot await. */
export function removeGroupTreeSync(dir: string): void {
  try {
    for (const entry of Deno.readDirSync(dir)) {
      if (!entry.isDirectory) continue;
      try {
        Deno.removeSync(`${dir}/${entry.name}`);
      } catch { /* in use */ }
    }
    Deno.removeSync(dir);
  } catch { /* in use, or already gone */ }
}

/**
 * This gateway's group `airlock-<pid>` under one cgroup v1 controller, and the
 * per-process groups in it (`exec-…`). The group is made on first use (the groups of
 * gateways no longer running are removed on the way), set up by `prepare`, removed by
 * {@link release} once none of its process groups is left, and (best effort) on exit.
 */
export class GatewayGroup {
  #base: Promise<string | null> | undefined;
  /** Process groups created and not yet removed; the base can go when this is 0. */
  #live = 0;
  /** The base as last created, for the exit handler (which cannot await). */
  #created: string | undefined;
  #counter = 0;

  /**
   * @param controller `memory` or `cpu`
   * @param prepare sets up (or checks) a freshly made base directory; throws when unusable
   * @param unavailable told why, when there is no usable group (then {@link dir} is `null`)
   */
  constructor(
    readonly controller: string,
    readonly prepare: (base: string) => Promise<void>,
    readonly unavailable: (why: unknown) => void = () => {},
  ) {
    globalThis.addEventListener("unload", () => {
      // Groups of processes still dying stay: the next gateway here removes them.
      if (this.#created) removeGroupTreeSync(this.#created);
    });
  }

  /** The base directory, made once; `null` when the host has no usable controller. */
  dir(): Promise<string | null> {
    this.#base ??= (async () => {
      let made: string | undefined;
      try {
        const parent = await controllerDir(this.controller);
        if (!parent) throw new Error(`this process is in no ${this.controller} cgroup`);
        await removeDeadGateways(parent);
        const base = `${parent}/airlock-${Deno.pid}`;
        await Deno.mkdir(base, { recursive: true });
        made = base;
        this.#created = base;
        await this.prepare(base);
        return base;
      } catch (error) {
        this.unavailable(error);
        if (made) await removeGroupTree(made);
        this.#created = undefined;
        return null;
      }
    })();
    return this.#base;
  }

  /** A new, unused name for one process's group inside `base`. */
  childName(base: string): string {
    return `${base}/exec-${++this.#counter}-${crypto.randomUUID().slice(0, 8)}`;
  }

  /**
   * Makes one process's group; counted until {@link removeChild}. recursive: the base may
   * have been released (by another Sandbox's close) since the name was taken.
   */
  async makeChild(dir: string): Promise<void> {
    await Deno.mkdir(dir, { recursive: true });
    this.#live++;
  }

  /**
   * Removes one process's group, which cgroupfs allows only once its last process is gone
   * (milliseconds after the kill): retries for up to about 1 s.
   */
  async removeChild(dir: string): Promise<void> {
    try {
      for (let attempt = 0; attempt < 50; attempt++) {
        try {
          await Deno.remove(dir);
          return;
        } catch (error) {
          if (error instanceof Deno.errors.NotFound) return;
          await new Promise((r) => setTimeout(r, 20));
        }
      }
    } finally {
      this.#live--;
    }
  }

  /**
   * Removes the base once none of its process groups is in use, and those of gateways no
   * longer running; the next {@link dir} makes it again.
   */
  async release(): Promise<void> {
    if (!this.#base || this.#live > 0) return;
    const pending = this.#base;
    const base = await pending;
    if (!base || this.#live > 0 || this.#base !== pending) return;
    this.#base = undefined;
    this.#created = undefined;
    await removeGroupTree(base);
    await removeDeadGateways(base.slice(0, base.lastIndexOf("/")));
  }
}
