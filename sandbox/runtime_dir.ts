/**
 * The runtime directory that sandbox processes share: a private (0700) temporary
 * directory with a copy of the harness (the entry module), a Deno cache directory and an
 * empty working directory.
 *
 * The harness is copied because the code can see its entry module's path (stack frames),
 * and that must not reveal where the gateway is installed. The cache is shared because a
 * fresh one costs every process several milliseconds of start-up. But Deno adds every
 * execution's transpiled code to it, so it is used for a bounded number of processes (a
 * generation) and then replaced; a retired generation is deleted when its last process
 * has exited. Storage stays private because each process has its own origin.
 *
 * @module
 */

const HARNESS_SOURCE = new URL("./harness.js", import.meta.url);

/** Processes started from one generation before it is replaced. */
export const DEFAULT_GENERATION_SIZE = 256;

/** The paths a sandbox process is started with. */
export interface RuntimePaths {
  /** The harness copy that is the entry module. */
  runnerPath: string;
  /** The Deno cache directory (transpiled code, V8 code cache, per-origin storage). */
  denoDir: string;
  /**
   * The working directory: empty, and unreadable and unwritable to the code, which has no
   * file permissions; shared because nothing can be left in it.
   */
  workDir: string;
}

class Generation {
  readonly paths: RuntimePaths;
  readonly dir: string;
  spawned = 0;
  users = 0;
  retired = false;

  constructor(dir: string) {
    this.dir = dir;
    this.paths = {
      runnerPath: `${dir}/runner.js`,
      denoDir: `${dir}/deno`,
      workDir: `${dir}/work`,
    };
  }

  static async create(): Promise<Generation> {
    const dir = await Deno.makeTempDir({ prefix: "airlock-runner-" });
    const generation = new Generation(dir);
    const source = await Deno.readTextFile(HARNESS_SOURCE);
    await Deno.writeTextFile(generation.paths.runnerPath, source, { mode: 0o600 });
    await Deno.mkdir(generation.paths.denoDir);
    await Deno.mkdir(generation.paths.workDir, { mode: 0o500 });
    live.add(generation);
    return generation;
  }

  async removeIfDone(): Promise<void> {
    if (!this.retired || this.users > 0) return;
    live.delete(this);
    await Deno.remove(this.dir, { recursive: true }).catch(() => {});
  }
}

const live = new Set<Generation>();
let current: Promise<Generation> | undefined;

globalThis.addEventListener("unload", () => {
  for (const generation of live) {
    try {
      Deno.removeSync(generation.dir, { recursive: true });
    } catch { /* already gone */ }
  }
});

/**
 * The paths for one new process, and the function to call once it has exited.
 *
 * @param generationSize processes per generation before the directory is replaced
 */
export async function acquireRuntime(
  generationSize = DEFAULT_GENERATION_SIZE,
): Promise<{ paths: RuntimePaths; release: () => Promise<void> }> {
  let generation = await (current ??= Generation.create());
  if (generation.spawned >= generationSize) {
    generation.retired = true;
    const old = generation;
    current = Generation.create();
    generation = await current;
    await old.removeIfDone();
  }
  generation.spawned++;
  generation.users++;
  let released = false;
  return {
    paths: generation.paths,
    release: async () => {
      if (released) return;
      released = true;
      generation.users--;
      await generation.removeIfDone();
    },
  };
}

/** The Deno cache directory of the current generation (for tests and diagnostics). */
export async function sandboxCacheDir(): Promise<string> {
  return (await (current ??= Generation.create())).paths.denoDir;
}

/** Runtime directories that exist now (for tests). */
export function liveRuntimeDirs(): string[] {
  return [...live].map((g) => g.dir);
}
