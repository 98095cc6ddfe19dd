/**
 * Tool selection: which upstream tools get typed wrappers for an execution.
 *
 * - {@link createEmbedder} loads an encoder (transformers.js, the offline Universal Sentence
 *   Encoder, or lexical only; `"auto"` picks the best that works and says why).
 * - {@link ToolIndex} keeps the catalogue searchable: BM25 plus embedding similarity, vectors
 *   computed in the background and cached on disk.
 * - {@link selectTools} combines explicit ids, tools named in the code and ranked tools.
 *
 * @example
 * ```ts
 * const index = new ToolIndex({ embedder: createEmbedder({ embedder: "auto" }), cacheDir: "./data/vectors" });
 * index.setCatalogue(catalogue);
 * const tools = await selectTools(index, { code, intent, maxTools: 20, minScore: 0.3 });
 * ```
 *
 * @module
 */
export { createEmbedder, lexicalEmbedder } from "./create_embedder.ts";
export { DEFAULT_TRANSFORMERS_MODEL, loadTransformersEmbedder } from "./embedder_transformers.ts";
export type { TransformersOptions } from "./embedder_transformers.ts";
export { loadUseEmbedder, USE_MODEL } from "./embedder_use.ts";
export type { UseOptions } from "./embedder_use.ts";
export { toolsNamedInCode } from "./code_names.ts";
export { selectTools } from "./select.ts";
export type { SelectRequest } from "./select.ts";
export {
  DEFAULT_EMBEDDING_WEIGHT,
  DEFAULT_FIELDS,
  DEFAULT_FUSION,
  DEFAULT_RRF_K,
  ToolIndex,
} from "./tool_index.ts";
export type {
  Fusion,
  ScoredTool,
  SearchOptions,
  ToolIndexOptions,
  ToolIndexStatus,
} from "./tool_index.ts";
export type { FieldSpec } from "./bm25f.ts";
export { codeQueryText, normalizeName, splitIdentifier } from "./text.ts";
export { SelectionError } from "./types.ts";
export type { Embedder, EmbedderKind, EmbedderOptions, EmbedderStatus } from "./types.ts";
