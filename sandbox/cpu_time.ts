/**
 * CPU time of a process, read from Linux's `/proc/<pid>/stat`: what a paused deadline
 * still charges (see `Watch.pause`), so code cannot compute while a call of its own waits.
 *
 * @module
 */

/** Clock ticks per second of `/proc` times (`USER_HZ`, 100 on every Linux ABI). */
const TICKS_PER_SECOND = 100;

/**
 * User plus system CPU time the process `pid` has used, in ms (all its threads, 10 ms
 * resolution); `undefined` where `/proc` cannot be read (not Linux, the process is gone).
 */
export function cpuTimeMs(pid: number): number | undefined {
  let stat: string;
  try {
    stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
  } catch {
    return undefined;
  }
  // The command name (field 2) is in parentheses and may hold spaces or parentheses: the
  // fields after it start after the last ")". utime and stime are fields 14 and 15.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  if (!Number.isFinite(utime) || !Number.isFinite(stime)) return undefined;
  return ((utime + stime) * 1000) / TICKS_PER_SECOND;
}
