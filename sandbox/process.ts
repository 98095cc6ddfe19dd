/**
 * One sandbox process: spawned with no permissions in its own process group and with its
 * own origin, used for exactly one execution, then killed.
 *
 * @module
 */

import { LineReader } from "./lines.ts";
import { createMemoryGuard, type MemoryGuard, type MemoryGuardMode } from "./memory.ts";
import { exitError, limitError, outputLimitError, sanitizeError } from "./outcome.ts";
import { acquireRuntime } from "./runtime_dir.ts";
import { newOrigin, spawnChild, storageDirs } from "./spawn.ts";
import {
  type LogEntry,
  type RpcHandler,
  RUNTIME_OVERHEAD_MB,
  type SandboxError,
  type SandboxGrants,
  type SandboxLimits,
} from "./types.ts";

const STDERR_TAIL_BYTES = 16384;
/** A frame line longer than this ends the execution; it bounds the gateway's memory. */
const MAX_FRAME_BYTES = 64 * 1024 * 1024;
/** All tool-call frames of one execution together, in bytes. */
export const MAX_RPC_BYTES = 256 * 1024 * 1024;

/** How a sandbox process is started. */
export interface SpawnOptions {
  /** The Deno executable; the gateway's own by default. */
  denoPath?: string;
  /** V8 heap limit in MiB (fixed at spawn). */
  memoryMb: number;
  /** Permissions to grant. */
  grants: SandboxGrants;
  /** Memory enforcement; `auto` prefers a cgroup. */
  memoryGuard?: "auto" | MemoryGuardMode;
  /** Processes per runtime-directory generation (see `runtime_dir.ts`); tests lower it. */
  generationSize?: number;
}

/** The outcome of one execution inside one process. */
export interface ProcessOutcome {
  /** The JSON text of the return value, when the code returned one. */
  json?: string;
  /** The failure, when there was one. */
  error?: SandboxError;
  /** Captured console lines. */
  logs: LogEntry[];
}

/** What the process is asked to run. */
export interface ExecuteOptions {
  code: string;
  prelude?: string;
  limits: SandboxLimits;
  onRpc?: RpcHandler;
  onLog?: (entry: LogEntry) => void;
  signal?: AbortSignal;
}

type Frame =
  | { t: "ready" }
  | { t: "log"; level: LogEntry["level"]; text: string }
  | { t: "rpc"; id: number; method: string; params: unknown }
  | { t: "result"; json?: string }
  | { t: "error"; error: SandboxError };

const LOG_LEVELS = new Set(["log", "info", "warn", "error", "debug"]);

/** A pre-startable, single-use sandbox process. */
export class SandboxProcess {
  /** Resolves when the harness is loaded and waiting for code; rejects if it dies first. */
  readonly ready: Promise<void>;
  /** The V8 heap limit it was started with. */
  readonly memoryMb: number;
  /** The grants it was started with. */
  readonly grants: SandboxGrants;

  #child: Deno.ChildProcess;
  #storage: string[];
  #releaseRuntime: () => Promise<void>;
  #guard: MemoryGuard;
  #guardAttached: Promise<void>;
  #stdin: WritableStreamDefaultWriter<Uint8Array>;
  #stderrTail = "";
  #onFrame: (frame: Frame, bytes: number) => void = () => {};
  #onGarbage: (bytes: number) => void = () => {};
  #onOversize: () => void = () => {};
  #killedFor: SandboxError["kind"] | undefined;
  #used = false;
  #executing: Promise<unknown> = Promise.resolve();
  #exited: Promise<Deno.CommandStatus>;

