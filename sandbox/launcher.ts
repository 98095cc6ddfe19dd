/**
 * The sandbox launcher (`launcher.c`): built in the background at the gateway's first spawn
 * with the system's C compiler (`cc`, `gcc` or `clang`), under a cleared environment and a
 * deadline, and kept, by its source's hash, in a directory only this user can write
 * (`$TMPDIR/airlock-launcher-<uid>`, mode 0700, every directory above it root's or ours);
 * `AIRLOCK_SANDBOX_CC` names another compiler. Until it is ready, and for good when there is
 * no compiler, the build fails or the launcher stops working, sandbox processes start through
 * the chain of util-linux programs and bash instead (`spawn.ts`), which does the same for
 * about 4 ms more CPU per process.
 *
 * @module
 */

import { createHash } from "node:crypto";

const SOURCE_URL = new URL("./launcher.c", import.meta.url);

/** `AIRLOCK_SANDBOX_LAUNCHER=0` in the gateway's environment: always use the chain. */
const DISABLED_BY_ENV = "AIRLOCK_SANDBOX_LAUNCHER";

/** `AIRLOCK_SANDBOX_CC=/path/to/compiler`: the C compiler to build it with. */
const COMPILER_ENV = "AIRLOCK_SANDBOX_CC";

/** How long the compiler may take, in ms; past it the build is killed and given up. */
export const BUILD_TIMEOUT_MS = 30_000;

/** How long the built launcher's trial run may take, in ms. */
const PROBE_TIMEOUT_MS = 5_000;

/** The status the launcher exits with when it could not prepare the process. */
export const LAUNCHER_FAILED_STATUS = 127;

/**
 * The status the launcher exits with when the id it was to run under (or reap) cannot be
 * made clean (its keyring made unwritable by an escaped holder, red team m4): that id is
 * given up, the launcher is not.
 */
export const ID_UNUSABLE_STATUS = 126;

let built: string | undefined;
/** The launcher's directory and file as they were when it was built or found. */
let identity: { dir: string; ino: number | null; dev: number } | undefined;
let building: Promise<string | undefined> | undefined;
let disabled = false;

/**
 * The launcher's path once it is built and working; `undefined` before, and for good once
 * there is none or it stopped working (use the chain). Checked at every call (an `lstat` per
 * directory from `/` down, and the file): the directories must still be safe
 * ({@link safeAncestors}), its own ours and usable by nobody else, and the file the very one
 * that was built (same inode). A directory in `/tmp` can be removed by a cleaner and recreated by
 * another user with a file of theirs under the same, predictable name (red team).
 */
export function launcherPath(): string | undefined {
  if (disabled || built === undefined || identity === undefined) return undefined;
  if (!unchanged(built, identity)) {
    launcherFailed("changed on disk");
    return undefined;
  }
  return built;
}

function unchanged(path: string, known: { dir: string; ino: number | null; dev: number }): boolean {
  try {
    const uid = Deno.uid();
    if (!safeAncestors(known.dir)) return false;
    const dir = Deno.lstatSync(known.dir);
    if (!dir.isDirectory || dir.uid !== uid || ((dir.mode ?? 0) & 0o077) !== 0) return false;
    const file = Deno.lstatSync(path);
    return file.isFile && file.uid === uid && file.ino === known.ino && file.dev === known.dev &&
      ((file.mode ?? 0) & 0o022) === 0;
  } catch {
    return false;
  }
}

/**
 * Starts building the launcher, or finding the one built before, once per gateway process;
 * resolves to its path or `undefined`. Never rejects, and spawns need not wait for it: they
 * use the chain until {@link launcherPath} has a path.
 */
export function prepareLauncher(): Promise<string | undefined> {
  building ??= build().then((path) => {
    if (path === undefined) return undefined;
    try {
      const file = Deno.lstatSync(path);
      identity = { dir: path.slice(0, path.lastIndexOf("/")), ino: file.ino, dev: file.dev };
      built = path;
    } catch {
      return undefined;
    }
    return launcherPath();
  }, () => undefined);
  return building;
}

/**
 * Stops using the launcher for the rest of this gateway process (it vanished or a process it
 * started failed with {@link LAUNCHER_FAILED_STATUS}); logged once.
 */
let failedStarts = 0;

/**
 * Counts a start through the launcher that ended before its process was ready, whatever the
 * status: three in a row and the chain takes over (a launcher that runs but starts nothing
 * must not stop every execution). A ready start resets the count.
 */
export function launcherStartEnded(ready: boolean): void {
  if (ready) failedStarts = 0;
  else if (++failedStarts >= 3) {
    launcherFailed("ended three start-ups in a row before they were ready");
  }
}

