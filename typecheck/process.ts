/**
 * One checker process: `deno run typecheck/child.ts` with a V8 heap cap, spoken to with one
 * JSON message per line (stdin and stdout). Unlike a Worker, which Deno 2.9.6 does not stop
 * while it is busy in synchronous JavaScript (`terminate()` returns and the thread keeps
 * running and allocating), a process is stopped for real by SIGKILL, and its memory goes
 * with it.
 *
 * The process gets no environment of the gateway's (only where Deno keeps its cache) and no
 * permission but reading TypeScript's own files. It starts as a sandbox process does: through
 * the sandbox launcher where it is built (a process group of its own, a parent-death signal
 * checked against the gateway, 10 nicer, no core files, no inherited descriptors, no new
 * privileges and no capabilities: TypeScript reads code an agent wrote), else (the launcher not
 * built yet, or unavailable) in a session of its own (setsid) with, where setpriv(1) exists, a
 * parent-death signal. Either way it never outlives the gateway.
 *
 * @module
 */

import type { FromChecker, ToChecker } from "./protocol.ts";
import { launcherPath, prepareLauncher, SANDBOX_NICENESS } from "../sandbox/mod.ts";

/** Longest line read from the process, in bytes: a longer one means it is broken (killed). */
const MAX_LINE_BYTES = 8 * 1024 * 1024;

const CHILD = new URL("./child.ts", import.meta.url);
const CONFIG = new URL("../deno.json", import.meta.url);
/** The project's `node_modules` (TypeScript's `lib.*.d.ts` are read from there). */
const NODE_MODULES = new URL("../node_modules/", import.meta.url);

function which(name: string): string | undefined {
  for (const dir of ["/usr/bin", "/bin", "/usr/sbin", "/sbin"]) {
    try {
      if (Deno.statSync(`${dir}/${name}`).isFile) return `${dir}/${name}`;
    } catch {
      // Not there.
    }
  }
  return undefined;
}

/**
 * The programs the checker starts through, each exec-ing the next: the sandbox launcher
 * (`<launcher> <gateway pid> <niceness>`) once it is built (its build is started here if no
 * sandbox has started it yet), else setsid(1) and `setpriv --pdeathsig KILL` where they exist.
 */
function checkerWrappers(): string[] {
  const launcher = launcherPath();
  if (launcher) return [launcher, String(Deno.pid), String(SANDBOX_NICENESS)];
  void prepareLauncher();
  const setsid = which("setsid");
  const setpriv = which("setpriv");
  return [
    ...(setsid ? [setsid] : []),
    ...(setpriv ? [setpriv, "--pdeathsig", "KILL"] : []),
  ];
}

function env(name: string): string | undefined {
  try {
    return Deno.env.get(name);
  } catch {
    return undefined;
  }
}

/** Options of a {@link CheckerProcess}. */
export interface CheckerProcessOptions {
  /** V8 old-space limit of the process, in MiB (`--max-old-space-size`). */
  memoryMb: number;
  /** Called with each message the process sends. */
  onMessage(message: FromChecker): void;
  /** Called once when the process has exited (killed, crashed or out of memory). */
  onExit(status: Deno.CommandStatus): void;
}

/** A running checker process. */
export class CheckerProcess {
  readonly #child: Deno.ChildProcess;
  readonly #writer: WritableStreamDefaultWriter<Uint8Array>;
  readonly #encoder = new TextEncoder();
  #exited = false;
  /** Resolves when the process has exited and its pipes are closed. */
  readonly exited: Promise<Deno.CommandStatus>;

  /** Starts the process. Throws what `Deno.Command.spawn` throws (e.g. EMFILE, EAGAIN). */
  constructor(options: CheckerProcessOptions) {
    // Each wrapper execs the next program in place: the pid is the Deno process's own.
    const wrappers = checkerWrappers();
    const deno = Deno.execPath();
    const args = [
      "run",
      "--quiet",
      "--no-prompt",
      `--config=${CONFIG.pathname}`,
      `--allow-read=${NODE_MODULES.pathname}`,
      // TypeScript reads a few variables (TSC_WATCHFILE, …) when it loads; the environment
      // holds only what is set below.
      "--allow-env",
      `--v8-flags=--max-old-space-size=${Math.max(16, Math.floor(options.memoryMb))}`,
      CHILD.pathname,
    ];
    const home = env("HOME");
    const denoDir = env("DENO_DIR");
    const cache = env("XDG_CACHE_HOME");
    this.#child = new Deno.Command(wrappers[0] ?? deno, {
      args: [...wrappers.slice(1), ...(wrappers.length > 0 ? [deno] : []), ...args],
      cwd: new URL("..", import.meta.url).pathname,
      clearEnv: true,
      // Where Deno finds its module cache; never the gateway's other variables.
      env: {
        NO_COLOR: "1",
        DENO_NO_UPDATE_CHECK: "1",
        ...(home ? { HOME: home } : {}),
        ...(denoDir ? { DENO_DIR: denoDir } : {}),
        ...(cache ? { XDG_CACHE_HOME: cache } : {}),
      },
      stdin: "piped",
      stdout: "piped",
      stderr: "null",
    }).spawn();
    this.#writer = this.#child.stdin.getWriter();
    this.#writer.closed.catch(() => {});
    const reading = this.#read(options.onMessage).catch(() => this.kill());
    this.exited = this.#child.status.then(async (status) => {
      this.#exited = true;
      await reading;
      options.onExit(status);
      return status;
    });
  }

  /** The process id (its session and process group have the same id). */
  get pid(): number {
    return this.#child.pid;
  }

  /** Sends one message (queued behind earlier ones); ignored once the process is gone. */
  send(message: ToChecker): void {
    if (this.#exited) return;
    this.#writer.write(this.#encoder.encode(JSON.stringify(message) + "\n")).catch(() => {});
  }

  /** SIGKILL: the process stops at once, wherever it is, and its memory is freed. */
  kill(): void {
    if (this.#exited) return;
    try {
      this.#child.kill("SIGKILL");
    } catch {
      // Already gone.
    }
  }

  async #read(onMessage: (message: FromChecker) => void): Promise<void> {
    const decoder = new TextDecoder();
    let pending: Uint8Array[] = [];
    let size = 0;
    for await (const chunk of this.#child.stdout) {
      let from = 0;
      for (let at = chunk.indexOf(10); at >= 0; at = chunk.indexOf(10, from)) {
        pending.push(chunk.subarray(from, at));
        const line = new Uint8Array(size + at - from);
        let offset = 0;
        for (const part of pending) {
          line.set(part, offset);
          offset += part.length;
        }
        pending = [];
        size = 0;
        from = at + 1;
        onMessage(JSON.parse(decoder.decode(line)) as FromChecker);
      }
      if (from < chunk.length) {
        size += chunk.length - from;
        if (size > MAX_LINE_BYTES) throw new Error("the checker sent an overlong line");
        pending.push(chunk.slice(from));
      }
    }
  }
}
