/**
 * The supervisor's worker thread: it owns every execution deadline and the resident-memory
 * polling of watchdog-guarded processes, and kills a process group itself when a limit
 * passes. It has its own event loop, so a gateway main thread that is busy (a long
 * synchronous request, a large JSON parse) cannot postpone a kill.
 *
 * Messages in (from `supervisor.ts`):
 * - `{ op: "watch", id, pid, state }`: `state` is the watch's SharedArrayBuffer (see
 *   `supervisor.ts` for its layout);
 * - `{ op: "deadline", id, at }`: kill at `at`, in ms since the epoch (`Date.now()` is the
 *   same clock on every thread, so the worker's start-up time is not added to the limit);
 *   `at: null` clears the deadline (a paused clock, see `Watch.pause`); with `always`, the
 *   group is killed at `at` even after the main thread accepted the outcome, and no verdict
 *   is recorded (the backstop for a process whose answer is out, see `Watch.killAt`);
 * - `{ op: "rss", id, limitBytes }`: kill once VmRSS passes `limitBytes`;
 * - `{ op: "disk", id, dir, limitBytes }`: kill once the files under `dir` pass
 *   `limitBytes` (verdict `output_limit`);
 * - `{ op: "unwatch", id }`: the process has exited; forget it (its pid may be reused);
 * - `{ op: "noop" }`: sent only to start the thread ahead of need.
 *
 * No messages go out: a verdict is written to the shared state with a compare-and-swap,
 * which the main thread reads when it judges the exit, so there is no message that could
 * arrive after the exit is seen.
 *
 * @module
 */

import {
  killedAtIndex,
  VERDICT_DISK,
  VERDICT_MEMORY,
  VERDICT_NONE,
  VERDICT_TIMEOUT,
} from "./verdict.ts";

/** How often the resident set size of watchdog-guarded processes is read, in ms. */
const RSS_INTERVAL_MS = 10;
/** How often private cache directories are measured, in ms. */
const DISK_INTERVAL_MS = 100;
/** Entries one measurement visits at most; more counts as over the limit. */
const DISK_MAX_ENTRIES = 20_000;

interface Watched {
  pid: number;
  verdict: Int32Array;
  killedAt: Float64Array;
  timer?: ReturnType<typeof setTimeout>;
  rssLimitBytes?: number;
  disk?: { dir: string; limitBytes: number };
}

type Message =
  | { op: "watch"; id: number; pid: number; state: SharedArrayBuffer }
  | { op: "deadline"; id: number; at: number | null; always?: boolean }
  | { op: "rss"; id: number; limitBytes: number }
  | { op: "disk"; id: number; dir: string; limitBytes: number }
  | { op: "unwatch"; id: number }
  | { op: "noop" };

const watched = new Map<number, Watched>();
const rssWatched = new Set<Watched>();
let rssTimer: ReturnType<typeof setInterval> | undefined;
const diskWatched = new Set<Watched>();
let diskTimer: ReturnType<typeof setInterval> | undefined;

// The worker's global scope, typed without the worker lib (which clashes with the window
// lib when the whole project is checked at once).
const scope = globalThis as unknown as {
  onmessage: ((event: MessageEvent<Message>) => void) | null;
};