  private constructor(
    child: Deno.ChildProcess,
    guard: MemoryGuard,
    options: SpawnOptions,
    storage: string[],
    releaseRuntime: () => Promise<void>,
  ) {
    this.#storage = storage;
    this.#releaseRuntime = releaseRuntime;
    this.#child = child;
    this.#guard = guard;
    this.memoryMb = options.memoryMb;
    this.grants = options.grants;
    this.#stdin = child.stdin.getWriter();
    this.#exited = child.status;
    const limitBytes = (options.memoryMb + RUNTIME_OVERHEAD_MB) * 1024 * 1024;
    this.#guardAttached = guard.attach(child.pid, limitBytes, () => this.kill("memory"))
      .catch(() => {
        // A guard that cannot attach must not leave an unlimited process behind.
        this.kill("memory");
      });
    this.#drainStderr();
    let markReady: () => void;
    let markFailed: (e: Error) => void;
    this.ready = new Promise((resolve, reject) => {
      markReady = resolve;
      markFailed = reject;
    });
    this.ready.catch(() => {});
    this.#onFrame = (frame) => {
      if (frame.t === "ready") markReady();
    };
    this.#readStdout();
    this.#exited.then(() => markFailed(new Error(`sandbox process exited before it was ready`)));
  }

  /** Starts a process; it becomes usable when {@link ready} resolves. */
  static async spawn(options: SpawnOptions): Promise<SandboxProcess> {
    const guard = await createMemoryGuard(options.memoryGuard ?? "auto");
    const runtime = await acquireRuntime(options.generationSize);
    const origin = newOrigin();
    const child = spawnChild({
      deno: options.denoPath ?? Deno.execPath(),
      paths: runtime.paths,
      origin,
      memoryMb: options.memoryMb,
      grants: options.grants,
    });
    return new SandboxProcess(
      child,
      guard,
      options,
      storageDirs(runtime.paths.denoDir, origin),
      runtime.release,
    );
  }

  /** Which memory mechanism guards this process. */
  get memoryGuard(): MemoryGuardMode {
    return this.#guard.mode;
  }

  /** The process id (for tests and diagnostics). */
  get pid(): number {
    return this.#child.pid;
  }

  /** Resolves when the process has exited and its resources are freed. */
  get closed(): Promise<void> {
    return this.#exited.then(() => this.#cleanup());
  }

  /** Runs code once. The process is killed afterwards, whatever happened. */
  execute(options: ExecuteOptions): Promise<ProcessOutcome> {
    if (this.#used) throw new Error("a sandbox process runs exactly one execution");
    this.#used = true;
    const outcome = this.#execute(options);
    // Cleanup waits for the outcome: judging an exit reads the memory guard's state.
    this.#executing = outcome.catch(() => {});
    return outcome;
  }

  async #execute(options: ExecuteOptions): Promise<ProcessOutcome> {
    await this.ready;
    await this.#guardAttached;
    const logs: LogEntry[] = [];
    let outputBudget = 2 * (options.limits.maxOutputBytes + options.limits.maxLogBytes) +
      1024 * 1024;
    let rpcBudget = MAX_RPC_BYTES;
    let settle: (outcome: ProcessOutcome) => void;
    const done = new Promise<ProcessOutcome>((resolve) => settle = resolve);

    const spend = (bytes: number) => {
      outputBudget -= bytes;
      if (outputBudget < 0) this.kill("output_limit");
    };
    this.#onGarbage = spend;
    this.#onOversize = () => this.kill("output_limit");
    this.#onFrame = (frame, bytes) => {
      switch (frame.t) {
        case "log": {
          spend(bytes);
          if (outputBudget < 0) return;
          const entry: LogEntry = {
            level: LOG_LEVELS.has(frame.level) ? frame.level : "log",
            text: String(frame.text),
          };
          logs.push(entry);
          options.onLog?.(entry);
          return;
        }
        case "rpc":
          // Tool arguments may be large, but the gateway parses every byte of them: a
          // separate, larger budget keeps a flood of calls from eating its CPU and memory.
          rpcBudget -= bytes;
          if (rpcBudget < 0) {
            this.kill("output_limit");
            return;
          }
          this.#serveRpc(frame, options.onRpc);
          return;
        case "result":
          spend(bytes);
          if (typeof frame.json === "string" && frame.json.length > options.limits.maxOutputBytes) {
            settle({ logs, error: outputLimitError(options.limits.maxOutputBytes) });
          } else {
            settle({ logs, json: typeof frame.json === "string" ? frame.json : undefined });
          }
          return;
        case "error":
          settle({ logs, error: sanitizeError(frame.error) });
          return;
      }
    };

    const timer = setTimeout(() => this.kill("timeout"), options.limits.timeoutMs);
    const onAbort = () => this.kill("cancelled");
    options.signal?.addEventListener("abort", onAbort, { once: true });
    if (options.signal?.aborted) this.kill("cancelled");

    const exitedFirst = this.#exited.then(async (status) => {
      // Give frames already in the pipe a moment to be read before judging the exit.
      await new Promise((r) => setTimeout(r, 5));
      settle({ logs, error: await this.#exitError(status, options.limits) });
    });
    exitedFirst.catch(() => {});

    try {
      await this.#send({
        t: "run",
        code: options.code,
        prelude: options.prelude ?? "",
        maxOutputBytes: options.limits.maxOutputBytes,
        maxLogBytes: options.limits.maxLogBytes,
      });
    } catch {
      // The process died before taking the code; its exit status tells why.
    }
    const outcome = await done;
    clearTimeout(timer);
    options.signal?.removeEventListener("abort", onAbort);
    if (this.#killedFor && outcome.error === undefined) {
      // The result arrived but a limit had already fired: the limit wins.
      return { logs, error: await this.#exitError(undefined, options.limits) };
    }
    this.kill();
    return outcome;
  }

  /** Kills the whole process group. `reason` is remembered for the outcome. */
  kill(reason?: SandboxError["kind"]): void {
    if (reason && !this.#killedFor) this.#killedFor = reason;
    try {
      Deno.kill(-this.#child.pid, "SIGKILL");
    } catch {
      try {
        this.#child.kill("SIGKILL");
      } catch { /* already gone */ }
    }
  }

  async #serveRpc(frame: { id: number; method: string; params: unknown }, onRpc?: RpcHandler) {
    let reply: Record<string, unknown>;
    try {
      if (!onRpc) throw new Error("no tools are available to this execution");
      const value = await onRpc(String(frame.method), frame.params);
      reply = { t: "reply", id: frame.id, ok: true, value };
    } catch (error) {
      const kind = (error as { kind?: string }).kind ?? "tool";
      const message = error instanceof Error ? error.message : String(error);
      reply = { t: "reply", id: frame.id, ok: false, error: { kind, message } };
    }
    try {
      await this.#send(reply);
    } catch { /* the process is gone */ }
  }

  async #send(frame: unknown): Promise<void> {
    await this.#stdin.write(new TextEncoder().encode(JSON.stringify(frame) + "\n"));
  }

  async #exitError(
    status: Deno.CommandStatus | undefined,
    limits: SandboxLimits,
  ): Promise<SandboxError> {
    const limit = this.#killedFor && limitError(this.#killedFor, limits);
    if (limit) return limit;
    return exitError(
      status ?? await this.#exited,
      this.#stderrTail,
      await this.#guard.exceeded(),
      limits,
    );
  }

  async #readStdout() {
    const reader = new LineReader(MAX_FRAME_BYTES);
    try {
      for await (const chunk of this.#child.stdout) {
        const lines = reader.push(chunk);
        if (reader.oversize) {
          this.#onOversize();
          break;
        }
        for (const line of lines) this.#handleLine(line);
      }
    } catch { /* the pipe broke: the process is gone */ }
  }

  #handleLine(line: string) {
    let frame: Frame;
    try {
      frame = JSON.parse(line);
    } catch {
      this.#onGarbage(line.length);
      return;
    }
    if (frame === null || typeof frame !== "object" || typeof frame.t !== "string") {
      this.#onGarbage(line.length);
      return;
    }
    this.#onFrame(frame, line.length);
  }

  async #drainStderr() {
    const decoder = new TextDecoder();
    try {
      for await (const chunk of this.#child.stderr) {
        this.#stderrTail = (this.#stderrTail + decoder.decode(chunk, { stream: true }))
          .slice(-STDERR_TAIL_BYTES);
      }
    } catch { /* the pipe broke */ }
  }

  #cleaned: Promise<void> | undefined;
  #cleanup(): Promise<void> {
    this.#cleaned ??= (async () => {
      await this.#executing;
      try {
        await this.#stdin.close();
      } catch { /* already closed */ }
      await this.#guard.dispose();
      for (const path of this.#storage) {
        await Deno.remove(path, { recursive: true }).catch(() => {});
      }
      await this.#releaseRuntime();
    })();
    return this.#cleaned;
  }
}
