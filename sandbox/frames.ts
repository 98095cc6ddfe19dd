/**
 * The frames a sandbox process writes on stdout, read as what they are: text from a
 * process the code controls. The code can write any line it likes (`Deno.stdout`), so a
 * line becomes a frame only after its depth is measured, it parses, and its fields have
 * the types and sizes a real frame has. Nothing here throws on bad input.
 *
 * @module
 */

import { jsonNestingDepth, jsonShape, utf8ByteLength } from "./json_text.ts";
import { depthLimitError, outputLimitError } from "./outcome.ts";
import type { LogEntry, SandboxError } from "./types.ts";

/** Deepest nesting accepted in a return value or in tool-call arguments, in levels. */
export const MAX_JSON_DEPTH = 200;
/** Longest RPC method name, in UTF-8 bytes. */
export const MAX_METHOD_BYTES = 256;
/** Largest tool-call frame (arguments included), in UTF-8 bytes. */
export const MAX_RPC_CALL_BYTES = 4 * 1024 * 1024;
/**
 * Most JSON values in one tool call's arguments (containers and members, keys not counted;
 * see `jsonShape`). Parsing, checking and forwarding a call cost the shared event loop per
 * value: two million small values (4 MiB) held it ~80 ms, 100,000 hold it a few ms. One
 * string of any length up to {@link MAX_RPC_CALL_BYTES} is one value. The count is taken
 * over the whole frame, with room for what surrounds the arguments there
 * ({@link FRAME_ENVELOPE_VALUES}): arguments of up to this many values always pass, and a
 * call whose wrapper is smaller than the largest one may pass with a few more.
 */
export const MAX_RPC_CALL_VALUES = 100_000;
/**
 * Values a harness frame holds besides a tool call's arguments: the frame object and its
 * `t`, `id`, `method` and `k` (harness.js `rpc`, `send`), and the largest `params` wrapper
 * the prelude sends (`tools/callByName`: the object, `server`, `namespace`, `name`).
 */
export const FRAME_ENVELOPE_VALUES = 9;

/** A frame the harness (or code pretending to be it) wrote, with checked field types. */
export type Frame =
  | { t: "ready" }
  /** `values`: JSON text of the call's object arguments (harness.js `logValues`), if sent. */
  | { t: "log"; level: LogEntry["level"]; text: string; values?: string }
  | { t: "rpc"; id: number; method: string; params: unknown }
  | { t: "result"; json: unknown; dropped: number }
  | { t: "error"; error: unknown; dropped: number }
  /** The harness's encoder stopped: the value was too large (`bytes`) or too deep. */
  | { t: "over_limit"; limit: "bytes" | "depth"; dropped: number };

/** What one stdout line turned out to be. */
export type LineReading =
  | { kind: "frame"; frame: Frame }
  /** Not a frame: counted against the output budget and otherwise ignored. */
  | { kind: "garbage" }
  /** Nested deeper than any real frame can be; never parsed. */
  | { kind: "too_deep" }
  /** More values than any real frame holds (see {@link MAX_RPC_CALL_VALUES}); never parsed. */
  | { kind: "too_many_values" };

const LOG_LEVELS: ReadonlySet<string> = new Set(["log", "info", "warn", "error", "debug"]);

/**
 * Reads one stdout line. Depth and number of values are measured before `JSON.parse` sees
 * the text: a frame object adds one level to its tool-call arguments, so more than
 * {@link MAX_JSON_DEPTH} + 1 levels is refused unparsed, and so is a line with more values
 * than a tool call may hold ({@link MAX_RPC_CALL_VALUES}, plus the frame's own; results
 * and logs travel as one string each, so only tool calls come near it).
 */
export function readLine(line: string, key?: string): LineReading {
  const shape = jsonShape(line, MAX_JSON_DEPTH + 1, MAX_RPC_CALL_VALUES + FRAME_ENVELOPE_VALUES);
  if (shape.depth > MAX_JSON_DEPTH + 1) return { kind: "too_deep" };
  if (shape.values > MAX_RPC_CALL_VALUES + FRAME_ENVELOPE_VALUES) {
    return { kind: "too_many_values" };
  }
  let raw: unknown;
  try {
    raw = JSON.parse(line);
  } catch {
    return { kind: "garbage" };
  }
  // Once the code runs, only frames with the execution's key are the harness's; anything
  // else on stdout was written by the code (see harness.js `send`).
  if (key !== undefined && (raw as { k?: unknown } | null)?.k !== key) return { kind: "garbage" };
  const frame = toFrame(raw);
  return frame ? { kind: "frame", frame } : { kind: "garbage" };
}

