/**
 * `createEmbedder`: loads the configured encoder, or with `"auto"` the best one that works
 * here (transformers.js, then the offline USE encoder, then lexical only).
 *
 * @module
 */
import { loadTransformersEmbedder } from "./embedder_transformers.ts";
import { loadUseEmbedder } from "./embedder_use.ts";
import { type Embedder, type EmbedderOptions, SelectionError } from "./types.ts";

/** The BM25-only "encoder": it has no vectors; `embed` rejects. */
export function lexicalEmbedder(reason: string): Embedder {
  return {
    status: { active: "lexical", model: null, reason },
    cacheKey: null,
    embed(): Promise<Float32Array[]> {
      return Promise.reject(new SelectionError("embedder_unavailable", `lexical only: ${reason}`));
    },
  };
}

/**
 * Loads an encoder. An explicit `"transformers"` or `"use"` rejects with
 * `SelectionError("embedder_unavailable")` if it cannot load; `"auto"` never rejects: it falls
 * back and says why in `status.reason`.
 */
export async function createEmbedder(options: EmbedderOptions): Promise<Embedder> {
  switch (options.embedder) {
    case "transformers":
      return await loadTransformersEmbedder(options);
    case "use":
      return await loadUseEmbedder();
    case "lexical":
      return lexicalEmbedder('configured: embedder "lexical"');
    case "auto":
      break;
    default:
      throw new SelectionError(
        "invalid_argument",
        `embedder must be "auto", "transformers", "use" or "lexical", not ${
          JSON.stringify(options.embedder)
        }`,
      );
  }
  const failures: string[] = [];
  try {
    return await loadTransformersEmbedder(options);
  } catch (e) {
    failures.push((e as Error).message);
  }
  try {
    const use = await loadUseEmbedder();
    return withReason(
      use,
      `transformers.js unavailable (${failures[0]}); using the offline encoder`,
    );
  } catch (e) {
    failures.push((e as Error).message);
  }
  return lexicalEmbedder(`no encoder loaded: ${failures.join("; ")}`);
}

function withReason(embedder: Embedder, reason: string): Embedder {
  return { ...embedder, status: { ...embedder.status, reason } };
}
