/**
 * One sandbox process: spawned with no permissions in its own process group and with its
 * own origin, used for exactly one execution, then killed.
 *
 * @module
 */

import {
  type Frame,
  MAX_JSON_DEPTH,
  MAX_LOG_VALUES_TOTAL_BYTES,
  MAX_METHOD_BYTES,
  MAX_RPC_CALL_BYTES,
  MAX_RPC_CALL_VALUES,
  readLine,
  readLogValues,
  readResult,
} from "./frames.ts";
import { dropPartialToken, utf8ByteLength, utf8Prefix } from "./json_text.ts";
import { type Line, LineReader } from "./lines.ts";
import { createMemoryGuard, type MemoryGuard, type MemoryGuardMode } from "./memory.ts";
import { type CpuLimit, createCpuLimit } from "./cpu_limit.ts";
import {
  depthLimitError,
  exitError,
  limitError,
  outputLimitError,
  sanitizeError,
} from "./outcome.ts";
import { acquireRuntime, DEFAULT_DISK_LIMIT_BYTES } from "./runtime_dir.ts";
import {
  harnessWarmer,
  newOrigin,
  reapUser,
  reapUserSync,
  spawnChild,
  startedByLauncher,
  storageDirs,
} from "./spawn.ts";
import { SandboxUsers } from "./users.ts";
import {
  ID_UNUSABLE_STATUS,
  LAUNCHER_FAILED_STATUS,
  launcherFailed,
  launcherStartEnded,
  prepareLauncher,
} from "./launcher.ts";
import { supervise, type Watch } from "./supervisor.ts";
import {
  type LogEntry,
  type RpcContext,
  type RpcHandler,
  RUNTIME_OVERHEAD_MB,
  type SandboxError,
  type SandboxGrants,
  type SandboxLimits,
} from "./types.ts";

/**
 * A frame line longer than this ends the execution; it bounds the gateway's memory
 * before an execution's limits are known (see {@link maxLineBytes} after).
 */
const MAX_FRAME_BYTES = 64 * 1024 * 1024;
const FLOOD_MESSAGE = "the sandbox wrote more output than its limits allow";
const RPC_FLOOD_MESSAGE = "the execution's tool calls passed their budget (bytes or count)";

/**
 * Stderr one process may write, in bytes. The gateway reads it only to keep the pipe
 * flowing, but reading is work: past this the execution ends as `output_limit`.
 */
export const MAX_STDERR_BYTES = 64 * 1024 * 1024;

/**
 * Tool requests (calls and searches, refused ones included) one execution may send. Calls
 * past `maxToolCalls` are refused, but each still costs the gateway a parse and a reply:
 * past this many the execution ends as `output_limit`.
 */
export const MAX_RPC_FRAMES = 100_000;

/** Bytes a log frame adds to its text (`{"t":"log","level":…,"text":…,"k":…}`), rounded up. */
const LOG_FRAME_OVERHEAD_BYTES = 128;

/** Frames handled before the reader yields the event loop to other work. */
const FRAMES_PER_TURN = 256;

/** All tool-call frames of one execution together, in bytes. */
export const MAX_RPC_BYTES = 256 * 1024 * 1024;

/**
 * All tool replies of one execution together, in UTF-8 bytes of their frames. Past it, a
 * call's result is replaced by an error the code can catch: serialising results costs the
 * gateway's CPU, so one execution cannot make it serialise gigabytes.
 */
export const MAX_REPLY_BYTES = 256 * 1024 * 1024;

/**
 * Reply bytes handed to the process's stdin but not yet taken by it, in bytes. Code that
 * fires calls and never yields to read their replies (a busy loop) would otherwise pile
 * them up in the gateway's memory (620 MB from one 4 s execution); past this the execution
 * ends as `output_limit`.
 */
export const MAX_PENDING_REPLY_BYTES = 32 * 1024 * 1024;

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
  /** Each process under a user id of its own from these (`users.ts`); the gateway's when absent. */
  users?: SandboxUsers;
}

