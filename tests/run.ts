/**
 * `deno task test`: runs `deno test -A --no-check=remote <paths>` (default `tests/`), then
 * fails if any process the run started is still alive once it has ended.
 *
 * Deno's sanitizers see the child processes a test spawns itself, not their children: a test
 * that kills `npx` leaves `sh` and `node` running, and nothing reports it. Their parent is gone
 * by then, so ancestry alone cannot find them: on Linux this script makes itself a *child
 * subreaper* (`prctl(PR_SET_CHILD_SUBREAPER)`), so every orphan from the run is re-parented to
 * it instead of to init. After `deno test` exits, every live process below this one is a
 * leftover: it is printed (pid, command line), killed by pid and reaped, and the run fails.
 *
 * Temporary files are looked after too: the run gets its own `TMPDIR` (a fresh directory in
 * the system's), so whatever tests leave there is listed (a note, not a failure) and removed
 * with it.
 *
 * Usage: `deno task test [deno test arguments…]`, e.g. `deno task test tests/pii/`. Exit
 * status: that of `deno test` if it failed, else 1 if a process was left behind, else 0.
 * Elsewhere than Linux the process check is skipped, with a note on stderr.
 *
 * @module
 */

/** `prctl` option: orphans below the caller are re-parented to it (Linux ≥ 3.4). */
const PR_SET_CHILD_SUBREAPER = 36;
/** `waitpid` option: return at once when the process has not exited. */
const WNOHANG = 1;
/** How long leftovers may take to finish exiting after the run (they were usually just killed). */
const GRACE_MS = 5_000;
/** Characters of a leftover's command line that are printed. */
const MAX_CMDLINE_CHARS = 300;

/** One live process below this one. */
export interface Leftover {
  pid: number;
  ppid: number;
  /** Command line, NULs as spaces, capped at {@linkcode MAX_CMDLINE_CHARS} UTF-16 units. */
  cmdline: string;
}

type Libc = Deno.DynamicLibrary<{
  prctl: { parameters: ["i32", "u64", "u64", "u64", "u64"]; result: "i32" };
  waitpid: { parameters: ["i32", "pointer", "i32"]; result: "i32" };
}>;

/** Opens libc, or returns null where there is none to open (not Linux, no glibc/musl name). */
function openLibc(): Libc | null {
  if (Deno.build.os !== "linux") return null;
  for (const name of ["libc.so.6", "libc.so"]) {
    try {
      return Deno.dlopen(name, {
        prctl: { parameters: ["i32", "u64", "u64", "u64", "u64"], result: "i32" },
        waitpid: { parameters: ["i32", "pointer", "i32"], result: "i32" },
      });
    } catch {
      // Try the next name.
    }
  }
  return null;
}

/** Parses `/proc/<pid>/stat`: the state letter and parent pid (the name may hold spaces). */
function readStat(pid: number): { state: string; ppid: number } | null {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return { state: rest[0], ppid: Number(rest[1]) };
  } catch {
    return null; // It ended while we looked.
  }
}

function readCmdline(pid: number): string {
  try {
    const raw = Deno.readTextFileSync(`/proc/${pid}/cmdline`);
    return raw.slice(0, MAX_CMDLINE_CHARS).replaceAll("\0", " ").trim();
  } catch {
    return "";
  }
}

/**
 * Live processes whose chain of parents leads to `root` (zombies excluded: they have exited
 * and only wait to be reaped). Reads `/proc` once; linear in the number of processes.
 */
export function descendants(root: number): Leftover[] {
  const parent = new Map<number, number>();
  const live = new Set<number>();
  for (const entry of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    const pid = Number(entry.name);
    const stat = readStat(pid);
    if (!stat) continue;
    parent.set(pid, stat.ppid);
    if (stat.state !== "Z" && stat.state !== "X") live.add(pid);
  }
  // Memoised walk up the parent chain, so the whole scan stays linear.
  const below = new Map<number, boolean>();
  const isBelow = (pid: number): boolean => {
    const chain: number[] = [];
    let p = pid;
    let result = false;
    while (true) {
      const known = below.get(p);
      if (known !== undefined) {
        result = known;
        break;
      }
      const up = parent.get(p);
      if (up === undefined || up === 0 || p === up) break;
      chain.push(p);
      if (up === root) {
        result = true;
        break;
      }
      p = up;
    }
    for (const c of chain) below.set(c, result);
    return result;
  };
  const found: Leftover[] = [];
  for (const pid of live) {
    if (pid !== root && isBelow(pid)) {
      found.push({ pid, ppid: parent.get(pid)!, cmdline: readCmdline(pid) });
    }
  }
  return found;
}

/** Reaps `pid` if it is an exited child of this process (re-parented here as subreaper). */
function reap(libc: Libc, pid: number): boolean {
  return libc.symbols.waitpid(pid, null, WNOHANG) === pid;
}

