/**
 * The runtime directory that sandbox processes share: a private (0700) temporary
 * directory with the entry module (the harness, imported from a `data:` URL), a Deno cache
 * directory and the import map of Node built-ins' shims.
 *
 * The harness is copied because the code can see its entry module's path (stack frames),
 * and that must not reveal where the gateway is installed.
 *
 * Each process gets a private Deno cache directory, a copy of a warm template (the
 * harness's V8 code cache, made once per generation by starting the harness alone), which
 * is deleted when the process has exited. A shared cache would grow with every execution's
 * transpiled code and module analysis (60-80 MB for 4 s of importing distinct `data:`
 * modules) and would be a cross-tenant timing oracle: code whose transpiled form another
 * tenant's execution left in it runs measurably faster. The private copy keeps the warm
 * start (measured: ready in ~41 ms against ~69 ms with an empty cache) without either;
 * its growth during an execution is capped in bytes by the supervisor
 * ({@link DEFAULT_DISK_LIMIT_BYTES}). A generation (harness copy and template) is still
 * replaced after a number of processes and deleted when its last process has exited.
 *
 * @module
 */

import { Buffer } from "node:buffer";
import { nodeShimImportMap } from "./node_shims.ts";
import { killAllSupervised } from "./supervisor.ts";
import { checkpointTemplate } from "./template_checkpoint.ts";

const HARNESS_SOURCE = new URL("./harness.js", import.meta.url);

/** Processes started from one generation before it is replaced. */
export const DEFAULT_GENERATION_SIZE = 256;

/**
 * Bytes one process's private cache directory may reach (template copy, transpiled and
 * analysed modules, `localStorage` with its 10 MB quota) before the process is killed.
 */
export const DEFAULT_DISK_LIMIT_BYTES = 64 * 1024 * 1024;

/** The paths a sandbox process is started with. */
export interface RuntimePaths {
  /** The harness copy that is the entry module. */
  runnerPath: string;
  /** The import map that routes Node built-ins through their shims (`node_shims.ts`). */
  importMapPath: string;
  /**
   * The process's private Deno cache directory (transpiled code, V8 code cache, per-origin
   * storage), deleted once it has exited.
   */
  denoDir: string;
  /**
   * The working directory: `/`, which the code (with no file permissions) can neither read
   * nor write. Not a directory of ours: Node's module paths and permission errors show the
   * real working directory (`Module._nodeModulePaths`), and `/` reveals nothing.
   */
  workDir: string;
}

/** Starts the harness with the given paths and waits until it is ready (warms a cache). */
export type Warmer = (paths: RuntimePaths) => Promise<void>;

class Generation {
  /** The paths with the template as cache directory (used only to warm it). */
  readonly paths: RuntimePaths;
  readonly dir: string;
  /** Files of the warm template cache, copied into each private cache directory. */
  templateFiles: string[] = [];
  spawned = 0;
  users = 0;
  retired = false;

  constructor(dir: string) {
    this.dir = dir;
    this.paths = {
      runnerPath: `${dir}/runner.js`,
      importMapPath: `${dir}/import_map.json`,
      denoDir: `${dir}/template`,
      workDir: "/",
    };
  }

  static async create(warm?: Warmer): Promise<Generation> {
    const dir = await Deno.makeTempDir({ prefix: RUNTIME_PREFIX });
    // Each new generation also clears what crashed gateways left next to it.
    await removeStaleRuntimeDirs(dir.slice(0, dir.lastIndexOf("/"))).catch(() => {});
    const generation = new Generation(dir);
    live.add(generation);
    try {
      await Deno.writeTextFile(`${dir}/${OWNER_FILE}`, await ownerTag(), { mode: 0o600 });
      const source = await Deno.readTextFile(HARNESS_SOURCE);
      // Readable by processes under another user (`users.ts`): the runner and the import map
      // are our public code; the directory lets them through without listing it, and
      // everything else in it (template, private caches) stays its owner's alone.
      await Deno.writeTextFile(generation.paths.runnerPath, entryModule(source), { mode: 0o644 });
      await Deno.writeTextFile(
        generation.paths.importMapPath,
        JSON.stringify(nodeShimImportMap()),
        { mode: 0o644 },
      );
      await Deno.chmod(generation.paths.runnerPath, 0o644);
      await Deno.chmod(generation.paths.importMapPath, 0o644);
      await Deno.chmod(dir, 0o711);
      await Deno.mkdir(generation.paths.denoDir, { mode: 0o700 });
    } catch (error) {
      live.delete(generation);
      await Deno.remove(dir, { recursive: true }).catch(() => {});
      throw error;
    }
    // A template that cannot be warmed (no resources right now) only costs start-up time.
    await warm?.(generation.paths).catch(() => {});
    // Copied once per process: folding the warm-up's WALs in first makes each copy three
    // files instead of six, and smaller, and the process opens plain databases instead of
    // replaying a WAL.
    checkpointTemplate(generation.paths.denoDir);
    try {
      for await (const entry of Deno.readDir(generation.paths.denoDir)) {
        // SQLite rebuilds a WAL index (-shm) from the WAL itself: no need to copy it.
        if (entry.isFile && !entry.name.endsWith("-shm")) {
          generation.templateFiles.push(entry.name);
        }
      }
    } catch { /* an empty template */ }
    return generation;
  }

