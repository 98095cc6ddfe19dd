/**
 * The sandbox launcher (`launcher.c`): built once with the system's C compiler (`cc`, `gcc`
 * or `clang`) and kept, by its source's hash, in a directory only this user can write
 * (`$TMPDIR/airlock-launcher-<uid>`, mode 0700). Without a compiler, or when the build
 * fails, sandbox processes start through the chain of util-linux programs and bash instead
 * (`spawn.ts`), which does the same for about 4 ms more CPU per process.
 *
 * @module
 */

import { createHash } from "node:crypto";

const SOURCE_URL = new URL("./launcher.c", import.meta.url);

/** `AIRLOCK_SANDBOX_LAUNCHER=0` in the gateway's environment: always use the chain. */
const DISABLED_BY_ENV = "AIRLOCK_SANDBOX_LAUNCHER";

let built: string | undefined;
let building: Promise<string | undefined> | undefined;

/**
 * The launcher's path once {@link prepareLauncher} has built or found it; `undefined` before,
 * or when there is none (use the chain).
 */
export function launcherPath(): string | undefined {
  return built;
}

/**
 * Builds the launcher or finds the one built before; resolves to its path, or `undefined`
 * when there is no compiler or the build failed (logged once). Never rejects; runs once per
 * gateway process.
 */
export function prepareLauncher(): Promise<string | undefined> {
  building ??= build().then((path) => built = path, () => undefined);
  return building;
}

async function build(): Promise<string | undefined> {
  if (Deno.env.get(DISABLED_BY_ENV) === "0") return undefined;
  let source: string;
  try {
    source = await Deno.readTextFile(SOURCE_URL);
  } catch {
    return undefined; // the source is not on disk (e.g. the gateway runs from a URL)
  }
  const hash = createHash("sha256").update(source).digest("hex").slice(0, 16);
  const dir = await privateDir();
  if (!dir) return undefined;
  const path = `${dir}/airlock-launcher-${hash}`;
  if (await works(path)) return path;
  const compiler = await findCompiler();
  if (!compiler) return undefined;
  const partial = `${path}.${crypto.randomUUID()}.tmp`;
  const sourcePath = `${partial}.c`;
  try {
    await Deno.writeTextFile(sourcePath, source, { mode: 0o600 });
    const result = await new Deno.Command(compiler, {
      args: ["-O2", "-o", partial, sourcePath],
      stdout: "null",
      stderr: "piped",
    }).output();
    if (!result.success) {
      console.error(
        `airlock sandbox: building the launcher with ${compiler} failed; sandbox processes ` +
          `start through util-linux and bash instead: ${
            new TextDecoder().decode(result.stderr).slice(0, 500)
          }`,
      );
      return undefined;
    }
    // Atomic: a concurrent gateway either finds the whole file or builds its own.
    await Deno.rename(partial, path);
    return await works(path) ? path : undefined;
  } catch {
    return undefined;
  } finally {
    await Deno.remove(sourcePath).catch(() => {});
    await Deno.remove(partial).catch(() => {});
  }
}

/**
 * `$TMPDIR/airlock-launcher-<uid>`, created with mode 0700, or `undefined` when it exists
 * but is not a directory of ours that only we can write (another user could swap the
 * launcher in it).
 */
async function privateDir(): Promise<string | undefined> {
  const uid = Deno.uid();
  if (uid === null) return undefined;
  const dir = `${Deno.env.get("TMPDIR") ?? "/tmp"}/airlock-launcher-${uid}`;
  try {
    await Deno.mkdir(dir, { mode: 0o700 });
  } catch (error) {
    if (!(error instanceof Deno.errors.AlreadyExists)) return undefined;
  }
  try {
    const info = await Deno.lstat(dir);
    const mode = info.mode ?? 0;
    if (!info.isDirectory || info.uid !== uid || (mode & 0o022) !== 0) return undefined;
    return dir;
  } catch {
    return undefined;
  }
}

/** Whether `path` is a launcher of ours that runs: owned by us, not writable by others. */
async function works(path: string): Promise<boolean> {
  try {
    const info = await Deno.lstat(path);
    if (!info.isFile || info.uid !== Deno.uid() || ((info.mode ?? 0) & 0o022) !== 0) {
      return false;
    }
    const probe = await new Deno.Command(path, {
      args: ["0", "/bin/sh", "-c", "exit 0"],
      stdout: "null",
      stderr: "null",
    }).output();
    return probe.success;
  } catch {
    return false;
  }
}

async function findCompiler(): Promise<string | undefined> {
  for (const name of ["cc", "gcc", "clang"]) {
    for (const dir of ["/usr/bin", "/usr/local/bin", "/bin"]) {
      try {
        if ((await Deno.stat(`${dir}/${name}`)).isFile) return `${dir}/${name}`;
      } catch { /* not here */ }
    }
  }
  return undefined;
}
