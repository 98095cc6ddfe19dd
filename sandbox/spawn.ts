/**
 * Starting a sandbox subprocess: the command line, a cleared environment, its own
 * session (so the whole process group can be killed), and where its storage lives.
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

/** Spawns the subprocess with piped stdio, in a new session. */
export function spawnChild(spec: ChildSpec): Deno.ChildProcess {
  const setsid = setsidPath();
  return new Deno.Command(setsid ?? spec.deno, {
    args: [
      ...(setsid ? [spec.deno] : []),
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

let setsid: string | null | undefined;

/** `/usr/bin/setsid` or `/bin/setsid` when present (util-linux), else `undefined`. */
function setsidPath(): string | undefined {
  if (setsid === undefined) {
    setsid = null;
    for (const path of ["/usr/bin/setsid", "/bin/setsid"]) {
      try {
        if (Deno.statSync(path).isFile) {
          setsid = path;
          break;
        }
      } catch { /* not here */ }
    }
  }
  return setsid ?? undefined;
}
