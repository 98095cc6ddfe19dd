/**
 * Starting a sandbox subprocess: the command line, a cleared environment, its own
 * session (so the whole process group can be killed), a parent-death signal (so it never
 * outlives the gateway), and where its storage lives.
 *
 * @module
 */

import { createHash } from "node:crypto";
import { sandboxArgs } from "./flags.ts";
import type { RuntimePaths, Warmer } from "./runtime_dir.ts";
import { launcherFailed, launcherPath } from "./launcher.ts";
import { reaperAvailable, reapOnGatewayExit } from "./reaper.ts";
import type { SandboxGrants } from "./types.ts";

/** What a subprocess is started with. */
export interface ChildSpec {
  /** The Deno executable. */
  deno: string;
  /** The shared runtime directory's paths. */
  paths: RuntimePaths;
  /** The process's own origin (`--location`). */
  origin: string;
  /** V8 heap limit in MiB. */
  memoryMb: number;
  /** Permissions to grant. */
  grants: SandboxGrants;
  /**
   * The user id (and group id) to run under (`users.ts`); the gateway's own when absent.
   * Needs a gateway running as root.
   */
  uid?: number;
}

/**
 * How sandbox processes are kept from outliving the gateway:
 * - `pdeathsig`: started through the launcher (`launcher.c`) or `setpriv --pdeathsig KILL`,
 *   so the kernel kills each one
 *   when the gateway's spawning thread ends, however it ends, `kill -9` included. That
 *   thread is Deno's main thread (spawning is a synchronous op), which lives as long as
 *   the gateway: checked by a child still alive after 17 s of an idle gateway;
 * - `reaper`: setpriv (util-linux) is missing, so a shell process watching the gateway
 *   through a pipe kills the sandboxes when it goes (`reaper.ts`);
 * - `none`: neither works; a crashed gateway leaves its running sandboxes behind.
 */
export type OrphanGuard = "pdeathsig" | "reaper" | "none";

/** The orphan guard in use (see {@link OrphanGuard}). */
export function orphanGuard(): OrphanGuard {
  if (launcherPath() || setprivPath()) return "pdeathsig";
  return reaperAvailable() ? "reaper" : "none";
}

/**
 * Spawns the subprocess with piped stdio, in a process group of its own (the launcher) or a
 * session of its own (the chain), with a parent-death signal where the launcher or setpriv
 * exists, under `spec.uid` when given. Throws what `Deno.Command.spawn` throws (e.g. EMFILE,
 * EAGAIN), and an Error when `spec.uid` is given but neither the launcher nor setpriv can set it.
 */
export function spawnChild(spec: ChildSpec): Deno.ChildProcess {
  const launcher = launcherPath();
  const asUser = spec.uid === undefined ? [] : [`--uid=${spec.uid}`];
  if (launcher) {
    try {
      return spawnWith(
        spec,
        [launcher, String(Deno.pid), String(SANDBOX_NICENESS), ...asUser],
        true,
        true,
      );
    } catch (error) {
      // Gone (a /tmp cleaner) or no longer runnable: the chain does the same.
      if (
        !(error instanceof Deno.errors.NotFound || error instanceof Deno.errors.PermissionDenied)
      ) {
        throw error;
      }
      launcherFailed(`cannot be started (${(error as Error).message})`);
    }
  }
  if (spec.uid !== undefined) {
    // Only the launcher: it kills what an earlier holder of the id left before anything of
    // the id is dumpable (the chain's bash, dumpable after setpriv's exec, could be traced and
    // kept from killing, red team l4), and empties the id's keyrings. Running it as the
    // gateway's user instead would quietly drop the second layer.
    throw new Error("airlock sandbox: the launcher is not available: cannot run as another user");
  }
  // setsid(1), setpriv(1), nice(1), bash's `exec` and env(1) each replace themselves with
  // the next program (setsid forks only when the caller leads a process group, which a
  // freshly spawned child never does).
  // bash writes the new session's autogroup niceness before setpriv drops the capabilities:
  // without CAP_SYS_ADMIN Linux accepts such a write at most once per 100 ms machine-wide.
  const chain = [
    ...(setsidPath() ? [setsidPath()!] : []),
    ...(nicePath() ? [nicePath()!, "-n", String(SANDBOX_NICENESS)] : []),
    ...(bashPath() ? [bashPath()!, "-c", closeAndExec(), "airlock-sandbox"] : []),
    ...(setprivPath()
      ? [
        setprivPath()!,
        "--pdeathsig",
        "KILL",
        ...dropPrivilegesArgs(),
      ]
      : []),
    // bash exports SHLVL to what it runs; the sandbox gets only the variables below.
    ...(bashPath() && envPath() ? [envPath()!, "-u", "SHLVL"] : []),
  ];
  return spawnWith(spec, chain, setsidPath() !== undefined);
}

