/**
 * What the memory and CPU guards share about cgroup v1: where this process's group of a
 * controller is, and removing the per-gateway `airlock-<pid>` directories (this gateway's,
 * and those left by gateways no longer running).
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