function toFrame(raw: unknown): Frame | undefined {
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) return undefined;
  const f = raw as Record<string, unknown>;
  const dropped = count(f.dropped);
  switch (f.t) {
    case "ready":
      return { t: "ready" };
    case "log":
      if (typeof f.text !== "string") return undefined;
      return {
        t: "log",
        level: LOG_LEVELS.has(f.level as string) ? f.level as LogEntry["level"] : "log",
        text: f.text,
        ...(typeof f.values === "string" ? { values: f.values } : {}),
      };
    case "rpc":
      if (!Number.isSafeInteger(f.id) || (f.id as number) < 0) return undefined;
      if (typeof f.method !== "string") return undefined;
      return { t: "rpc", id: f.id as number, method: f.method, params: f.params };
    case "result":
      return { t: "result", json: f.json, dropped };
    case "error":
      return { t: "error", error: f.error, dropped };
    case "over_limit":
      if (f.limit !== "bytes" && f.limit !== "depth") return undefined;
      return { t: "over_limit", limit: f.limit, dropped };
  }
  return undefined;
}

/** Largest JSON text of a log line's values, in UTF-8 bytes (harness.js `LOG_VALUES_BYTES`). */
export const MAX_LOG_VALUES_BYTES = 16384;
/**
 * Most JSON text of log lines' values read per execution, in UTF-16 units (harness.js
 * `logValuesBudget` counts UTF-8 bytes, never fewer): later lines are judged as text only.
 */
export const MAX_LOG_VALUES_TOTAL_BYTES = 65536;

/**
 * The values of a log frame (`values`, JSON text of the console call's object arguments) as
 * an array, or `undefined` when there are none or they are not an array of at most
 * {@link MAX_LOG_VALUES_BYTES} bytes and {@link MAX_JSON_DEPTH} levels. Never throws.
 */
export function readLogValues(values: string | undefined): unknown[] | undefined {
  if (values === undefined) return undefined;
  const read = readResult(values, MAX_LOG_VALUES_BYTES);
  return read.ok && Array.isArray(read.value) ? read.value : undefined;
}

/** A non-negative count from an untrusted field; anything else is 0. */
function count(value: unknown): number {
  return Number.isSafeInteger(value) && (value as number) > 0 ? value as number : 0;
}

/** What a result frame's `json` field holds, judged against the caller's limits. */
export type ResultReading =
  | { ok: true; value?: unknown; json?: string }
  | { ok: false; error: SandboxError };

/**
 * Checks and parses the `json` text of a result frame: at most `maxBytes` UTF-8 bytes
 * and {@link MAX_JSON_DEPTH} levels (both measured before parsing), and valid JSON.
 * `undefined` means the code returned nothing. Over a limit is `output_limit`; anything
 * that is not JSON text is `runtime` ("malformed result"). Never throws.
 */
export function readResult(json: unknown, maxBytes: number): ResultReading {
  if (json === undefined) return { ok: true };
  if (typeof json !== "string") return { ok: false, error: malformedResult() };
  // UTF-16 length bounds UTF-8 length from below: a string longer than the cap in units
  // is over it in bytes without counting.
  if (json.length > maxBytes || utf8ByteLength(json) > maxBytes) {
    return { ok: false, error: outputLimitError(maxBytes) };
  }
  if (jsonNestingDepth(json, MAX_JSON_DEPTH) > MAX_JSON_DEPTH) {
    return { ok: false, error: depthLimitError(MAX_JSON_DEPTH) };
  }
  try {
    return { ok: true, value: JSON.parse(json), json };
  } catch {
    return { ok: false, error: malformedResult() };
  }
}

/** The error for a result frame whose value is not JSON text. */
export function malformedResult(): SandboxError {
  return { kind: "runtime", message: "the sandbox returned a malformed result" };
}