export function launcherFailed(why: string): void {
  if (disabled || built === undefined) return;
  disabled = true;
  console.error(
    `airlock sandbox: the launcher ${built} ${why}; sandbox processes start through ` +
      `util-linux and bash from now on`,
  );
}

/**
 * Whether nobody but this user and root can replace `dir` or anything above it: each
 * directory from `/` down is a real directory (no symlink) owned by root or this user, and
 * one that others may write into is sticky (they cannot rename or remove what they do not
 * own: `/tmp`). Otherwise another user could swap our private directory for theirs between
 * a check and an exec (red team: a TMPDIR inside another user's directory).
 */
function safeAncestors(dir: string): boolean {
  const uid = Deno.uid();
  const parts = dir.split("/").filter(Boolean);
  let path = "";
  for (let i = 0; i < parts.length; i++) {
    path += `/${parts[i]}`;
    const info = Deno.lstatSync(path);
    if (!info.isDirectory || (info.uid !== 0 && info.uid !== uid)) return false;
    const mode = info.mode ?? 0;
    if ((mode & 0o022) !== 0 && (mode & 0o1000) === 0) return false;
  }
  const rootInfo = Deno.lstatSync("/");
  return rootInfo.uid === 0 && ((rootInfo.mode ?? 0) & 0o022) === 0;
}

