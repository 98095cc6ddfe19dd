/**
 * Helpers shared by the selection tests: numeric closeness, error kinds, a counting fake
 * encoder and a small catalogue builder.
 *
 * @module
 */
import type { ToolInfo } from "../../../upstream/types.ts";
import { type Embedder, SelectionError } from "../../../wrappers/selection/mod.ts";

import { assert } from "../../assert.ts";

export { assert, assertEquals, assertRejects, assertThrows } from "../../assert.ts";

/** Fails unless `|actual − expected| ≤ tolerance`. */
export function assertNear(actual: number, expected: number, tolerance: number): void {
  assert(
    Math.abs(actual - expected) <= tolerance,
    `expected ${expected} ± ${tolerance}, got ${actual}`,
  );
}

/** Fails unless `error` is a `SelectionError` of this `kind`. */
export function assertSelectionError(error: unknown, kind: string): void {
  assert(error instanceof SelectionError, `expected a SelectionError, got ${error}`);
  assert(error.kind === kind, `expected kind ${kind}, got ${error.kind}`);
}

/** A tool for tests. */
export function tool(
  server: string,
  name: string,
  description: string,
  params: Record<string, string> = {},
): ToolInfo {
  const properties: Record<string, unknown> = {};
  for (const [key, desc] of Object.entries(params)) {
    properties[key] = { type: "string", description: desc };
  }
  return {
    id: `${server}.${name}`,
    server,
    name,
    description,
    inputSchema: { type: "object", properties },
  };
}

/**
 * A deterministic fake encoder that counts its calls: a bag-of-words vector hashed into 64
 * dimensions, so texts sharing words are similar. `gate`, when set, holds every call until
 * it resolves (to observe the index before vectors are ready).
 */
export class CountingEmbedder implements Embedder {
  /** Poses as the USE encoder. */
  readonly status = { active: "use" as const, model: "fake", reason: "test" };
  /** The key its vectors are cached under. */
  readonly cacheKey: string;
  /** Calls to `embed`. */
  calls = 0;
  /** Every text embedded, in order. */
  texts: string[] = [];
  /** When set, every call waits for it. */
  gate: Promise<void> | null = null;
  /** When set, every call rejects with it. */
  failWith: Error | null = null;

  /** A fake encoder whose vectors are cached under `cacheKey`. */
  constructor(cacheKey = "fake:v1") {
    this.cacheKey = cacheKey;
  }

  /** Encodes texts after the gate opens; counts the call and the texts. */
  async embed(texts: string[]): Promise<Float32Array[]> {
    this.calls++;
    this.texts.push(...texts);
    if (this.gate) await this.gate;
    if (this.failWith) throw this.failWith;
    return texts.map((text) => {
      const v = new Float32Array(64);
      for (const word of text.toLowerCase().split(/[^a-z0-9]+/).filter(Boolean)) {
        let h = 2166136261;
        for (const c of word) h = Math.imul(h ^ c.charCodeAt(0), 16777619);
        v[(h >>> 0) % 64] += 1;
      }
      const norm = Math.hypot(...v) || 1;
      return v.map((x) => x / norm);
    });
  }
}