  /**
   * A private cache directory for one process: a copy of the template's files, owned by `uid`
   * (and its group of the same number) when given.
   */
  async privateCache(uid?: number): Promise<string> {
    const dir = `${this.dir}/cache-${++this.spawned}`;
    await Deno.mkdir(dir, { mode: 0o700 });
    try {
      for (const name of this.templateFiles) {
        await Deno.copyFile(`${this.paths.denoDir}/${name}`, `${dir}/${name}`);
        if (uid !== undefined) await Deno.chown(`${dir}/${name}`, uid, uid);
      }
      // The directory last: until then the process's user cannot reach it.
      if (uid !== undefined) await Deno.chown(dir, uid, uid);
    } catch (error) {
      await Deno.remove(dir, { recursive: true }).catch(() => {});
      throw error;
    }
    return dir;
  }

  async removeIfDone(): Promise<void> {
    if (!this.retired || this.users > 0) return;
    live.delete(this);
    await Deno.remove(this.dir, { recursive: true }).catch(() => {});
  }
}

/**
 * The entry module of a sandbox process: one static import of the harness as a `data:`
 * URL, so that no stack frame names the entry module's path (see harness.js).
 */
export function entryModule(harnessSource: string): string {
  const base64 = Buffer.from(harnessSource, "utf8").toString("base64");
  return `import "data:application/javascript;base64,${base64}";\n`;
}

const live = new Set<Generation>();

const RUNTIME_PREFIX = "airlock-runner-";
/** Names the gateway that made a runtime directory: `<pid> <start time in clock ticks>`. */
const OWNER_FILE = "owner";

/** This process's owner tag: its pid and start time (so a reused pid does not match). */
async function ownerTag(pid: number | "self" = "self"): Promise<string> {
  const stat = await Deno.readTextFile(`/proc/${pid}/stat`);
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  // Field 22 of /proc/<pid>/stat (starttime) is the 20th after the command name.
  return `${pid === "self" ? Deno.pid : pid} ${fields[19]}`;
}

/**
 * Removes runtime directories (in the same temporary directory) whose gateway is no
 * longer running: a gateway killed with SIGKILL runs no exit handler. Directories without
 * an owner file are left alone.
 */
async function removeStaleRuntimeDirs(parent: string): Promise<void> {
  for await (const entry of Deno.readDir(parent)) {
    if (!entry.isDirectory || !entry.name.startsWith(RUNTIME_PREFIX)) continue;
    const dir = `${parent}/${entry.name}`;
    let owner: string;
    try {
      owner = (await Deno.readTextFile(`${dir}/${OWNER_FILE}`)).trim();
    } catch {
      continue; // not ours to judge
    }
    const pid = Number(owner.split(" ")[0]);
    if (!Number.isInteger(pid) || pid <= 0) continue;
    let alive = false;
    try {
      alive = (await ownerTag(pid)) === owner;
    } catch { /* no such process */ }
    if (!alive) await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}
let current: Promise<Generation> | undefined;

globalThis.addEventListener("unload", () => {
  // Processes still running would write into the directories being removed (leaving a
  // cache directory behind); they would die with the gateway anyway (parent-death signal).
  killAllSupervised();
  for (const generation of live) {
    try {
      Deno.removeSync(generation.dir, { recursive: true });
    } catch { /* already gone */ }
  }
});

/**
 * The paths for one new process (with its own private cache directory), and the function
 * to call once it has exited, which deletes that directory.
 *
 * @param generationSize processes per generation before the directory is replaced
 * @param warm starts the harness once on a new generation's template cache
 * @param uid the user the process runs under (`users.ts`): its private cache directory is
 *   that user's; the gateway's when absent
 * @throws what creating directories or copying the template throws (EMFILE, ENOSPC), and
 *   what `chown` throws (EPERM: a gateway not running as root)
 */
export async function acquireRuntime(
  generationSize = DEFAULT_GENERATION_SIZE,
  warm?: Warmer,
  uid?: number,
): Promise<{ paths: RuntimePaths; release: () => Promise<void> }> {
  let generation = await currentGeneration(warm);
  while (generation.spawned >= generationSize) {
    const old = generation;
    // Only the first of concurrent callers replaces it: a second replacement would leave
    // the first one's new generation unreferenced, never retired and never removed.
    if (!old.retired) {
      old.retired = true;
      current = Generation.create(warm);
    }
    generation = await currentGeneration(warm);
    await old.removeIfDone();
  }
  generation.users++;
  let denoDir: string;
  try {
    denoDir = await generation.privateCache(uid);
  } catch (error) {
    generation.users--;
    await generation.removeIfDone();
    throw error;
  }
  let released = false;
  return {
    paths: { ...generation.paths, denoDir },
    release: async () => {
      if (released) return;
      released = true;
      await Deno.remove(denoDir, { recursive: true }).catch(() => {});
      generation.users--;
      await generation.removeIfDone();
    },
  };
}

/** The current generation; a failed creation is retried by the next caller. */
function currentGeneration(warm?: Warmer): Promise<Generation> {
  const pending = current ??= Generation.create(warm);
  pending.catch(() => {
    if (current === pending) current = undefined;
  });
  return pending;
}

/**
 * The current generation's warm template cache, which processes copy and never write
 * (for tests and diagnostics: per-origin storage never appears in it).
 */
export async function sandboxCacheDir(): Promise<string> {
  return (await currentGeneration()).paths.denoDir;
}

/** Runtime directories that exist now (for tests). */
export function liveRuntimeDirs(): string[] {
  return [...live].map((g) => g.dir);
}
