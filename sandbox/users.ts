/**
 * Sandbox users: a user id of its own for each sandbox process, when the gateway runs as root.
 *
 * Deno's permission system is the sandbox's first layer; the process's user is the second. A
 * gateway run as root (the default in most containers) started its sandboxes as root without
 * capabilities, which still owns every root-owned file: a runtime escape, or a grant wider than
 * meant, read the gateway's configuration, keys and audit database. With a range configured
 * (`sandbox.uidRange`), each process runs under the next free id of it, with the same number
 * as its only group and no supplementary groups: it can read only what any user may, write
 * nothing of the gateway's, and neither signal nor trace the gateway or another sandbox (each
 * has an id no other live process holds).
 *
 * @module
 */

/** The ids a gateway hands its sandbox processes, inclusive at both ends. */
export interface UidRange {
  /** The first id (≥ 1: never root). */
  first: number;
  /** The last id (≤ 2³¹ − 2, as the launcher accepts). */
  last: number;
}

/** The largest id the launcher accepts (Linux's `uid_t` is 32-bit; -1 means "unchanged"). */
export const MAX_SANDBOX_UID = 0x7ffffffe;

/** No id of the range is free: more processes are alive than the range holds. */
export class NoFreeUidError extends Error {
  /** For clients: the sandbox is out of a resource, as a refused start is. */
  readonly kind = "unavailable";
  constructor(range: UidRange) {
    super(
      `airlock sandbox: every id of sandbox.uidRange ${range.first}-${range.last} belongs to a ` +
        `live sandbox process; widen the range (at least 2 × (concurrency + poolMax) + 2 ids)`,
    );
  }
}

/**
 * Hands out the ids of a {@link UidRange} in turn, skipping ids still held, so that no two live
 * processes share one and an id is reused as late as possible.
 */
export class SandboxUsers {
  readonly range: UidRange;
  #next: number;
  #held = new Set<number>();
  static readonly #all = new Set<SandboxUsers>();