let dropArgs: string[] | undefined;

/**
 * setpriv(1)'s options for no new privileges and no capabilities (a gateway running as root
 * would otherwise pass on every capability it has; nothing after this step gets any back),
 * where this setpriv and kernel take them (util-linux 2.32+ for ambient capabilities;
 * checked once), else none (logged once).
 */
function dropPrivilegesArgs(): string[] {
  if (dropArgs === undefined) {
    const full = ["--no-new-privs", "--inh-caps=-all", "--ambient-caps=-all"];
    // Emptying the bounding set needs CAP_SETPCAP: a gateway that lacks it has no
    // capabilities to pass on, and no-new-privileges keeps any from being gained.
    const candidates = [[...full, "--bounding-set=-all"], full, ["--no-new-privs"]];
    dropArgs = candidates.find((args) => {
      try {
        return new Deno.Command(setprivPath()!, {
          args: [...args, "/bin/sh", "-c", "exit 0"],
          stdout: "null",
          stderr: "null",
        }).outputSync().success;
      } catch {
        return false;
      }
    }) ?? [];
    if (dropArgs.length === 0) {
      console.error(
        "airlock sandbox: this setpriv cannot set no-new-privileges; sandbox processes keep " +
          "the gateway's capabilities (start the gateway as an unprivileged user)",
      );
    }
  }
  return dropArgs;
}

/**
 * Spawns Deno through `wrappers` (each one execs the next; the pid the gateway holds is the
 * Deno process's own). `newSession`: the wrappers start a session of their own, else Deno's
 * `detached` does it, which forks the whole gateway (milliseconds of blocked event loop per
 * spawn) where posix_spawn does not.
 */
function spawnWith(
  spec: ChildSpec,
  wrappers: string[],
  newSession: boolean,
  viaLauncher = false,
): Deno.ChildProcess {
  const child = new Deno.Command(wrappers[0] ?? spec.deno, {
    args: [
      ...wrappers.slice(1),
      ...(wrappers.length > 0 ? [spec.deno] : []),
      ...sandboxArgs({
        harnessPath: spec.paths.runnerPath,
        importMapPath: spec.paths.importMapPath,
        memoryMb: spec.memoryMb,
        location: spec.origin,
        grants: spec.grants,
      }),
    ],
    cwd: spec.paths.workDir,
    clearEnv: true,
    env: {
      // Only what Deno itself needs: the sandbox cache directory, no colours, no update
      // check. Never the gateway's variables.
      DENO_DIR: spec.paths.denoDir,
      HOME: spec.paths.workDir,
      NO_COLOR: "1",
      DENO_NO_UPDATE_CHECK: "1",
      // The code's transpiled text is used once, by the process that dies after it: writing
      // it to the cache directory cost each execution about 0.6 ms before its code ran.
      DENO_EMIT_CACHE_MODE: "disable",
      // The code's clock reads UTC, never the host's zone (/etc/localtime, which the runtime
      // reads on its behalf without a permission: red team f3).
      TZ: "UTC",
    },
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
    detached: !newSession,
  }).spawn();
  if (viaLauncher) launched.add(child);
  else if (!setprivPath()) reapOnGatewayExit(child.pid, child.status);
  return child;
}

const launched = new WeakSet<Deno.ChildProcess>();

