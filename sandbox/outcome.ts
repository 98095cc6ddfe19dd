/**
 * What an execution's end means: the error for a limit that fired, for a process that
 * died, or for an error frame the (untrusted) process sent.
 *
 * @module
 */

import { capUtf8 } from "./json_text.ts";
import {
  RUNTIME_OVERHEAD_MB,
  type SandboxError,
  type SandboxErrorKind,
  type SandboxLimits,
} from "./types.ts";

/**
 * The result was too large or the output flooded. `detail` (the gateway's own words,
 * never text from the process) says which limit, when known.
 */
export function outputLimitError(maxOutputBytes: number, detail?: string): SandboxError {
  return {
    kind: "output_limit",
    message: detail ??
      `the execution's output passed the limit (return value ≤ ${maxOutputBytes} bytes)`,
  };
}

/** The return value (or a tool call's arguments) was nested deeper than `maxDepth` levels. */
export function depthLimitError(maxDepth: number): SandboxError {
  return { kind: "output_limit", message: `the value is nested deeper than ${maxDepth} levels` };
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
 * The error for a process that exited without a result. Only what the code cannot fake
 * counts as `memory`: the memory guard's own record, or the signal V8's fatal heap abort
 * raises (Deno 2.9.6 dies of SIGTRAP, status 133, on "Reached heap limit"; a process
 * needs no permission to signal itself, so the harness refuses every API that sends
 * signals: `Deno.kill`, `process.kill`, `_kill`, `_debugProcess`). Text on stderr, which the code can write, and
 * an exit code of 133 from `Deno.exit(133)` (no signal) are not evidence. Any other end
 * is the code's doing (`Deno.exit`, a crash) and `runtime`.
 */
export function exitError(
  status: Deno.CommandStatus,
  memoryExceeded: boolean,
  limits: SandboxLimits,
): SandboxError {
  if (memoryExceeded || status.signal === "SIGTRAP") return memoryError(limits.memoryMb);
  if (status.signal) {
    return { kind: "runtime", message: `the sandbox process was stopped by ${status.signal}` };
  }
  return {
    kind: "runtime",
    message: `the code ended the process (exit code ${status.code}) before returning a value`,
  };
}

/** Longest error message accepted from the process, in UTF-8 bytes. */
export const MAX_ERROR_MESSAGE_BYTES = 8 * 1024;
/** Longest error stack accepted from the process, in UTF-8 bytes. */
export const MAX_ERROR_STACK_BYTES = 16 * 1024;

/**
 * Kinds an error frame may carry. `timeout`, `memory`, `cancelled` and `output_limit`
 * are verdicts only the gateway can reach (it measured or enforced them); a frame that
 * claims one is reported as `runtime`.
 */
const FRAME_KINDS: ReadonlySet<string> = new Set<SandboxErrorKind>([
  "runtime",
  "compile",
  "permission",
  "tool",
]);

/**
 * The error frame comes from a process the code controls: accept only its shape, a kind
 * the code can cause, and text capped in UTF-8 bytes (message ≤ {@link MAX_ERROR_MESSAGE_BYTES},
 * stack ≤ {@link MAX_ERROR_STACK_BYTES}, cut on a character boundary with a marker).
 */
export function sanitizeError(raw: unknown): SandboxError {
  const error = (raw !== null && typeof raw === "object" ? raw : {}) as Record<string, unknown>;
  const kind = FRAME_KINDS.has(error.kind as string) ? error.kind as SandboxErrorKind : "runtime";
  const message = typeof error.message === "string" ? error.message : "unknown error";
  const out: SandboxError = { kind, message: capUtf8(message, MAX_ERROR_MESSAGE_BYTES) };
  if (Number.isSafeInteger(error.line) && (error.line as number) > 0) {
    out.line = error.line as number;
  }
  if (typeof error.stack === "string" && error.stack.length > 0) {
    out.stack = capUtf8(error.stack, MAX_ERROR_STACK_BYTES);
  }
  return out;
}