scope.onmessage = (event) => {
  const message = event.data;
  switch (message.op) {
    case "watch":
      watched.set(message.id, {
        pid: message.pid,
        verdict: new Int32Array(message.state, 0, 1),
        killedAt: new Float64Array(message.state, 0, killedAtIndex + 1),
      });
      return;
    case "deadline": {
      const entry = watched.get(message.id);
      if (!entry) return;
      clearTimeout(entry.timer);
      entry.timer = undefined;
      if (message.at === null) return;
      entry.timer = setTimeout(
        () => message.always ? killGroup(entry.pid) : fire(entry, VERDICT_TIMEOUT),
        Math.max(0, message.at - Date.now()),
      );
      return;
    }
    case "rss": {
      const entry = watched.get(message.id);
      if (!entry) return;
      entry.rssLimitBytes = message.limitBytes;
      rssWatched.add(entry);
      rssTimer ??= setInterval(pollRss, RSS_INTERVAL_MS);
      return;
    }
    case "disk": {
      const entry = watched.get(message.id);
      if (!entry) return;
      entry.disk = { dir: message.dir, limitBytes: message.limitBytes };
      diskWatched.add(entry);
      diskTimer ??= setInterval(pollDisk, DISK_INTERVAL_MS);
      return;
    }
    case "unwatch": {
      const entry = watched.get(message.id);
      if (!entry) return;
      watched.delete(message.id);
      clearTimeout(entry.timer);
      rssWatched.delete(entry);
      diskWatched.delete(entry);
      stopIdleTimers();
      return;
    }
  }
};

/** Records the verdict unless one is already there, then kills the process group. */
function fire(entry: Watched, verdict: number): void {
  // Only the first verdict counts: a result the main thread already accepted
  // (VERDICT_FINISHED) or a kill it already ordered is not overwritten.
  if (Atomics.compareExchange(entry.verdict, 0, VERDICT_NONE, verdict) !== VERDICT_NONE) return;
  killGroup(entry.pid);
  entry.killedAt[killedAtIndex] = Date.now();
  rssWatched.delete(entry);
  diskWatched.delete(entry);
  stopIdleTimers();
}

/**
 * SIGKILL to the process group of `pid`. Every sandbox process leads its own group, so a
 * group that is gone is a process that is gone: no fallback to `pid` alone, which may by now
 * be another process's (or a thread of one, which signals that whole process).
 */
function killGroup(pid: number): void {
  try {
    Deno.kill(-pid, "SIGKILL");
  } catch { /* already gone */ }
}

function stopIdleTimers(): void {
  if (rssWatched.size === 0 && rssTimer !== undefined) {
    clearInterval(rssTimer);
    rssTimer = undefined;
  }
  if (diskWatched.size === 0 && diskTimer !== undefined) {
    clearInterval(diskTimer);
    diskTimer = undefined;
  }
}

function pollDisk(): void {
  for (const entry of diskWatched) {
    if (treeBytes(entry.disk!.dir, entry.disk!.limitBytes) > entry.disk!.limitBytes) {
      fire(entry, VERDICT_DISK);
    }
  }
}

/**
 * Bytes of the regular files under `dir` (not following links), counting up to just past
 * `limit` and at most {@link DISK_MAX_ENTRIES} entries (then `Infinity`), so a
 * measurement's cost is bounded whatever the process writes.
 */
function treeBytes(dir: string, limit: number): number {
  let total = 0;
  let entries = 0;
  const pending = [dir];
  while (pending.length > 0) {
    const current = pending.pop()!;
    let listing: Iterable<Deno.DirEntry>;
    try {
      listing = Deno.readDirSync(current);
    } catch {
      continue; // removed meanwhile
    }
    for (const item of listing) {
      if (++entries > DISK_MAX_ENTRIES) return Infinity;
      const path = `${current}/${item.name}`;
      if (item.isDirectory) {
        pending.push(path);
      } else if (item.isFile) {
        try {
          total += Deno.lstatSync(path).size;
        } catch { /* removed meanwhile */ }
        if (total > limit) return total;
      }
    }
  }
  return total;
}

function pollRss(): void {
  for (const entry of rssWatched) {
    let status: string;
    try {
      status = Deno.readTextFileSync(`/proc/${entry.pid}/status`);
    } catch {
      continue; // exited; the unwatch message follows
    }
    const rss = /VmRSS:\s+(\d+) kB/.exec(status);
    if (rss && Number(rss[1]) * 1024 > entry.rssLimitBytes!) fire(entry, VERDICT_MEMORY);
  }
}
