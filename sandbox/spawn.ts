/**
 * Starting a sandbox subprocess: the command line, a cleared environment, its own
 * session (so the whole process group can be killed), a parent-death signal (so it never
 * outlives the gateway), and where its storage lives.
 *
 * @module
 */

import { createHash } from "node:crypto";
import { sandboxArgs } from "./flags.ts";
import type { RuntimePaths } from "./runtime_dir.ts";
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
}

/**
 * How sandbox processes are kept from outliving the gateway:
 * - `pdeathsig`: started through `setpriv --pdeathsig KILL`, so the kernel kills each one
 *   when the gateway's spawning thread (Deno's main thread, which lives as long as the
 *   gateway) ends, however it ends, `kill -9` included;
 * - `none`: setpriv (util-linux) is missing; a crashed gateway leaves its running
 *   sandboxes behind until their own deadline, which died with it.
 */
export type OrphanGuard = "pdeathsig" | "none";

/** The orphan guard this host supports (see {@link OrphanGuard}). */
export function orphanGuard(): OrphanGuard {
  return setprivPath() ? "pdeathsig" : "none";
}

/**
 * Spawns the subprocess with piped stdio, in a new session, with a parent-death signal
 * where setpriv exists. Throws what `Deno.Command.spawn` throws (e.g. EMFILE, EAGAIN).
 */
export function spawnChild(spec: ChildSpec): Deno.ChildProcess {
  // setsid(1) and setpriv(1) each exec the next program in place (setsid forks only when
  // the caller leads a process group, which a freshly spawned child never does), so the
  // pid the gateway holds is the Deno process's own.
  const wrappers = [
    ...(setsidPath() ? [setsidPath()!] : []),
    ...(setprivPath() ? [setprivPath()!, "--pdeathsig", "KILL"] : []),
  ];
  const setsid = setsidPath();
  return new Deno.Command(wrappers[0] ?? spec.deno, {
    args: [
      ...wrappers.slice(1),
      ...(wrappers.length > 0 ? [spec.deno] : []),
      ...sandboxArgs({
        harnessPath: spec.paths.runnerPath,
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
    },
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
    // A new session, so the whole process group can be killed at once: through setsid(1)
    // where it exists, because Deno's own `detached` forks the whole gateway
    // (milliseconds of blocked event loop per spawn) where posix_spawn does not.
    detached: setsid === undefined,
  }).spawn();
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
    if (name === "setpriv" && found.get(name) === undefined) {
      console.error(
        "airlock sandbox: setpriv (util-linux) is missing, so sandbox processes get no " +
          "parent-death signal and may outlive a crashed gateway",
      );
    }
  }
  return found.get(name);
}

function setsidPath(): string | undefined {
  return utilPath("setsid");
}

function setprivPath(): string | undefined {
  return utilPath("setpriv");
}