/** Whether `child` was started through the launcher (not the chain). */
export function startedByLauncher(child: Deno.ChildProcess): boolean {
  return launched.has(child);
}

/**
 * The scheduling niceness sandbox processes run at (nice(1), where it exists). Under
 * overload the gateway's own thread (answering, refusing with 503, supervising, killing
 * at deadlines) then gets the CPU before untrusted code and pool refills: the kernel's
 * fair scheduler weighs niceness 10 at about a tenth of niceness 0 (Linux `sched_prio_to_weight`:
 * 110 against 1024).
 */
export const SANDBOX_NICENESS = 10;

/**
 * The last step before Deno, run by bash (dash cannot name descriptors above 9):
 * - closes every inherited file descriptor above 2. Whatever the gateway inherited without
 *   close-on-exec (a supervisor's pipes, a service manager's sockets) would otherwise be
 *   open in the sandbox, and Node's `net.Socket({ fd })` adopts a raw descriptor with no
 *   permission check: read and write the host's pipes;
 * - sets the core-file size limit (soft and hard) to 0: the code can signal itself
 *   (`process.abort()`), and a core file is the process's whole memory (~0.5 GB) written
 *   outside the sandbox, past the disk cap, wherever the kernel's `core_pattern` says;
 * - gives the process's scheduler autogroup (its own session, from setsid) the same
 *   niceness: with `kernel.sched_autogroup_enabled`, the default on most kernels, a
 *   process's nice value only weighs it within its autogroup, so nice(1) alone left every
 *   sandbox an equal of the whole gateway.
 */
export function closeAndExec(): string {
  return `for f in /proc/self/fd/*; do n=\${f##*/}; ` +
    `case \$n in *[!0-9]*) continue;; esac; ` +
    `if [ "\$n" -gt 2 ]; then eval "exec \$n>&-"; fi; done; ulimit -c 0; unset PWD OLDPWD; ` +
    `{ echo ${sandboxAutogroupNiceness()} > /proc/self/autogroup; } 2>/dev/null; ` +
    `exec "\$@"`;
}

let autogroupNiceness: number | undefined;

/**
 * The niceness a sandbox's autogroup gets: {@link SANDBOX_NICENESS} more than the gateway's
 * own autogroup (at most 19), as nice(1) adds to the process's: a gateway an operator runs
 * below normal priority never gets sandboxes weighing more than itself.
 */
export function sandboxAutogroupNiceness(): number {
  if (autogroupNiceness === undefined) {
    let own = 0;
    try {
      own = Number(/ nice (-?\d+)/.exec(Deno.readTextFileSync("/proc/self/autogroup"))?.[1] ?? 0);
    } catch { /* no autogroups */ }
    autogroupNiceness = Math.min(19, own + SANDBOX_NICENESS);
  }
  return autogroupNiceness;
}

/** How long a template warm-up may take before it is given up, in ms. */
const WARM_UP_TIMEOUT_MS = 10_000;

/**
 * A {@link Warmer} that starts the harness alone on a generation's template cache and
 * kills it once it is ready: the V8 code cache it leaves is what makes a private copy of
 * the template start warm. No user code ever runs against the template.
 */
export function harnessWarmer(deno: string): Warmer {
  return async (paths) => {
    const slash = paths.runnerPath.lastIndexOf("/");
    const child = spawnChild({
      deno,
      // Started from the runner's own directory by relative path: it resolves to the same
      // module (so the same cache entries), and its command line does not look like an
      // execution's to tools that look for those. The import map sits beside the runner.
      paths: {
        ...paths,
        runnerPath: paths.runnerPath.slice(slash + 1),
        importMapPath: paths.importMapPath.slice(paths.importMapPath.lastIndexOf("/") + 1),
        workDir: paths.runnerPath.slice(0, slash),
      },
      origin: newOrigin(),
      memoryMb: 64,
      grants: { allowNet: [], allowRead: [] },
    });
    const timer = setTimeout(() => child.kill("SIGKILL"), WARM_UP_TIMEOUT_MS);
    try {
      const decoder = new TextDecoder();
      let seen = "";
      for await (const chunk of child.stdout) {
        // The first frame is `ready`; nothing else is read.
        seen = (seen + decoder.decode(chunk, { stream: true })).slice(-4096);
        if (seen.includes("\n")) break;
      }
    } finally {
      clearTimeout(timer);
      try {
        child.kill("SIGKILL");
      } catch { /* already gone */ }
      await child.status;
      await child.stderr.cancel().catch(() => {});
      await child.stdin.close().catch(() => {});
    }
  };
}

