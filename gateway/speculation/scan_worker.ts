/**
 * The scan's Worker: runs the syntax scan ({@linkcode scanCandidates}, the TypeScript parser)
 * off the gateway's event loop, which every tenant shares. One scan at a time, in the order
 * asked; the main thread ({@linkcode Scanner}) terminates the worker when a scan overruns its
 * deadline.
 *
 * Messages in: `{ id: number, code: string }`; out: `{ ready: true }` once loaded, then
 * `{ id, candidates }` for each scan.
 *
 * @module
 */

/// <reference lib="deno.worker" />

import { scanCandidates } from "./scan.ts";

self.onmessage = (event: MessageEvent<{ id: number; code: string }>) => {
  const { id, code } = event.data;
  let candidates: unknown[] = [];
  try {
    candidates = scanCandidates(code);
  } catch {
    // No prefetch for this code; the scan is an optimisation.
  }
  self.postMessage({ id, candidates });
};
self.postMessage({ ready: true });
