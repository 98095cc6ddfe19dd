/**
 * The processes below a gateway process, for tests that stop or kill it: none may outlive the
 * test (its sandboxes and MCP servers).
 *
 * @module
 */

/** The process ids below `pid` (read from /proc), children first. */
export async function descendants(pid: number): Promise<number[]> {
  const parents = new Map<number, number>();
  for await (const entry of Deno.readDir("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    try {
      const stat = await Deno.readTextFile(`/proc/${entry.name}/stat`);
      // "pid (comm) state ppid …": comm may hold spaces and parentheses.
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      parents.set(Number(entry.name), ppid);
    } catch { /* gone */ }
  }
  const out: number[] = [];
  const queue = [pid];
  while (queue.length > 0) {
    const parent = queue.shift()!;
    for (const [child, ppid] of parents) {
      if (ppid === parent) {
        out.push(child);
        queue.push(child);
      }
    }
  }
  return out;
}

/** Whether process `pid` still exists. */
export function alive(pid: number): boolean {
  try {
    Deno.statSync(`/proc/${pid}`);
    return true;
  } catch {
    return false;
  }
}

/** Kills what is left of `pids` (SIGKILL) once they had `graceMs` to end by themselves. */
export async function reap(
  pids: number[],
  waitFor: (check: () => boolean, ms: number) => Promise<boolean>,
  graceMs = 10_000,
): Promise<void> {
  await waitFor(() => pids.every((pid) => !alive(pid)), graceMs);
  for (const pid of pids.filter(alive)) {
    try {
      Deno.kill(pid, "SIGKILL");
    } catch { /* gone */ }
  }
}