async function build(): Promise<string | undefined> {
  if (Deno.env.get(DISABLED_BY_ENV) === "0") return undefined;
  let source: string;
  try {
    source = await Deno.readTextFile(SOURCE_URL);
  } catch {
    return undefined; // the source is not on disk (e.g. the gateway runs from a URL)
  }
  const dir = await privateDir();
  if (!dir) return undefined;
  const compiler = await findCompiler();
  const hash = createHash("sha256").update(source).update("\0").update(compiler ?? "")
    .digest("hex").slice(0, 16);
  const path = `${dir}/airlock-launcher-${hash}`;
  if (await works(path)) return path;
  // What a build cut short (the gateway killed meanwhile) left behind; not a concurrent
  // gateway's build in progress (younger than any build may take).
  try {
    for await (const entry of Deno.readDir(dir)) {
      if (!/\.tmp(\.c)?$/.test(entry.name)) continue;
      const info = await Deno.lstat(`${dir}/${entry.name}`);
      if (Date.now() - (info.mtime?.getTime() ?? 0) > 2 * BUILD_TIMEOUT_MS) {
        await Deno.remove(`${dir}/${entry.name}`).catch(() => {});
      }
    }
  } catch { /* nothing to clean */ }
  if (!compiler) return undefined;
  const partial = `${path}.${crypto.randomUUID()}.tmp`;
  const sourcePath = `${partial}.c`;
  try {
    await Deno.writeTextFile(sourcePath, source, { mode: 0o600 });
    const failure = await compile(compiler, sourcePath, partial);
    if (failure) {
      console.error(
        `airlock sandbox: building the launcher with ${compiler} failed (${failure}); ` +
          `sandbox processes start through util-linux and bash instead`,
      );
      return undefined;
    }
    // On disk before it gets its name (a crash must not leave an empty file under it), and
    // atomic: a concurrent gateway either finds the whole file or builds its own.
    const written = await Deno.open(partial, { read: true });
    try {
      await written.sync();
    } finally {
      written.close();
    }
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
 * Runs the compiler in a session of its own, with the parent-death signal, a cleared environment (so what it builds
 * depends on the source and the system's toolchain only: no `C_INCLUDE_PATH`, `CPATH` or
 * `PATH` of the gateway's) and a deadline, after which its whole process group is killed.
 * Returns why it failed, or `undefined`.
 */
async function compile(
  compiler: string,
  sourcePath: string,
  output: string,
): Promise<string | undefined> {
  const setsid = ["/usr/bin/setsid", "/bin/setsid"].find(isFile);
  const setpriv = ["/usr/bin/setpriv", "/bin/setpriv"].find(isFile);
  // The parent-death signal too: a gateway that ends during the build takes the compiler
  // with it.
  const command = [
    ...(setsid ? [setsid] : []),
    ...(setpriv ? [setpriv, "--pdeathsig", "KILL"] : []),
    compiler,
    "-O2",
    "-o",
    output,
    sourcePath,
  ];
  const child = new Deno.Command(command[0], {
    args: command.slice(1),
    clearEnv: true,
    env: { PATH: "/usr/bin:/bin", LANG: "C" },
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    try {
      if (setsid) Deno.kill(-child.pid, "SIGKILL");
      else child.kill("SIGKILL");
    } catch { /* gone */ }
  }, BUILD_TIMEOUT_MS);
  try {
    const result = await child.output();
    if (timedOut) return `no answer within ${BUILD_TIMEOUT_MS} ms`;
    if (!result.success) return new TextDecoder().decode(result.stderr).slice(0, 500);
    return undefined;
  } finally {
    clearTimeout(timer);
  }
}

/**
 * `$TMPDIR/airlock-launcher-<uid>`, created with mode 0700, or `undefined` (logged) when it
 * exists but is not a directory of ours that only we can write (another user could swap the
 * launcher in it).
 */
async function privateDir(): Promise<string | undefined> {
  const uid = Deno.uid();
  if (uid === null) return undefined;
  let base: string;
  try {
    // Absolute and without symlinks (a relative TMPDIR would resolve elsewhere in the child).
    base = await Deno.realPath(Deno.env.get("TMPDIR") || "/tmp");
  } catch {
    return undefined;
  }
  const dir = `${base}/airlock-launcher-${uid}`;
  try {
    await Deno.mkdir(dir, { mode: 0o700 });
  } catch (error) {
    if (!(error instanceof Deno.errors.AlreadyExists)) return undefined;
  }
  try {
    const info = await Deno.lstat(dir);
    const mode = info.mode ?? 0;
    if (info.isDirectory && info.uid === uid && (mode & 0o077) === 0 && safeAncestors(dir)) {
      return dir;
    }
  } catch { /* fall through */ }
  console.error(
    `airlock sandbox: ${dir} is not a directory that only this user (and root) can change, ` +
      `up to /; sandbox ` +
      `processes start through util-linux and bash instead of the launcher`,
  );
  return undefined;
}

/**
 * Whether `path` is a launcher of ours that runs: owned by us, writable by nobody else, and a
 * trial run within {@link PROBE_TIMEOUT_MS}.
 */
async function works(path: string): Promise<boolean> {
  try {
    const info = await Deno.lstat(path);
    if (!info.isFile || info.uid !== Deno.uid() || ((info.mode ?? 0) & 0o022) !== 0) {
      return false;
    }
    // An executable, not a file the system would hand to /bin/sh (an empty or cut-short
    // build runs as a shell script and "succeeds": red team).
    const head = new Uint8Array(4);
    const file = await Deno.open(path);
    try {
      if (info.size < 1024 || await file.read(head) !== 4) return false;
    } finally {
      file.close();
    }
    if (head[0] !== 0x7f || head[1] !== 0x45 || head[2] !== 0x4c || head[3] !== 0x46) return false;
    // A trial run that must print what only a working start-up prints.
    const probe = await new Deno.Command(path, {
      args: [String(Deno.pid), "0", "/bin/sh", "-c", "echo airlock-launcher-ok"],
      clearEnv: true,
      stdout: "piped",
      stderr: "null",
      signal: AbortSignal.timeout(PROBE_TIMEOUT_MS),
    }).output();
    return probe.success &&
      new TextDecoder().decode(probe.stdout).trim() === "airlock-launcher-ok";
  } catch {
    return false;
  }
}

function isFile(path: string): boolean {
  try {
    return Deno.statSync(path).isFile;
  } catch {
    return false;
  }
}

/**
 * Whether a launcher can be built here: not disabled (`AIRLOCK_SANDBOX_LAUNCHER=0`) and a C
 * compiler present (`AIRLOCK_SANDBOX_CC`, else `cc`, `gcc` or `clang`). Synchronous, for start-up
 * checks of settings that need the launcher (`sandbox.uidRange`).
 */
export function launcherPossible(): boolean {
  try {
    if (Deno.env.get(DISABLED_BY_ENV) === "0") return false;
    const chosen = Deno.env.get(COMPILER_ENV);
    if (chosen) return isFile(chosen);
  } catch {
    return false;
  }
  return ["cc", "gcc", "clang"].some((name) =>
    ["/usr/bin", "/usr/local/bin", "/bin"].some((dir) => isFile(`${dir}/${name}`))
  );
}

async function findCompiler(): Promise<string | undefined> {
  const chosen = Deno.env.get(COMPILER_ENV);
  if (chosen) {
    if (isFile(chosen)) return chosen;
    // Said once, where the operator looks: otherwise a misspelt path costs every execution
    // the chain's extra start-up without a word.
    console.error(
      `airlock sandbox: ${COMPILER_ENV}=${chosen} is not a file; ` +
        `sandbox processes start through util-linux and bash instead`,
    );
    return undefined;
  }
  for (const name of ["cc", "gcc", "clang"]) {
    for (const dir of ["/usr/bin", "/usr/local/bin", "/bin"]) {
      try {
        if ((await Deno.stat(`${dir}/${name}`)).isFile) return `${dir}/${name}`;
      } catch { /* not here */ }
    }
  }
  return undefined;
}
