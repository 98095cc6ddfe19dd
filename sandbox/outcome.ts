/**
 * What an execution's end means: the error for a limit that fired, for a process that
 * died, or for an error frame the (untrusted) process sent.
 *
 * @module
 */

import {
  RUNTIME_OVERHEAD_MB,
  SANDBOX_ERROR_KINDS,
  type SandboxError,
  type SandboxLimits,
} from "./types.ts";

/** The result was too large or the output flooded. */
export function outputLimitError(maxOutputBytes: number): SandboxError {
  return {
    kind: "output_limit",
    message: `the execution's output passed the limit (return value ≤ ${maxOutputBytes} bytes)`,
  };
}

/** Heap or resident memory went over the limit. */
export function memoryError(memoryMb: number): SandboxError {
  return {
    kind: "memory",
    message: `execution exceeded its memory limit (${memoryMb} MiB heap, ${
      memoryMb + RUNTIME_OVERHEAD_MB
    } MiB resident)`,
  };
}

/** The error for a limit the gateway enforced by killing the process. */
export function limitError(
  reason: SandboxError["kind"],
  limits: SandboxLimits,
): SandboxError | undefined {
  switch (reason) {
    case "timeout":
      return { kind: "timeout", message: `execution exceeded the ${limits.timeoutMs} ms limit` };
    case "output_limit":
      return outputLimitError(limits.maxOutputBytes);
    case "cancelled":
      return { kind: "cancelled", message: "execution was cancelled" };
    case "memory":
      return memoryError(limits.memoryMb);
  }
  return undefined;
}

/**
 * The error for a process that exited without a result. A V8 heap abort (exit 133 /
 * SIGTRAP, "out of memory" on stderr) or a memory guard that fired is `memory`; any other
 * end is the code's doing (`Deno.exit`, a crash) and `runtime`.
 */
export function exitError(
  status: Deno.CommandStatus,
  stderrTail: string,
  memoryExceeded: boolean,
  limits: SandboxLimits,
): SandboxError {
  const heapAbort = status.code === 133 || status.signal === "SIGTRAP" ||
    /out of memory|Reached heap limit|allocation failed/i.test(stderrTail);
  if (heapAbort || memoryExceeded) return memoryError(limits.memoryMb);
  if (status.signal) {
    return { kind: "runtime", message: `the sandbox process was stopped by ${status.signal}` };
  }
  return {
    kind: "runtime",
    message: `the code ended the process (exit code ${status.code}) before returning a value`,
  };
}

const ERROR_KINDS: ReadonlySet<string> = new Set(SANDBOX_ERROR_KINDS);

/** The error frame comes from a process the code controls: accept only its shape. */
export function sanitizeError(raw: unknown): SandboxError {
  const error = (raw ?? {}) as Record<string, unknown>;
  const kind = ERROR_KINDS.has(String(error.kind)) ? error.kind as SandboxError["kind"] : "runtime";
  const out: SandboxError = { kind, message: String(error.message ?? "unknown error") };
  if (Number.isInteger(error.line) && (error.line as number) > 0) out.line = error.line as number;
  if (typeof error.stack === "string" && error.stack.length > 0) out.stack = error.stack;
  return out;
}