/** A fresh, unguessable origin for one process. */
export function newOrigin(): string {
  return `http://${crypto.randomUUID()}.sandbox.airlock.invalid`;
}

/**
 * Where Deno keeps `localStorage` (and the Cache API's data) for an origin: under
 * `location_data/<sha256 of the origin>` in its cache directory.
 */
export function storageDirs(denoDir: string, origin: string): string[] {
  const hash = createHash("sha256").update(origin).digest("hex");
  return [`${denoDir}/location_data/${hash}`, `${denoDir}/location_data/web_cache/${hash}`];
}

const found = new Map<string, string | undefined>();

/** `/usr/bin/<name>` or `/bin/<name>` when present (util-linux), else `undefined`. */
function utilPath(name: string): string | undefined {
  if (!found.has(name)) {
    found.set(name, undefined);
    for (const path of [`/usr/bin/${name}`, `/bin/${name}`]) {
      try {
        if (Deno.statSync(path).isFile) {
          found.set(name, path);
          break;
        }
      } catch { /* not here */ }
    }
    if (name === "bash" && found.get(name) === undefined) {
      console.error(
        "airlock sandbox: bash is missing, so sandbox processes keep the file descriptors " +
          "the gateway inherited and its core-file limit",
      );
    }
    if (name === "setpriv" && found.get(name) === undefined) {
      console.error(
        "airlock sandbox: setpriv (util-linux) is missing, so sandbox processes get no " +
          "parent-death signal; a reaper process kills them when the gateway ends instead",
      );
    }
  }
  return found.get(name);
}

function envPath(): string | undefined {
  return utilPath("env");
}

function bashPath(): string | undefined {
  return utilPath("bash");
}

function nicePath(): string | undefined {
  return utilPath("nice");
}

function setsidPath(): string | undefined {
  return utilPath("setsid");
}

function setprivPath(): string | undefined {
  // For tests of the fallback: pretend setpriv is missing.
  if (envFlag("AIRLOCK_SANDBOX_NO_SETPRIV")) return undefined;
  return utilPath("setpriv");
}

/** Whether setpriv (util-linux) exists: running sandboxes as other users needs it. */
export function hasSetpriv(): boolean {
  return setprivPath() !== undefined;
}

/**
 * Kills every process still running under `uid` (the launcher's `--reap`: as that id,
 * `kill(-1)`, and its keyrings emptied), before the id is given back: a process an escaped
 * sandbox left behind (its own session, re-parented to init) must not outlive its execution
 * (red team l4). Resolves `false` when there is no launcher or it failed (logged once).
 */
export async function reapUser(uid: number): Promise<boolean> {
  const launcher = launcherPath();
  if (!launcher) return false;
  try {
    const status = await new Deno.Command(launcher, {
      args: [String(Deno.pid), "0", `--uid=${uid}`, "--reap"],
      clearEnv: true,
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).output();
    return status.success;
  } catch {
    return false;
  }
}

/** {@link reapUser}, synchronously (for the gateway's `unload`, where nothing can be awaited). */
export function reapUserSync(uid: number): boolean {
  const launcher = launcherPath();
  if (!launcher) return false;
  try {
    return new Deno.Command(launcher, {
      args: [String(Deno.pid), "0", `--uid=${uid}`, "--reap"],
      clearEnv: true,
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).outputSync().success;
  } catch {
    return false;
  }
}

function envFlag(name: string): boolean {
  try {
    return Deno.env.get(name) === "1";
  } catch {
    return false; // no env permission: the default
  }
}