/** Children of this process that have exited but were never waited for. */
function zombieChildren(): number[] {
  const zombies: number[] = [];
  for (const entry of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    const stat = readStat(Number(entry.name));
    if (stat?.state === "Z" && stat.ppid === Deno.pid) zombies.push(Number(entry.name));
  }
  return zombies;
}

async function main(args: string[]): Promise<number> {
  const libc = openLibc();
  const watching = libc !== null &&
    libc.symbols.prctl(PR_SET_CHILD_SUBREAPER, 1n, 0n, 0n, 0n) === 0;
  if (!watching) {
    console.error("tests/run.ts: no leftover-process check here (needs Linux: prctl, /proc)");
  }
  await installServices();
  const tmp = await Deno.makeTempDir({ prefix: "airlock-test-run-" });
  // Searchable (not listable) by other users: the sandbox-users tests run processes under
  // other ids, which must reach the runtime directory made in it.
  await Deno.chmod(tmp, 0o711);
  try {
    return await runTests(args, watching ? libc : null, tmp);
  } finally {
    libc?.close();
    await reportTemporaries(tmp);
  }
}

/**
 * Installs redis-server, postgresql and nginx for their tests when they are missing and this
 * machine can (root with apt-get; `tests/install_services.sh`, shared with `.ci/run`). Never
 * fails the run: without them those tests are skipped loudly, or fail with `CI=true`.
 */
async function installServices(): Promise<void> {
  const script = new URL("./install_services.sh", import.meta.url).pathname;
  try {
    await new Deno.Command("bash", { args: [script], stdout: "inherit", stderr: "inherit" })
      .output();
  } catch (error) {
    console.error(`tests/run.ts: could not run ${script}: ${error}`);
  }
}

/** Lists what the tests left in `tmp` (grouped by name without its random part), removes it. */
async function reportTemporaries(tmp: string): Promise<void> {
  const groups = new Map<string, number>();
  try {
    for (const entry of Deno.readDirSync(tmp)) {
      // The sandbox launcher's build, kept on purpose between gateways (sandbox/launcher.ts).
      if (/^airlock-launcher-\d+$/.test(entry.name)) continue;
      // `airlock-emb-3f2a…` and `airlock-config-9c1e….json` are counted per prefix.
      const key = entry.name.replace(/[0-9a-f]{6,}/g, "*").replace(/\d{6,}/g, "*");
      groups.set(key, (groups.get(key) ?? 0) + 1);
    }
  } catch {
    return; // Gone already.
  }
  if (groups.size > 0) {
    const list = [...groups].map(([name, n]) => `${name} ×${n}`).join(", ");
    console.error(`note: the tests left temporary files behind (removed now): ${list}`);
  }
  try {
    await Deno.remove(tmp, { recursive: true });
  } catch (error) {
    console.error(`note: could not remove ${tmp}: ${error}`);
  }
}

/**
 * Runs `deno test` with `TMPDIR=tmp` and returns its exit status, or 1 if it passed but left
 * processes behind (only looked for with `libc`, i.e. as a subreaper).
 */
async function runTests(args: string[], libc: Libc | null, tmp: string): Promise<number> {
  const before = new Set(libc ? descendants(Deno.pid).map((p) => p.pid) : []);
  const testArgs = ["test", "-A", "--no-check=remote", ...(args.length ? args : ["tests/"])];
  const { code } = await new Deno.Command(Deno.execPath(), {
    args: testArgs,
    env: { TMPDIR: tmp },
  }).spawn().status;
  if (!libc) return code;
  const leftovers = await awaitLeftovers(libc, before);
  if (leftovers.length === 0) return code;
  console.error(`\nLEFTOVER PROCESSES: ${leftovers.length} still running after the tests ended:`);
  for (const p of leftovers) console.error(`  pid ${p.pid} (parent ${p.ppid}): ${p.cmdline}`);
  console.error("A test started them (or their parent) and did not stop them. Killing them now.");
  await killAndReap(libc, leftovers);
  return code !== 0 ? code : 1;
}

/** Processes below this one (not in `before`) still alive after {@linkcode GRACE_MS}. */
async function awaitLeftovers(libc: Libc, before: Set<number>): Promise<Leftover[]> {
  const deadline = Date.now() + GRACE_MS;
  while (true) {
    for (const zombie of zombieChildren()) reap(libc, zombie);
    const leftovers = descendants(Deno.pid).filter((p) => !before.has(p.pid));
    if (leftovers.length === 0 || Date.now() >= deadline) return leftovers;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Kills each by pid and reaps those re-parented here, so the check leaves no zombies. */
async function killAndReap(libc: Libc, leftovers: Leftover[]): Promise<void> {
  for (const p of leftovers) {
    try {
      Deno.kill(p.pid, "SIGKILL");
    } catch {
      // It ended on its own meanwhile.
    }
  }
  const deadline = Date.now() + GRACE_MS;
  let pending = leftovers.map((p) => p.pid);
  while (pending.length && Date.now() < deadline) {
    pending = pending.filter((pid) => !reap(libc, pid) && readStat(pid) !== null);
    if (pending.length) await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