  /** Every id held now by any instance (for the gateway's exit: each is reaped then). */
  static heldEverywhere(): number[] {
    return [...SandboxUsers.#all].flatMap((users) => [...users.#held]);
  }

  /** @throws RangeError when the range is empty, includes root or exceeds {@link MAX_SANDBOX_UID} */
  constructor(range: UidRange) {
    const problem = checkUidRange(range);
    if (problem) throw new RangeError(problem);
    this.range = range;
    // A random first id: two gateways given the same range (each `mcp` client starts its own)
    // rarely start on the same ids; where they meet, the launcher kills the other's process
    // rather than share the id (red team k1).
    const size = range.last - range.first + 1;
    this.#next = range.first + crypto.getRandomValues(new Uint32Array(1))[0] % size;
    SandboxUsers.#all.add(this);
  }

  /**
   * The next free id, held until {@link give} returns it.
   * @throws NoFreeUidError when every id of the range is held
   */
  take(): number {
    const size = this.range.last - this.range.first + 1;
    for (let tried = 0; tried < size && tried < this.#held.size + 1; tried++) {
      const uid = this.#next;
      this.#next = uid === this.range.last ? this.range.first : uid + 1;
      if (!this.#held.has(uid)) {
        this.#held.add(uid);
        return uid;
      }
    }
    throw new NoFreeUidError(this.range);
  }

  /** Returns an id once its process has exited and its files are removed. */
  give(uid: number): void {
    this.#held.delete(uid);
  }

  /** Ids held now (for tests). */
  get held(): number {
    return this.#held.size;
  }
}

/** Why `range` cannot be used, or `undefined` when it can. */
export function checkUidRange(range: UidRange): string | undefined {
  if (!Number.isInteger(range.first) || !Number.isInteger(range.last)) {
    return "sandbox.uidRange must hold two whole numbers";
  }
  if (range.first < 1) return "sandbox.uidRange must not include root (0)";
  if (range.last > MAX_SANDBOX_UID) {
    return `sandbox.uidRange must end at ${MAX_SANDBOX_UID} or below`;
  }
  if (range.last < range.first) return "sandbox.uidRange must not end before it starts";
  return undefined;
}

/**
 * Why a process under another user could not use `path`, or `undefined` when it could: every
 * directory above it must let others search it (`o+x`), and `path` itself must let others
 * read it (`o+r`, and `o+x` for a directory), or with `execute` run or search it (`o+x`). A
 * path that does not exist is not judged (a grant for a path made later).
 */
export function othersCannotUse(path: string, execute = false): string | undefined {
  let info: Deno.FileInfo;
  try {
    info = Deno.statSync(path);
  } catch {
    return undefined;
  }
  const parts = path.split("/").filter((p) => p !== "");
  let dir = "";
  for (const part of parts.slice(0, -1)) {
    dir += `/${part}`;
    try {
      if (((Deno.statSync(dir).mode ?? 0) & 0o001) === 0) {
        return `${dir} does not let other users search it (chmod o+x)`;
      }
    } catch {
      return undefined;
    }
  }
  const mode = info.mode ?? 0;
  const needs = execute ? 0o001 : info.isDirectory ? 0o005 : 0o004;
  if ((mode & needs) !== needs) {
    const what = execute ? "execute" : info.isDirectory ? "read and search" : "read";
    return `${path} does not let other users ${what} it`;
  }
  return undefined;
}

/**
 * The fewest ids a range needs for `processes` (executions running plus the warm pool's most):
 * twice that, plus 2. An id is held from before its process starts until its files are removed
 * after it exited, so ids of exited processes overlap with their replacements' (red team k1
 * measured 8 held at once for 2 + 2 and 11 for 4 + 4).
 */
export function minimumUids(processes: number): number {
  return 2 * processes + 2;
}

/**
 * The first account or group (`/etc/passwd`, `/etc/group`) whose id is in `range`, as
 * `"user postgres (101)"`, or `undefined`. A sandbox's group id is its user id: a range over
 * system ids handed sandboxes groups such as `shadow` and `disk` (red team k1). Files that
 * cannot be read count as empty.
 */
export function idsInUse(range: UidRange): string | undefined {
  for (const [file, what] of [["/etc/passwd", "user"], ["/etc/group", "group"]] as const) {
    let text = "";
    try {
      text = Deno.readTextFileSync(file);
    } catch { /* none */ }
    for (const line of text.split("\n")) {
      const fields = line.split(":");
      const id = Number(fields[2]);
      if (fields.length > 2 && Number.isInteger(id) && id >= range.first && id <= range.last) {
        return `${what} ${fields[0]} (${id})`;
      }
    }
  }
  return undefined;
}

/** What {@link usersProblem} checks a range against. */
export interface UsersSetting {
  /** The range configured. */
  range: UidRange;
  /** Most processes alive at once: executions running plus the warm pool's most. */
  processes: number;
  /** The Deno executable the processes run. */
  deno: string;
  /** Paths granted to every process (`allowRead`). */
  allowRead: string[];
  /** Whether setpriv exists. */
  setpriv: boolean;
  /** Whether the launcher can be built here (`launcherPossible`): only it starts other users. */
  launcher: boolean;
}

/**
 * Why the gateway cannot run its sandboxes under `setting.range`, or `undefined` when it can:
 * the gateway must run as root, the range must be valid, hold at least
 * {@link minimumUids} ids and no account's or group's id, setpriv and a C compiler (for the
 * launcher) must exist, and the Deno executable and every `allowRead` path must be usable by
 * other users (else every execution would fail, or a grant would silently grant nothing).
 */
export function usersProblem(setting: UsersSetting): string | undefined {
  const { range } = setting;
  const invalid = checkUidRange(range);
  if (invalid) return invalid;
  if (Deno.uid() !== 0) {
    return "sandbox.uidRange needs a gateway running as root (to change a process's user)";
  }
  if (!setting.setpriv) return "sandbox.uidRange needs setpriv (util-linux)";
  if (!setting.launcher) {
    return "sandbox.uidRange needs the sandbox launcher: a C compiler (cc, gcc or clang, or " +
      "AIRLOCK_SANDBOX_CC) and AIRLOCK_SANDBOX_LAUNCHER not 0";
  }
  const size = range.last - range.first + 1;
  const needed = minimumUids(setting.processes);
  if (size < needed) {
    return `sandbox.uidRange holds ${size} ids; at least ${needed} are needed ` +
      "(2 × (concurrency + poolMax) + 2)";
  }
  const taken = idsInUse(range);
  if (taken) {
    return `sandbox.uidRange includes ${taken}: a sandbox would act as that user or group ` +
      "(choose ids no account or group has, e.g. above 2000000)";
  }
  // The runtime directory (runner, import map, private caches) is made in TMPDIR.
  const tmp = Deno.env.get("TMPDIR") || "/tmp";
  const runtime = othersCannotUse(tmp, true);
  if (runtime) {
    return `sandbox.uidRange: other users cannot reach the runtime directory in TMPDIR ` +
      `(${runtime}); set TMPDIR to a directory they can search, e.g. /tmp`;
  }
  const deno = othersCannotUse(setting.deno, true);
  if (deno) return `sandbox.uidRange: the Deno executable cannot run as another user: ${deno}`;
  for (const path of setting.allowRead) {
    const problem = othersCannotUse(path);
    if (problem) return `sandbox.uidRange: sandbox.allowRead ${path} is unusable: ${problem}`;
  }
  return undefined;
}
