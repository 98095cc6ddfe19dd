/**
 * The Deno command line of a sandbox process: no permissions but those granted.
 *
 * @module
 */

import { reachesThisMachine } from "./loopback.ts";
import type { SandboxGrants } from "./types.ts";

/**
 * V8's initial semi-space size for sandbox processes, in MiB (`--min-semi-space-size`; V8's
 * own default starts at 1 MiB and grows after scavenges).
 */
export const MIN_SEMI_SPACE_MB = 8;

/** Options for {@link sandboxArgs}. */
export interface SandboxArgsOptions {
  /** Path of the trusted harness (the entry module). */
  harnessPath: string;
  /** Path of the import map that routes Node built-ins through shims (`node_shims.ts`). */
  importMapPath: string;
  /** V8 old-space limit in MiB. */
  memoryMb: number;
  /** A per-process origin so `localStorage` and `caches` are never shared. */
  location: string;
  /** Configured grants; empty means none. */
  grants: SandboxGrants;
}

/**
 * Builds the arguments after the `deno` executable. Everything not granted is denied:
 * no prompt, no config file or lockfile, no remote or npm modules, no downloads.
 */
export function sandboxArgs(options: SandboxArgsOptions): string[] {
  const args = [
    "run",
    "--no-prompt",
    "--no-config",
    "--no-lock",
    "--no-remote",
    "--no-npm",
    "--cached-only",
    "--no-check",
    `--import-map=${options.importMapPath}`,
    `--location=${options.location}`,
    // A young generation that holds the runtime's start-up garbage: without it, two scavenges
    // ran before every process was ready (about 2-3 ms of its 45 ms of CPU). Resident memory
    // does not grow: the pages are touched either way.
    `--v8-flags=--max-old-space-size=${Math.max(8, Math.floor(options.memoryMb))},` +
    `--min-semi-space-size=${MIN_SEMI_SPACE_MB}`,
  ];
  if (options.grants.allowNet.length > 0) {
    args.push(`--allow-net=${options.grants.allowNet.join(",")}`);
  }
  if (options.grants.allowRead.length > 0) {
    args.push(`--allow-read=${options.grants.allowRead.join(",")}`);
  }
  args.push(options.harnessPath);
  return args;
}

/**
 * Checks one `allowNet` grant. A host that reaches this machine (loopback or the unspecified
 * address, in any spelling the runtime accepts: see `loopback.ts`) without a port is
 * refused: it would let the code reach the gateway itself and every local service.
 *
 * @returns an error message, or `undefined` when the grant is acceptable
 */
export function checkNetGrant(grant: string): string | undefined {
  const value = grant.trim().toLowerCase();
  if (value.length === 0) return "an empty host";
  if (/[\s,/]/.test(value)) return `"${grant}" is not a host or host:port`;
  let host = value;
  let port: string | undefined;
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(value);
  if (bracketed) {
    host = bracketed[1];
    port = bracketed[2];
  } else if ((value.match(/:/g) ?? []).length === 1) {
    [host, port] = value.split(":");
  }
  if (port !== undefined && !/^\d{1,5}$/.test(port)) return `"${grant}" has a bad port`;
  if (reachesThisMachine(host) && port === undefined) {
    return `"${grant}" names a loopback host without a port; name the port`;
  }
  return undefined;
}