/** The outcome of one execution inside one process. */
export interface ProcessOutcome {
  /**
   * The JSON text of the return value, when the code returned one: already checked
   * (at most `maxOutputBytes` UTF-8 bytes, at most 200 levels deep) and parsed, so it
   * is valid JSON and {@link value} holds it.
   */
  json?: string;
  /** The parsed return value; present exactly when {@link json} is. */
  value?: unknown;
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

/**
 * How long a process whose answer is out may live at most when the event loop that would
 * kill it is stalled, in ms; the supervisor thread kills it then (see
 * {@link SandboxProcess.retire}).
 */
export const RETIRE_BACKSTOP_MS = 100;

/**
 * The longest stdout line an execution may write, in bytes: a result frame escapes its
 * JSON text (at most ×2: only `"` and `\` are left to escape), a log frame its text (at
 * most ×6: control characters), a tool call is capped on its own; plus room for the
 * frame around them. Never more than 64 MiB, whatever the limits: that bounds what the
 * gateway buffers for one line.
 */
export function maxLineBytes(limits: SandboxLimits): number {
  const needed = Math.max(2 * limits.maxOutputBytes, 6 * limits.maxLogBytes, MAX_RPC_CALL_BYTES);
  return Math.min(MAX_FRAME_BYTES, needed + 64 * 1024);
}

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
  /** The private cache directory, whose size is capped while the code runs. */
  #denoDir: string;
  #releaseRuntime: () => Promise<void>;
  #guard: MemoryGuard;
  #cpuLimit: CpuLimit;
  #guardAttached: Promise<void>;
  #stdin: WritableStreamDefaultWriter<Uint8Array>;
  #reader = new LineReader(MAX_FRAME_BYTES);
  /** The gateway's own description of the output limit that fired, when it knows it. */
  #outputLimit: SandboxError | undefined;
  /** The execution's frame key: unguessable, known only to the harness and the gateway. */
  #frameKey = crypto.randomUUID();
  /** Whether frames must carry the key (from when the code is sent). */
  #keyed = false;
  #replyBytes = 0;
  #pendingReplyBytes = 0;
  #onFrame: (frame: Frame, bytes: number) => void = () => {};
  #onGarbage: (bytes: number) => void = () => {};
  #onOversize: () => void = () => {};
  #onTooDeep: () => void = () => {};
  #onTooManyValues: () => void = () => {};
  #onStderrFlood: () => void = () => {};
  /** Deadlines, the RSS watchdog and the kill verdict live off the main thread. */
  #watch: Watch;
  get #killedFor(): SandboxError["kind"] | undefined {
    return this.#watch.verdict;
  }
  #used = false;
  #executing: Promise<unknown> = Promise.resolve();
  #exited: Promise<Deno.CommandStatus>;

  private constructor(
    child: Deno.ChildProcess,
    watch: Watch,
    guard: MemoryGuard,
    cpuLimit: CpuLimit,
    options: SpawnOptions,
    storage: string[],
    releaseRuntime: () => Promise<void>,
    denoDir: string,
  ) {
    this.#storage = storage;
    this.#denoDir = denoDir;
    this.#releaseRuntime = releaseRuntime;
    this.#child = child;
    this.#watch = watch;
    this.#guard = guard;
    this.#cpuLimit = cpuLimit;
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
    // At most one core (never rejects; uncapped, logged once, where it cannot attach).
    const cpuAttached = cpuLimit.attach(child.pid);
    this.#guardAttached = Promise.all([this.#guardAttached, cpuAttached]).then(() => {});
    this.#drainStderr();
    let markReady: () => void;
    let markFailed: (e: Error) => void;
    let isReady = false;
    this.ready = new Promise((resolve, reject) => {
      markReady = resolve;
      markFailed = reject;
    });
    this.ready.catch(() => {});
    this.#onFrame = (frame) => {
      if (frame.t === "ready" && !isReady) {
        isReady = true;
        if (startedByLauncher(child)) launcherStartEnded(true);
        markReady();
      }
    };
    this.#readStdout();
    this.#exited.then((status) => {
      // The launcher could not prepare the process (its own status, before Deno ran): every
      // later spawn would fail the same way, so the chain takes over.
      if (!isReady && status.code === LAUNCHER_FAILED_STATUS) {
        launcherFailed(`ended a start-up with status ${LAUNCHER_FAILED_STATUS}`);
      } else if (!isReady && status.code === ID_UNUSABLE_STATUS) {
        // This id only (an escaped holder poisoned it): it is not reaped, so never reused.
      } else if (!isReady && !this.#killRequested && startedByLauncher(child)) {
        launcherStartEnded(false);
      }
      markFailed(new Error(`sandbox process exited before it was ready`));
    });
  }

  /** Starts a process; it becomes usable when {@link ready} resolves. */
  static async spawn(options: SpawnOptions): Promise<SandboxProcess> {
    // Built in the background, once per gateway process; until then spawns use the chain,
    // except under other users' ids: the launcher also gives up the terminal and empties the
    // id's keyrings, which the chain cannot (a build is cached by its source's hash).
    if (options.users) await prepareLauncher();
    else void prepareLauncher();
    const guard = await createMemoryGuard(options.memoryGuard ?? "auto");
    const cpuLimit = await createCpuLimit();
    const deno = options.denoPath ?? Deno.execPath();
    const users = options.users;
    let uid: number | undefined;
    let runtime: Awaited<ReturnType<typeof acquireRuntime>>;
    try {
      uid = users?.take();
      runtime = await acquireRuntime(options.generationSize, harnessWarmer(deno), uid);
    } catch (error) {
      if (uid !== undefined) users!.give(uid);
      await guard.dispose();
      await cpuLimit.dispose();
      throw error;
    }
    // The id is free again only once the process's files are gone and nothing runs under it
    // (what an escaped process started in a session of its own outlived it, red team l4).
    const release = async () => {
      await runtime.release();
      if (uid === undefined) return;
      // Tried again: a leftover of the id can kill the reaper once it has become the id.
      for (let attempt = 0; attempt < 3; attempt++) {
        if (await reapUser(uid)) return users!.give(uid);
      }
      console.error(`airlock sandbox: id ${uid} could not be reaped; it is not reused`);
    };
    const origin = newOrigin();
    let child: Deno.ChildProcess;
    try {
      child = spawnChild({
        deno,
        paths: runtime.paths,
        origin,
        memoryMb: options.memoryMb,
        grants: options.grants,
        uid,
      });
    } catch (error) {
      // Out of file descriptors or processes, or no launcher: give back what was taken for
      // it (nothing ran under the id).
      await guard.dispose();
      await cpuLimit.dispose();
      await runtime.release();
      if (uid !== undefined) users!.give(uid);
      throw error;
    }
    const watch = supervise(child);
    return new SandboxProcess(
      child,
      watch,
      guard,
      cpuLimit,
      options,
      // The origin's storage inside the private cache directory goes with it (the release
      // removes the directory whole); only storage kept elsewhere is removed on its own.
      storageDirs(runtime.paths.denoDir, origin)
        .filter((path) => !path.startsWith(`${runtime.paths.denoDir}/`)),
      release,
      runtime.paths.denoDir,
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
    // Only the code can fill the cache directory: until it arrives the process runs the
    // harness alone, so the (polled, per-process) disk cap starts with the execution and a
    // warm process waiting in the pool costs no polling.
    this.#watch.limitDisk(this.#denoDir, DEFAULT_DISK_LIMIT_BYTES);
    const logs: LogEntry[] = [];
    const limits = options.limits;
    // Everything below is counted in UTF-8 bytes as it arrived, before it is parsed.
    // Twice the value and log caps (JSON escaping), a frame's own bytes for each log line the
    // harness may send (it charges every line at least one byte), and 1 MiB of slack.
    let outputBudget = 2 * (limits.maxOutputBytes + limits.maxLogBytes) +
      limits.maxLogBytes * LOG_FRAME_OVERHEAD_BYTES + 1024 * 1024;
    let rpcBudget = MAX_RPC_BYTES;
    let rpcFrames = 0;
    // The harness enforces the same log cap, but the code can write log frames itself.
    let logBudget = limits.maxLogBytes;
    let droppedLogs = 0;
    // The JSON of log lines' values (harness.js `logValues`), parsed here: capped per line by
    // readLogValues and in all by this, as the harness caps it.
    let logValuesBudget = MAX_LOG_VALUES_TOTAL_BYTES;
    let settled = false;
    let settle: (outcome: ProcessOutcome) => void;
    const done = new Promise<ProcessOutcome>((resolve) => settle = resolve);
    // The first outcome is final: a second result, error or ready frame (which only the
    // code can have written) changes nothing, and nothing after it is read.
    const accept = (outcome: Omit<ProcessOutcome, "logs">, dropped = 0) => {
      if (settled) return;
      settled = true;
      droppedLogs += dropped;
      if (droppedLogs > 0) {
        logs.push({ level: "warn", text: `[airlock] ${droppedLogs} more log lines were dropped` });
      }
      settle({ ...outcome, logs });
    };
    const overLimit = (error: SandboxError) => {
      this.#outputLimit ??= error;
      this.kill("output_limit");
    };
    const spend = (bytes: number) => {
      outputBudget -= bytes;
      if (outputBudget < 0) overLimit(outputLimitError(limits.maxOutputBytes, FLOOD_MESSAGE));
    };
    this.#reader.maxLineBytes = maxLineBytes(limits);
    this.#onGarbage = (bytes) => settled || spend(bytes);
    // Once the outcome is accepted nothing the process writes can change it.
    this.#onOversize = () =>
      settled || overLimit(outputLimitError(
        limits.maxOutputBytes,
        `the sandbox wrote a frame longer than ${maxLineBytes(limits)} bytes`,
      ));
    this.#onTooDeep = () => settled || overLimit(depthLimitError(MAX_JSON_DEPTH));
    this.#onTooManyValues = () =>
      settled || overLimit(outputLimitError(
        limits.maxOutputBytes,
        `a tool call's arguments hold more than ${MAX_RPC_CALL_VALUES} JSON values`,
      ));
    this.#onStderrFlood = () =>
      settled || overLimit(outputLimitError(
        limits.maxOutputBytes,
        `the sandbox wrote more than ${MAX_STDERR_BYTES} bytes to stderr`,
      ));
    this.#onFrame = (frame, bytes) => {
      if (settled) return;
      switch (frame.t) {
        case "log": {
          spend(bytes);
          if (outputBudget < 0) return;
          if (logBudget <= 0) {
            droppedLogs++;
            return;
          }
          // The same rule as the harness's: cut to what is left, then drop whole lines.
          let text = frame.text;
          const size = utf8ByteLength(text);
          if (size > logBudget) {
            text = dropPartialToken(utf8Prefix(text, logBudget)) + "…";
            logBudget = 0;
          } else logBudget -= size;
          let values: unknown[] | undefined;
          if (frame.values !== undefined && frame.values.length <= logValuesBudget) {
            logValuesBudget -= frame.values.length;
            values = readLogValues(frame.values);
          }
          const entry: LogEntry = values === undefined
            ? { level: frame.level, text }
            : { level: frame.level, text, values };
          logs.push(entry);
          options.onLog?.(entry);
          return;
        }
        case "rpc":
          // Tool arguments may be large, but the gateway parses every byte of them: a
          // separate, larger budget keeps a flood of calls from eating its CPU and memory.
          rpcBudget -= bytes;
          if (rpcBudget < 0 || ++rpcFrames > MAX_RPC_FRAMES) {
            overLimit(outputLimitError(limits.maxOutputBytes, RPC_FLOOD_MESSAGE));
            return;
          }
          if (bytes > MAX_RPC_CALL_BYTES) {
            this.#refuseRpc(frame.id, `a tool call is limited to ${MAX_RPC_CALL_BYTES} bytes`);
          } else if (utf8ByteLength(frame.method) > MAX_METHOD_BYTES) {
            this.#refuseRpc(frame.id, `a method name is limited to ${MAX_METHOD_BYTES} bytes`);
          } else this.#serveRpc(frame, options.onRpc);
          return;
        case "result": {
          spend(bytes);
          if (outputBudget < 0) return;
          const read = readResult(frame.json, limits.maxOutputBytes);
          accept(
            read.ok ? { json: read.json, value: read.value } : { error: read.error },
            frame.dropped,
          );
          return;
        }
        case "error":
          spend(bytes);
          if (outputBudget < 0) return;
          accept({ error: sanitizeError(frame.error) }, frame.dropped);
          return;
        case "over_limit":
          // The harness's encoder stopped early. The code could send this itself, but it
          // only says that its own value is too large, which it can always make true; the
          // gateway words the error.
          accept({
            error: frame.limit === "depth"
              ? depthLimitError(MAX_JSON_DEPTH)
              : outputLimitError(limits.maxOutputBytes),
          }, frame.dropped);
          return;
      }
    };

    this.#watch.deadline(options.limits.timeoutMs);
    const onAbort = () => this.kill("cancelled");
    options.signal?.addEventListener("abort", onAbort, { once: true });
    if (options.signal?.aborted) this.kill("cancelled");

    const exitedFirst = this.#exited.then(async (status) => {
      // Once an outcome is accepted the exit changes nothing (the process is killed after
      // every answer): judging it would read the memory guard and wait for nothing.
      if (settled) return;
      // Give frames already in the pipe a moment to be read before judging the exit.
      await new Promise((r) => setTimeout(r, 5));
      accept({ error: await this.#exitError(status, options.limits) });
    });
    exitedFirst.catch(() => {});

    try {
      this.#keyed = true;
      await this.#send({
        t: "run",
        // Frames without this key are the code's, not the harness's (see harness.js `send`).
        key: this.#frameKey,
        code: options.code,
        prelude: options.prelude ?? "",
        maxOutputBytes: options.limits.maxOutputBytes,
        maxLogBytes: options.limits.maxLogBytes,
      });
    } catch {
      // The process died before taking the code; its exit status tells why.
    }
    const outcome = await done;
    this.#watch.finish();
    options.signal?.removeEventListener("abort", onAbort);
    if (this.#killedFor && outcome.error === undefined) {
      // The result arrived but a limit had already fired: the limit wins.
      return { logs, error: await this.#exitError(undefined, options.limits) };
    }
    this.retire();
    return outcome;
  }

  /** What every RPC handler of this process gets: the deadline's pause. */
  readonly #rpcContext: RpcContext = { pauseDeadline: () => this.#watch.pause() };

  /** Kills the whole process group. `reason` is remembered for the outcome. */
  kill(reason?: SandboxError["kind"]): void {
    this.#killRequested = true;
    this.#watch.kill(reason);
  }

  /**
   * Ends the process once its answer is out: it is killed on the event loop's next turn or,
   * should this thread be stalled, by the supervisor thread {@link RETIRE_BACKSTOP_MS} ms
   * from now. Killed at once, its death (the kernel tearing it down, the gateway reaping it
   * and starting its replacement) ran on the same two cores as the response being written:
   * about 1.4 ms of a 7 ms round trip (`bench/load.ts`). Meanwhile nothing it does reaches
   * anyone: its frames are no longer read and its tool calls are not served.
   */
  retire(): void {
    if (this.#retired) return;
    this.#retired = true;
    this.#killRequested = true;
    this.#watch.killAt(Date.now() + RETIRE_BACKSTOP_MS);
    setTimeout(() => this.#watch.kill(), 0);
  }

  #retired = false;

  /** Whether the gateway ended the process (then an early exit is not the launcher's fault). */
  #killRequested = false;

  async #serveRpc(frame: { id: number; method: string; params: unknown }, onRpc?: RpcHandler) {
    let reply: Record<string, unknown>;
    try {
      if (!onRpc) throw new Error("no tools are available to this execution");
      const value = await onRpc(String(frame.method), frame.params, this.#rpcContext);
      reply = { t: "reply", id: frame.id, ok: true, value };
    } catch (error) {
      const kind = (error as { kind?: string }).kind ?? "tool";
      const message = error instanceof Error ? error.message : String(error);
      reply = { t: "reply", id: frame.id, ok: false, error: { kind, message } };
    }
    let bytes = new TextEncoder().encode(JSON.stringify(reply) + "\n");
    if (this.#replyBytes + bytes.length > MAX_REPLY_BYTES) {
      const message =
        `this execution's tool results passed their budget of ${MAX_REPLY_BYTES} bytes`;
      bytes = new TextEncoder().encode(
        JSON.stringify({ t: "reply", id: frame.id, ok: false, error: { kind: "tool", message } }) +
          "\n",
      );
    }
    this.#replyBytes += bytes.length;
    if (this.#pendingReplyBytes + bytes.length > MAX_PENDING_REPLY_BYTES) {
      this.#outputLimit ??= {
        kind: "output_limit",
        message: `the code left more than ${MAX_PENDING_REPLY_BYTES} bytes of tool results unread`,
      };
      this.kill("output_limit");
      return;
    }
    this.#pendingReplyBytes += bytes.length;
    try {
      await this.#stdin.write(bytes);
    } catch {
      /* the process is gone */
    } finally {
      this.#pendingReplyBytes -= bytes.length;
    }
  }

  /** Answers a tool call the gateway will not serve, without reading its arguments. */
  async #refuseRpc(id: number, message: string) {
    try {
      await this.#send({ t: "reply", id, ok: false, error: { kind: "output_limit", message } });
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
    if (limit) {
      if (this.#watch.diskExceeded) {
        return {
          kind: "output_limit",
          message: `the execution wrote more than ${DEFAULT_DISK_LIMIT_BYTES} bytes to disk ` +
            "(imported modules, localStorage)",
        };
      }
      return this.#killedFor === "output_limit" && this.#outputLimit ? this.#outputLimit : limit;
    }
    return exitError(status ?? await this.#exited, await this.#guard.exceeded(), limits);
  }

  async #readStdout() {
    const reader = this.#reader;
    try {
      let handled = 0;
      for await (const chunk of this.#child.stdout) {
        const lines = reader.push(chunk);
        if (reader.oversize) {
          this.#onOversize();
          break;
        }
        for (const line of lines) {
          this.#handleLine(line);
          // A chunk can hold thousands of small frames (a flood of tool calls): handling
          // them all in one turn would hold the event loop every tenant shares.
          if (++handled % FRAMES_PER_TURN === 0) await new Promise((r) => setTimeout(r, 0));
        }
      }
    } catch { /* the pipe broke: the process is gone */ }
  }

  /**
   * One stdout line: a checked frame, garbage, or too deep or too many values to parse (see
   * `frames.ts`).
   */
  #handleLine(line: Line) {
    const read = readLine(line.text, this.#keyed ? this.#frameKey : undefined);
    if (read.kind === "frame") this.#onFrame(read.frame, line.bytes);
    else if (read.kind === "too_deep") this.#onTooDeep();
    else if (read.kind === "too_many_values") this.#onTooManyValues();
    else this.#onGarbage(line.bytes);
  }

  /**
   * Reads stderr to the end and discards it: only the code writes there (the harness
   * never does), so its text is not evidence of anything, not even of running out of
   * memory (see `exitError`). Reading it keeps the pipe from filling and blocking; past
   * {@link MAX_STDERR_BYTES} the execution ends.
   */
  async #drainStderr() {
    let bytes = 0;
    try {
      for await (const chunk of this.#child.stderr) {
        bytes += chunk.length;
        if (bytes > MAX_STDERR_BYTES) this.#onStderrFlood();
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
      await Promise.all([this.#guard.dispose(), this.#cpuLimit.dispose()]);
      for (const path of this.#storage) {
        await Deno.remove(path, { recursive: true }).catch(() => {});
      }
      await this.#releaseRuntime();
    })();
    return this.#cleaned;
  }
}

globalThis.addEventListener("unload", () => {
  // The gateway's sandboxes die with it (parent-death signal); what an escaped one started in a
  // session of its own does not: every id still held is reaped on the way out.
  for (const uid of SandboxUsers.heldEverywhere()) reapUserSync(uid);
});
