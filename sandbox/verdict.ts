/**
 * The shared verdict slot of one supervised process: why it was killed, decided once,
 * by whichever thread gets there first.
 *
 * Layout of the 16-byte SharedArrayBuffer: an Int32 verdict at byte 0 (written only with
 * `Atomics.compareExchange` from {@link VERDICT_NONE}, so the first writer wins), and a
 * Float64 at byte 8 holding when the supervisor worker killed the process (ms since the
 * epoch, 0 when it did not).
 *
 * @module
 */

import type { SandboxErrorKind } from "./types.ts";

/** Size of a verdict slot in bytes. */
export const VERDICT_BYTES = 16;
/** Index of the kill time in a `Float64Array` over the slot. */
export const killedAtIndex = 1;

/** Nothing decided yet. */
export const VERDICT_NONE = 0;
/** The main thread accepted the execution's outcome; later limits do not count. */
export const VERDICT_FINISHED = 1;
/** The wall-clock limit passed. */
export const VERDICT_TIMEOUT = 2;
/** Resident memory passed the limit. */
export const VERDICT_MEMORY = 3;
/** Output or tool-call frames passed their budget. */
export const VERDICT_OUTPUT_LIMIT = 4;
/** The caller cancelled, or the sandbox was closed. */
export const VERDICT_CANCELLED = 5;
/** The process's private cache directory passed its disk cap (an `output_limit`). */
export const VERDICT_DISK = 6;

const KINDS: Record<number, SandboxErrorKind> = {
  [VERDICT_TIMEOUT]: "timeout",
  [VERDICT_MEMORY]: "memory",
  [VERDICT_OUTPUT_LIMIT]: "output_limit",
  [VERDICT_CANCELLED]: "cancelled",
  [VERDICT_DISK]: "output_limit",
};

/** The error kind a verdict stands for; `undefined` for none or finished. */
export function verdictKind(verdict: number): SandboxErrorKind | undefined {
  return KINDS[verdict];
}

/** The verdict for a kill reason; `undefined` for a reason that is not a limit. */
export function verdictOf(kind: SandboxErrorKind): number | undefined {
  for (const [code, k] of Object.entries(KINDS)) {
    if (k === kind && Number(code) !== VERDICT_DISK) return Number(code);
  }
  return undefined;
}
