/**
 * The sandbox's public types: what a caller sends, what comes back.
 *
 * @module
 */

/** Every kind of execution failure, in the order the docs list them. */
export const SANDBOX_ERROR_KINDS = [
  "timeout",
  "memory",
  "runtime",
  "compile",
  "permission",
  "tool",
  "output_limit",
  "cancelled",
] as const;

/** Why an execution failed; a client can act on each kind differently. */
export type SandboxErrorKind = typeof SANDBOX_ERROR_KINDS[number];

/** An execution's failure, as returned to the caller. */
export interface SandboxError {
  /** What went wrong, coarsely. */
  kind: SandboxErrorKind;
  /**
   * A human-readable message; never contains host paths. At most 8 KiB of UTF-8 when it
   * came from the sandbox process (cut on a character boundary, marked "… [truncated]").
   */
  message: string;
  /** The line in the caller's code where the error was thrown, when known. */
  line?: number;
  /** Stack frames inside the caller's code only (`<code>:line:col`), when known; ≤ 16 KiB UTF-8. */
  stack?: string;
}

/** A captured `console.*` line. */
export interface LogEntry {
  /** `log`, `info`, `warn`, `error` or `debug` (trace maps to debug). */
  level: "log" | "info" | "warn" | "error" | "debug";
  /** The formatted text of the call's arguments. */
  text: string;
  /**
   * The call's object arguments as JSON values (at most 16 KiB of JSON per line, 64 KiB per
   * execution), when the harness could copy them: only for redaction, so that the line hides
   * what the same object returned would (pii `redactLogLine`). Never shown or stored.
   */
  values?: unknown[];
}

/** Limits of one execution. */
export interface SandboxLimits {
  /** Wall-clock limit; the whole process group is killed when it passes. */
  timeoutMs: number;
  /**
   * V8 heap limit in MiB. Resident memory (heap, ArrayBuffers, WebAssembly) is capped at
   * this plus {@link RUNTIME_OVERHEAD_MB} for the Deno runtime itself.
   */
  memoryMb: number;
  /**
   * Largest JSON text of a return value, in UTF-8 bytes, as the gateway measures it
   * before parsing; a larger value is `output_limit`.
   */
  maxOutputBytes: number;
  /**
   * Largest total of captured log text, in UTF-8 bytes, counted by the gateway (log lines
   * the code writes to stdout itself included): the line that reaches it is cut and ends
   * in "…", later lines are dropped and counted in a last `[airlock] N more log lines
   * were dropped` line.
   */
  maxLogBytes: number;
}

/** Resident memory granted on top of `memoryMb` for the Deno runtime itself. */
export const RUNTIME_OVERHEAD_MB = 64;

/** Permissions granted to sandbox processes; empty by default. */
export interface SandboxGrants {
  /** `host:port` entries passed to `--allow-net`. */
  allowNet: string[];
  /** Absolute paths passed to `--allow-read`. */
  allowRead: string[];
}

/** What the sandbox offers the handler of one RPC. */
export interface RpcContext {
  /**
   * Stops the execution's wall-clock limit until the returned function is called (a tool
   * call that waits for a person's approval). Pauses of concurrent calls nest; the clock
   * runs again when the last one resumes, with the time that was left. Calling the returned
   * function more than once is harmless.
   */
  pauseDeadline(): () => void;
}

/**
 * Serves the code's calls to `__airlock.rpc(method, params)` (tool calls, tool search).
 * What it returns is sent back to the code; what it throws becomes a `ToolError` there
 * (its `kind`, when a string, becomes the `ToolError`'s `kind`).
 */
export type RpcHandler = (
  method: string,
  params: unknown,
  context: RpcContext,
) => Promise<unknown>;

/** One execution request. */
export interface RunRequest {
  /** The caller's TypeScript. */
  code: string;
  /** A classic script (no imports) evaluated in global scope before the code: the tool wrappers. */
  prelude?: string;
  /** Overrides of the sandbox's default limits. */
  limits?: Partial<SandboxLimits>;
  /** Serves RPCs from the code; without it every RPC fails. */
  onRpc?: RpcHandler;
  /** Aborting it kills the execution (`cancelled`). */
  signal?: AbortSignal;
  /** Called with each log line as it arrives (for progress reporting). */
  onLog?: (entry: LogEntry) => void;
  /** Grants for this execution instead of the sandbox's (a tenant's egress list). */
  grants?: SandboxGrants;
  /** Who is asking; waiting executions are served round-robin across these keys. */
  queueKey?: string;
  /**
   * Called once the execution holds a slot (after any wait in the queue), just before its
   * process is taken from the pool or started: work meant to overlap the sandbox's start
   * begins here. An exception it throws is ignored.
   */
  onAdmitted?: () => void;
}

/** What an execution produced. */
export interface RunResult {
  /** Whether the code ran to completion and its value was encoded. */
  ok: boolean;
  /** The return value, parsed from JSON (absent when the code returned nothing). */
  result?: unknown;
  /** Captured console output, capped. */
  logs: LogEntry[];
  /** Present exactly when `ok` is false. */
  error?: SandboxError;
  /** Time from sending the code to the outcome, in ms. */
  sandboxMs: number;
  /** Whether a pre-started process from the warm pool ran it. */
  warm: boolean;
}
